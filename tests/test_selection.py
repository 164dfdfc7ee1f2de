"""Model-selection rules and summary.json on made-up metric histories."""
from __future__ import annotations

import json
import os
import random
import stat
from pathlib import Path

import numpy as np
import pytest

from engine.selection import (RULES, choose_epoch, metric_value, read_summary, summarize_run,
                              write_summary)
from eval.detection import range_averages

TIOU = np.arange(0.1, 1.0, 0.1)  # 0.30000000000000004 etc., as the config builds them


def metrics(m_ap: list[float] | np.ndarray) -> dict:
    """A metrics dict shaped like DetectionResult.to_json() for the THUMOS'14 thresholds."""
    m_ap = np.asarray(m_ap, dtype=np.float64)
    return {"tiou": TIOU.tolist(), "mAP": m_ap.tolist(), "average": range_averages(TIOU, m_ap),
            "per_class": {}, "subset": "test", "num_videos": 3}


def flat(value: float) -> dict:
    """Metrics whose every tIoU (hence every average) equals ``value``."""
    return metrics(np.full(len(TIOU), value))


def test_metric_value_keys() -> None:
    m = metrics(np.linspace(0.9, 0.1, 9))
    assert metric_value(m, "0.1:0.7") == pytest.approx(np.mean(np.linspace(0.9, 0.1, 9)[:7]))
    assert metric_value(m, "0.5") == pytest.approx(0.5)
    assert metric_value(m, "0.50") == pytest.approx(0.5)
    assert metric_value(m, "0.3") == pytest.approx(0.7)  # tIoU 0.30000000000000004
    assert metric_value(m, "0.1") == pytest.approx(0.9)
    with pytest.raises(ValueError, match=r"metric '0.55': not available; choose one of .*"
                                         r"'0.1:0.7'.* single tIoU of \['0.1', '0.2'"):
        metric_value(m, "0.55")
    with pytest.raises(ValueError, match="metric 'best'"):
        metric_value(m, "best")


def history(test: list[float | None], heldout: list[float | None], first: int = 10) -> list:
    return [{"epoch": first + i, "test": None if t is None else flat(t),
             "heldout": None if h is None else flat(h)} for i, (t, h) in enumerate(zip(test, heldout))]


def test_rules_pick_the_right_epochs() -> None:
    h = history(test=[0.1, 0.3, 0.3, 0.2, None], heldout=[0.5, 0.4, 0.6, 0.6, 0.7])
    assert choose_epoch(h, "test", "0.1:0.7") == 11  # tie at 0.3: the first
    assert choose_epoch(h, "last", "0.1:0.7") == 13  # epoch 14 was not tested
    assert choose_epoch(h, "heldout", "0.1:0.7") == 14  # held-out only, still a candidate
    assert choose_epoch(h[:4], "heldout", "0.5") == 12  # tie at 0.6: the first
    # Record order does not matter.
    shuffled = h[::-1]
    assert [choose_epoch(shuffled, r, "0.1:0.7") for r in RULES] == [11, 13, 14]


def test_missing_heldout_and_empty_history() -> None:
    h = history(test=[0.2, 0.1], heldout=[None, None])
    assert choose_epoch(h, "heldout", "0.1:0.7") is None
    assert choose_epoch([], "test", "0.1:0.7") is None
    assert choose_epoch([], "last", "0.1:0.7") is None
    assert choose_epoch(history([None], [None]), "last", "0.5") is None


def test_nan_never_selected() -> None:
    h = history(test=[float("nan"), 0.2, float("nan")], heldout=[None] * 3)
    assert choose_epoch(h, "test", "0.5") == 11
    assert choose_epoch(history([float("nan")], [None]), "test", "0.5") is None


def test_test_rule_matches_the_original_loop() -> None:
    rng = random.Random(0)
    for _ in range(200):
        values = [rng.choice([0.1, 0.2, 0.3]) for _ in range(rng.randint(1, 12))]
        best, best_epoch = -np.inf, -1
        for epoch, value in enumerate(values):  # the original: if metric > best
            if value > best:
                best, best_epoch = value, epoch
        h = history(values, [None] * len(values), first=0)
        assert choose_epoch(h, "test", "0.1:0.7") == best_epoch


def test_bad_rule_and_history() -> None:
    h = history([0.1], [None])
    with pytest.raises(ValueError, match="selection rule 'best': expected one of test, last, "
                                         "heldout"):
        choose_epoch(h, "best", "0.5")
    with pytest.raises(ValueError, match="epoch 10 appears twice"):
        choose_epoch(h + h, "test", "0.5")
    with pytest.raises(ValueError, match="history record 0: no integer 'epoch'"):
        choose_epoch([{"test": flat(0.1)}], "test", "0.5")


def test_summarize_run() -> None:
    h = history(test=[0.1, 0.4, 0.2], heldout=[0.3, 0.2, 0.5])
    summary = summarize_run(h, "0.1:0.7")
    assert summary["select_metric"] == "0.1:0.7"
    rules = summary["rules"]
    assert list(rules) == list(RULES)
    assert {r: rules[r]["epoch"] for r in rules} == {"test": 11, "last": 12, "heldout": 12}
    assert rules["test"]["selected_on"] == pytest.approx(0.4)
    assert rules["heldout"]["selected_on"] == pytest.approx(0.5)
    assert rules["last"]["selected_on"] is None
    assert rules["heldout"]["test"] == h[2]["test"]  # the full test metrics of that epoch
    assert rules["test"]["test"] == h[1]["test"]

    no_heldout = summarize_run(history([0.1, 0.2], [None, None]), "0.5", rules=("test", "heldout"))
    assert list(no_heldout["rules"]) == ["test"]
    assert summarize_run([], "0.5") == {"select_metric": "0.5", "rules": {}}


def test_write_and_read_summary(tmp_path: Path) -> None:
    summary = {"complete": True, "seed": 3, **summarize_run(history([0.1], [None]), "0.5")}
    old = os.umask(0o027)
    try:
        path = write_summary(tmp_path, summary)
    finally:
        os.umask(old)
    assert path == tmp_path / "summary.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]
    assert read_summary(tmp_path) == json.loads(json.dumps(summary))
    assert read_summary(tmp_path / "nowhere") is None

    with pytest.raises(ValueError):
        write_summary(tmp_path, {"value": float("nan")})
    assert read_summary(tmp_path)["seed"] == 3, "a refused write leaves the old file"
    (tmp_path / "summary.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"summary.json: not valid JSON"):
        read_summary(tmp_path)
    (tmp_path / "summary.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"summary.json: expected a JSON object"):
        read_summary(tmp_path)
