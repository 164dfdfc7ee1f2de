"""STCL-Net's exemplar bank in a run: the training videos on the model's device and the draws of
each training step and each test video (spec ``co2-stcl-behaviour.md`` sec. 2.5, 3.4 step 3, Q2,
Q3).

The original draws a bank of ``per_class`` (M = 10) training videos per class, each resampled to
S rows, inside **every** forward: each training step and each test video, from numpy's global
legacy stream, the one its batch sampler also draws from. So its training banks follow each
step's batch on one stream, every evaluation (212 banks) shifts all later training batches, and
its test results change from run to run (its test script seeds nothing).

Here the draw is :func:`methods.stcl.model.draw_bank` (the original's calls, class by class) and
the training features live once on the device, so a bank is a host draw of (C, M, S) row indices
and one device gather (:class:`ExemplarBank`). Training banks always come from the training
stream (the class-pair sampler's ``RandomState(--seed)``), right after the step's batch, as the
original. Test-time banks, ``--bank_mode``:

- ``stream`` (default): a fresh bank for every test video, as the original, from a stream seeded
  with ``--bank_seed`` (default ``--seed``) at the start of every evaluation pass; reproducible,
  and an evaluation does not touch the training stream (the original's Q3 coupling is dropped).
  In ``--test`` it draws what the original's test loop draws after ``np.random.seed(seed)``;
- ``pass``: one bank per evaluation pass from that stream (its exemplars computed once per pass,
  the fast mode; not the original's semantics: every video sees the same bank);
- ``original``: the original's one stream: test banks come from the training stream itself, so
  evaluations shift the later training batches as in the original; ``--test`` seeds it with
  ``--seed`` before the first test video (the issue's comparison mode, draw for draw).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from methods.stcl.model import BankDraw, draw_bank

BANK_MODES = ("stream", "pass", "original")


class ExemplarBank:
    """The training videos of the bank on one device and the draws of a run (module docstring).

    features: the (T_i, D) arrays of the training videos, in training-list order; classwise[c]:
    their positions with class c (``labels_all.npy``), in order; num_segments S; per_class M;
    mode: one of :data:`BANK_MODES`; seed: the test-time stream's seed; train_rng: the training
    stream (the batch sampler's, so banks follow batches as in the original).
    """

    def __init__(self, features: Sequence[np.ndarray], classwise: Sequence[Sequence[int]],
                 num_segments: int, per_class: int, device: torch.device | str, mode: str,
                 seed: int, train_rng: np.random.RandomState) -> None:
        if mode not in BANK_MODES:
            raise ValueError(f"--bank_mode must be one of {', '.join(BANK_MODES)}, got {mode!r}")
        self.classwise = [list(map(int, members)) for members in classwise]
        self.lengths = [int(f.shape[0]) for f in features]
        self.num_segments, self.per_class = int(num_segments), int(per_class)
        self.mode, self.seed, self.train_rng = mode, int(seed), train_rng
        self.device = torch.device(device)
        self.offsets = np.concatenate(([0], np.cumsum(self.lengths)[:-1])).astype(np.int64)
        # every training row once on the device: a bank is then a gather, not a copy from host
        self.rows = torch.from_numpy(np.concatenate(
            [np.asarray(f, dtype=np.float32) for f in features])).to(self.device)
        self.eval_rng = np.random.RandomState(self.seed)
        self.pass_bank: Tensor | None = None

    def draw(self, rng: np.random.RandomState) -> BankDraw:
        """One bank's videos and rows, drawn from ``rng`` the original's way."""
        return draw_bank(self.classwise, self.lengths, self.num_segments, self.per_class, rng)

    def gather(self, draw: BankDraw) -> Tensor:
        """(C, M, S, D) float32 on the device: row ``rows[c, m]`` of video ``videos[c, m]``."""
        index = torch.from_numpy(self.offsets[draw.videos][..., None] + draw.rows)
        if self.device.type == "cuda":   # pinned: the copy is queued, the host does not wait
            index = index.pin_memory()
        index = index.to(self.device, non_blocking=True)
        return self.rows.index_select(0, index.reshape(-1)).reshape(*draw.rows.shape, -1)

    def for_training(self) -> Tensor:
        """The bank of one training step, from the training stream."""
        return self.gather(self.draw(self.train_rng))

    def start_pass(self) -> None:
        """An evaluation pass begins: ``stream`` and ``pass`` restart their stream at the seed
        (``pass`` draws its one bank now); ``original`` goes on with the training stream."""
        self.eval_rng = np.random.RandomState(self.seed)
        self.pass_bank = self.gather(self.draw(self.eval_rng)) if self.mode == "pass" else None

    def for_evaluation(self) -> Tensor:
        """The bank of one test video (``pass``: the pass's bank, the same tensor each time)."""
        if self.mode == "pass":
            if self.pass_bank is None:
                self.start_pass()
            return self.pass_bank
        return self.gather(self.draw(self.train_rng if self.mode == "original"
                                     else self.eval_rng))


def short_classes(classwise: Sequence[Sequence[int]], class_names: Sequence[str],
                  per_class: int) -> list[str]:
    """"name (n)" of every class with fewer than ``per_class`` training videos."""
    return [f"{class_names[c]} ({len(m)})" for c, m in enumerate(classwise) if len(m) < per_class]


def check_bank_classes(classwise: Sequence[Sequence[int]], class_names: Sequence[str],
                       per_class: int, where: Any) -> None:
    """A one-line ValueError when a class has fewer training videos than the bank takes."""
    short = short_classes(classwise, class_names, per_class)
    if short:
        raise ValueError(f"--method stcl: the exemplar bank takes --exemplars_per_class "
                         f"{per_class} training videos of every class ({where}); too few: "
                         f"{', '.join(short)}")


__all__ = ["BANK_MODES", "ExemplarBank", "check_bank_classes", "short_classes"]
