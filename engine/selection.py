"""Which epoch a run reports (model-selection rules), and the run's ``summary.json``.

An epoch record of the history is ``{"epoch": int, "test": metrics | None, "heldout": metrics |
None}``, where metrics is the dict of ``DetectionResult.to_json()`` (keys "tiou", "mAP",
"average", ...) and None means the split was not evaluated at that epoch.

Rules:
- ``test``: the first epoch with the best test value (the original's choice of
  ``<dataset>_best.pth``; optimistic, since the test set picks the epoch);
- ``last``: the last epoch evaluated on the test set;
- ``heldout``: the first epoch with the best value on the held-out part of the training split.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from utils.io import atomic_write

RULES = ("test", "last", "heldout")
SUMMARY_FILE = "summary.json"


def tiou_name(tiou: float) -> str:
    """A tIoU threshold as metric keys name it: 0.5 -> "0.5", 0.30000000000000004 -> "0.3"."""
    return f"{float(tiou):.2f}".rstrip("0")


def metric_value(metrics: Mapping[str, Any], key: str) -> float:
    """The value of ``key`` in ``metrics``: an average range of ``metrics["average"]`` such as
    "0.1:0.7", or one tIoU of ``metrics["tiou"]`` such as "0.5" (compared as
    ``f"{t:.2f}".rstrip("0") == key.rstrip("0")``). ValueError for a key that is neither."""
    averages = metrics.get("average", {})
    if key in averages:
        return float(averages[key])
    tious, values = metrics.get("tiou", []), metrics.get("mAP", [])
    for tiou, value in zip(tious, values):
        if tiou_name(tiou) == key.rstrip("0"):
            return float(value)
    raise ValueError(f"metric {key!r}: not available; choose one of {sorted(averages)} or a "
                     f"single tIoU of {[tiou_name(t) for t in tious]}")


def _by_epoch(history: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The records sorted by epoch; ValueError for a record without an integer epoch or for an
    epoch given twice."""
    seen: set[int] = set()
    for i, record in enumerate(history):
        epoch = record.get("epoch") if isinstance(record, Mapping) else None
        if isinstance(epoch, bool) or not isinstance(epoch, int):
            raise ValueError(f"history record {i}: no integer 'epoch' ({record!r:.80})")
        if epoch in seen:
            raise ValueError(f"history: epoch {epoch} appears twice")
        seen.add(epoch)
    return sorted(history, key=lambda record: record["epoch"])


def _first_best(records: Sequence[Mapping[str, Any]], split: str, key: str) -> int | None:
    """The first epoch whose ``split`` value beats every earlier one (strictly greater replaces
    the best, so ties keep the earlier epoch; NaN never wins)."""
    best, best_epoch = -math.inf, None
    for record in records:
        if record.get(split) is not None:
            value = metric_value(record[split], key)
            if value > best:
                best, best_epoch = value, record["epoch"]
    return best_epoch


def choose_epoch(history: Sequence[Mapping[str, Any]], rule: str, key: str) -> int | None:
    """The epoch ``rule`` selects (see the module docstring), by the metric ``key`` (see
    ``metric_value``); None when no epoch has the metrics the rule needs. Records may come in any
    order; ties go to the earliest epoch."""
    if rule not in RULES:
        raise ValueError(f"selection rule {rule!r}: expected one of {', '.join(RULES)}")
    records = _by_epoch(history)
    if rule == "last":
        tested = [record["epoch"] for record in records if record.get("test") is not None]
        return tested[-1] if tested else None
    return _first_best(records, rule, key)


def summarize_run(history: Sequence[Mapping[str, Any]], key: str,
                  rules: Sequence[str] = RULES) -> dict[str, Any]:
    """What each selection rule reports for one run.

    Returns ``{"select_metric": key, "rules": {rule: {"epoch": int, "selected_on": float | None,
    "test": metrics | None}}}`` for each rule of ``rules`` that selects an epoch: "test" holds the
    full test metrics of that epoch (None if the epoch was not tested), "selected_on" the value
    of ``key`` the rule maximised (test value for "test", held-out value for "heldout", None for
    "last").
    """
    records = {record["epoch"]: record for record in _by_epoch(history)}
    chosen: dict[str, Any] = {}
    for rule in rules:
        epoch = choose_epoch(history, rule, key)
        if epoch is None:
            continue
        record = records[epoch]
        selected_on = None if rule == "last" else metric_value(record[rule], key)
        chosen[rule] = {"epoch": epoch, "selected_on": selected_on, "test": record.get("test")}
    return {"select_metric": key, "rules": chosen}


def write_summary(run_dir: str | os.PathLike, summary: Mapping[str, Any]) -> Path:
    """Write ``summary`` as ``<run_dir>/summary.json`` atomically, with the permissions the umask
    gives; returns the path. ValueError for NaN/inf values, OSError naming the path."""
    path = Path(run_dir) / SUMMARY_FILE
    text = json.dumps(summary, indent=1, allow_nan=False)
    return atomic_write(path, text.encode())


def read_summary(run_dir: str | os.PathLike) -> dict[str, Any] | None:
    """``<run_dir>/summary.json`` as a dict, or None when the file does not exist. ValueError
    "<path>: ..." for a file that is not a JSON object."""
    path = Path(run_dir) / SUMMARY_FILE
    if not path.is_file():
        return None
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(summary, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return summary
