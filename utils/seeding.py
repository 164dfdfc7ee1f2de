"""Seeding and RNG state capture, so that a resumed run continues the same random streams."""
from __future__ import annotations

import os
import random
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python, numpy and torch (CPU and CUDA); optionally force deterministic algorithms.

    cuDNN is put in deterministic mode as the original FTCL does.
    """
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)


def fix_threads(num_threads: int | None = None) -> int:
    """Fix torch's intra-op CPU thread count to ``num_threads`` (None: keep torch's default, the
    number of physical cores it found) and return it.

    On CPU, results are bit-reproducible for a fixed thread count only: reductions split their
    sums by thread (measured: 1 and 2 threads give different weights after 10 steps). With more
    than one thread they also need deterministic algorithms (``seed_everything(...,
    deterministic=True)``): the backward of ``x[index]`` with repeated indices adds rows with
    atomics, in an order that varies from run to run.

    ``torch.set_num_threads`` also switches MKL's dynamic thread adjustment off, which torch leaves
    on otherwise (``MKL_VERBOSE=1`` shows ``Dyn:1`` before, ``Dyn:0`` after). The OpenMP part
    (``OMP_DYNAMIC``) must be set before torch is imported:
    ``utils.threads.configure_thread_runtime``.
    """
    if num_threads is not None and num_threads < 1:
        raise ValueError(f"number of threads must be >= 1, got {num_threads}")
    count = num_threads or torch.get_num_threads()
    torch.set_num_threads(count)
    return count


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """A CPU generator for the DataLoader's shuffle of one epoch: same order whether resumed or not."""
    gen = torch.Generator()
    gen.manual_seed(seed * 100_003 + epoch)
    return gen


def worker_init_fn(worker_id: int) -> None:
    """Seed numpy and Python in a DataLoader worker from the worker's torch seed."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def capture_rng_states() -> dict[str, Any]:
    """The global RNG states, in types that ``torch.load(weights_only=True)`` accepts."""
    version, mt_state, gauss = random.getstate()
    np_name, np_keys, np_pos, np_has_gauss, np_cached = np.random.get_state()
    states: dict[str, Any] = {
        "python": [version, list(mt_state), gauss],
        "numpy": [np_name, torch.from_numpy(np_keys.astype(np.int64)), int(np_pos),
                  int(np_has_gauss), float(np_cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng_states`."""
    version, mt_state, gauss = states["python"]
    random.setstate((version, tuple(mt_state), gauss))
    name, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
