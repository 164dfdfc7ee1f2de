"""What both detection protocols report: ``DetectionResult`` (mAP per tIoU threshold, AP per
class), the tIoU thresholds and the named ranges averaged over, and the printed table.

Shared by ``eval.detection`` (ActivityNet-style protocol, whose module re-exports these names for
its callers), ``eval.thumos14`` (official protocol) and ``eval.wtalc`` (W-TALC convention);
``format_side_by_side`` prints several protocols' results for one results file in one table.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

DEFAULT_TIOU = np.arange(0.1, 1.0, 0.1)
# Averages reported by THUMOS'14 papers (FTCL selects on 0.1:0.7, ACM-Net reports 0.1:0.9) and
# ActivityNet's 0.5:0.95: (first, last, step).
NAMED_RANGES = {
    "0.1:0.5": (0.1, 0.5, 0.1),
    "0.3:0.7": (0.3, 0.7, 0.1),
    "0.1:0.7": (0.1, 0.7, 0.1),
    "0.1:0.9": (0.1, 0.9, 0.1),
    "0.5:0.95": (0.5, 0.95, 0.05),
}


@dataclass
class DetectionResult:
    """mAP per tIoU threshold. tiou (K,), mAP (K,), ap (K, C) with columns named by class_names."""

    tiou: np.ndarray
    mAP: np.ndarray
    ap: np.ndarray
    class_names: list[str]
    averages: dict[str, float]
    subset: str
    num_videos: int = 0
    num_gt: int = 0
    num_predictions: int = 0
    num_outside: int = 0
    gt_videos: str = field(default="subset")

    def per_class(self) -> dict[str, list[float]]:
        """AP of each class (by name) at each threshold."""
        return {name: self.ap[:, c].tolist() for c, name in enumerate(self.class_names)}

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: tiou, mAP, average, per_class and the counts."""
        return {"tiou": named_thresholds(self.tiou), "mAP": self.mAP.tolist(), "average": self.averages,
                "per_class": self.per_class(), "subset": self.subset, "gt_videos": self.gt_videos,
                "num_videos": self.num_videos, "num_gt": self.num_gt,
                "num_predictions": self.num_predictions, "num_outside": self.num_outside}


def named_thresholds(tiou: Sequence[float] | np.ndarray) -> list[float]:
    """tIoU thresholds (K,) as a person names them, for JSON: 0.30000000000000004 -> 0.3,
    0.7000000000000001 -> 0.7 (10 significant digits). Only for writing: matching keeps the
    exact floats."""
    return [float(f"{round(float(t), 10):.10g}") for t in np.asarray(tiou, dtype=np.float64)]


def parse_tiou(spec: str) -> np.ndarray:
    """tIoU thresholds (K,) of a ``--tiou`` value: one threshold ("0.5"), a list
    ("0.3,0.5,0.7") or a range "first:last:step" (last included), whose values are
    ``np.arange(first, last + step/2, step)``, the same floats as the original's
    ``np.arange(0.1, 1.0, 0.1)``. ValueError naming ``--tiou`` for anything else or a value
    outside (0, 1]."""
    text = spec.strip()
    try:
        if ":" in text:
            first, last, step = (float(x) for x in text.split(":"))
            if step <= 0 or not 0 < first <= last <= 1:
                raise ValueError(f"--tiou {spec!r}: need 0 < first <= last <= 1 and step > 0")
            return np.arange(first, last + step / 2, step)
        values = np.array([float(x) for x in text.split(",")], dtype=np.float64)
    except ValueError as err:
        if str(err).startswith("--tiou"):
            raise
        raise ValueError(f"--tiou {spec!r}: expected a threshold (0.5), a list (0.3,0.5,0.7) or "
                         "a range first:last:step (0.1:0.9:0.1)") from None
    if not np.all((values > 0) & (values <= 1)):
        raise ValueError(f"--tiou {spec!r}: need every threshold in (0, 1]")
    return values


def _fmt(x: float) -> str:
    return f"{round(float(x), 10):g}"


def range_averages(tiou: np.ndarray, mAP: np.ndarray) -> dict[str, float]:
    """Means of mAP over the named ranges fully present in ``tiou``, plus the whole range."""
    out = {}
    for name, (first, last, step) in NAMED_RANGES.items():
        points = np.arange(first, last + step / 2, step)
        idx = [np.flatnonzero(np.isclose(tiou, p, atol=1e-6)) for p in points]
        if all(i.size for i in idx):
            out[name] = float(np.mean(mAP[[int(i[0]) for i in idx]]))
    whole = f"{_fmt(tiou[0])}:{_fmt(tiou[-1])}"
    if len(tiou) and whole not in out:
        out[whole] = float(np.mean(mAP))
    return out


def format_table(result: DetectionResult) -> str:
    """The per-tIoU table (3 decimals, as published tables) and the averages."""
    cells = [f"{t:.2f}" for t in result.tiou]
    width = max(5, *(len(c) for c in cells))
    sep = "+-------+" + "+".join("-" * (width + 2) for _ in cells) + "+"
    lines = [sep, "| t-IoU | " + " | ".join(c.ljust(width) for c in cells) + " |", sep,
             "| mAP   | " + " | ".join(f"{m:.3f}".ljust(width) for m in result.mAP) + " |", sep]
    lines += [f"average mAP {name}: {value:.4f}" for name, value in result.averages.items()]
    lines.append(f"({result.num_videos} videos, {result.num_gt} ground-truth instances, "
                 f"{len(result.class_names)} classes, {result.num_predictions} predictions; "
                 f"subset {result.subset!r}, gt videos: {result.gt_videos})")
    return "\n".join(lines)


def format_side_by_side(results: dict[str, DetectionResult]) -> str:
    """One row per protocol (``results``: name -> result on the same thresholds): mAP at each
    tIoU (3 decimals) and the averages every result has (4 decimals)."""
    names = list(results)
    first = results[names[0]]
    averages = [k for k in first.averages if all(k in r.averages for r in results.values())]
    head = ["protocol"] + [f"{t:.2f}" for t in first.tiou] + [f"avg {k}" for k in averages]
    rows = [[name] + [f"{m:.3f}" for m in r.mAP] + [f"{r.averages[k]:.4f}" for k in averages]
            for name, r in results.items()]
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]
    sep = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(row: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |"

    return "\n".join([sep, line(head), sep, *map(line, rows), sep])
