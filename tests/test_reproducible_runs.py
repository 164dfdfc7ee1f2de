"""Same seed, same machine, same thread count: the same run to the bit, even when two identical
runs start together on one fresh synthetic cache; and the thread-runtime settings behind it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.helpers import REPO_ROOT


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["model_state_dict"]


@pytest.mark.slow
def test_two_identical_runs_started_together_are_bitwise_equal(tmp_path: Path) -> None:
    data = tmp_path / "synthetic"  # fresh: both runs race to generate it
    command = [sys.executable, "main_thu.py", "--synthetic", "--data_dir", str(data),
               "--without_wandb", "--device", "cpu", "--epochs", "3", "--start_test_epoch", "2"]
    runs = [subprocess.Popen([*command, "--output_dir", str(tmp_path / f"run{k}")],
                             cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for k in range(2)]
    outputs = [run.communicate() for run in runs]
    for run, (_, err) in zip(runs, outputs):
        assert run.returncode == 0, err[-3000:]
    assert (data / "meta.json").is_file(), "--synthetic did not use --data_dir as its cache"
    assert sum(err.count("generating the synthetic") for _, err in outputs) == 1

    first, second = tmp_path / "run0", tmp_path / "run1"
    assert (first / "metrics.csv").read_bytes() == (second / "metrics.csv").read_bytes()
    a, b = _weights(first / "THUMOS_latest.pth"), _weights(second / "THUMOS_latest.pth")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    results = sorted(p.relative_to(first) for p in first.rglob("*_results.json"))
    assert results, "no test epoch wrote detections"
    for name in results:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                          text=True, env={**_clean_env(), **env})


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "MKL_"))}


def test_thread_runtime_is_configured_before_torch_and_stays_fixed() -> None:
    """configure_thread_runtime overrides a dynamic OpenMP / MKL setting from the environment,
    refuses to run after torch is imported, and fix_threads leaves MKL without dynamic
    adjustment (MKL_VERBOSE reports every call of a build with MKL)."""
    code = ("import os\n"
            "from utils.threads import configure_thread_runtime\n"
            "configure_thread_runtime()\n"
            "print(os.environ['OMP_DYNAMIC'], os.environ['MKL_DYNAMIC'])\n"
            "import torch\n"
            "from utils.seeding import fix_threads\n"
            "print('threads', fix_threads(2), torch.get_num_threads())\n"
            "print('mkl', torch.backends.mkl.is_available())\n"
            "torch.ones(64, 64) @ torch.ones(64, 64)\n"
            "try:\n"
            "    configure_thread_runtime()\n"
            "except RuntimeError as err:\n"
            "    print('refused:', err)\n")
    done = _python(code, OMP_DYNAMIC="TRUE", MKL_DYNAMIC="TRUE", MKL_VERBOSE="1")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "FALSE FALSE"
    assert "threads 2 2" in lines
    assert any(line.startswith("refused: configure_thread_runtime() must run before torch")
               for line in lines)
    calls = [line for line in lines if line.startswith("MKL_VERBOSE SGEMM")]
    assert bool(calls) == ("mkl True" in lines)
    assert all("Dyn:0" in line for line in calls), calls
