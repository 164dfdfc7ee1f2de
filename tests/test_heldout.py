"""heldout_split: disjoint, fixed by its own seed, stratified, every class keeps training videos."""
from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from config import dataset_config
from dataset.annotations import VideoInfo, load_videos
from dataset.heldout import fraction_lines, heldout_split, split_videos
from engine.data import Split, hold_out


def check_split(ids: list[str], labels: np.ndarray, fraction: float, seed: int
                ) -> tuple[list[str], list[str]]:
    """Run the split and assert the properties the docstring promises."""
    train, held = heldout_split(ids, labels, fraction, seed)
    assert held, "something is held out"
    assert not set(train) & set(held)
    assert sorted(train + held) == sorted(ids)
    order = {v: i for i, v in enumerate(ids)}
    assert [order[v] for v in train] == sorted(order[v] for v in train)
    assert [order[v] for v in held] == sorted(order[v] for v in held)

    hot = np.asarray(labels) != 0
    groups = np.concatenate([hot, ~hot.any(axis=1, keepdims=True)], axis=1)
    is_held = np.array([v in set(held) for v in ids])
    counts, held_counts = groups.sum(axis=0), groups[is_held].sum(axis=0)
    for k in np.flatnonzero(counts):
        target = min(math.floor(fraction * counts[k] + 0.5), counts[k] - 1)
        assert held_counts[k] <= target, f"class {k}: {held_counts[k]} held out > {target}"
        assert counts[k] - held_counts[k] >= 1, f"class {k} lost all its training videos"
    return train, held


def test_real_thumos_train_split(real_thumos: Path) -> None:
    videos = load_videos(real_thumos / "gt.json", real_thumos / "split_train.txt",
                         dataset_config("THUMOS")["class_names"])
    ids, labels = [v.video_id for v in videos], np.stack([v.labels for v in videos])
    assert (labels.sum(axis=1) > 1).sum() == 27, "the real list has multi-label videos"
    for fraction in (0.1, 0.2, 0.5, 0.9):
        train, held = check_split(ids, labels, fraction, seed=0)
        assert abs(len(held) - fraction * len(ids)) <= 0.05 * len(ids)
        held_labels = labels[[ids.index(v) for v in held]].sum(axis=0)
        # Stratified: each of the 20 classes gives close to its share (not just the total).
        share = held_labels / labels.sum(axis=0)
        assert np.all(np.abs(share - fraction) < 0.1), share

    train, held = heldout_split(ids, labels, 0.2, seed=0)
    assert heldout_split(ids, labels, 0.2, seed=0) == (train, held)
    assert heldout_split(ids, labels, 0.2, seed=1)[1] != held
    # Fixed by the (id, labels) pairs, not by the order they come in.
    perm = np.random.default_rng(5).permutation(len(ids))
    _, held_shuffled = heldout_split([ids[i] for i in perm], labels[perm], 0.2, seed=0)
    assert sorted(held_shuffled) == sorted(held)
    # No global RNG involved.
    np.random.seed(123)
    assert heldout_split(ids, labels, 0.2, seed=0) == (train, held)


def made_up_labels(rng: np.random.Generator, n: int, c: int) -> np.ndarray:
    """(n, c) multi-hot: one class per video, a third of them with a second or third class,
    a few unlabelled videos, and the last two classes on one and two videos only."""
    labels = np.zeros((n, c), dtype=np.float32)
    labels[np.arange(n), rng.integers(0, c - 2, n)] = 1
    extra = rng.random(n) < 0.33
    labels[np.flatnonzero(extra), rng.integers(0, c - 2, extra.sum())] = 1
    labels[np.flatnonzero(rng.random(n) < 0.1), rng.integers(0, c - 2, 1)] = 1
    labels[-3:] = 0
    labels[0, c - 1] = 1
    labels[1:3, c - 2] = 1
    return labels


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_made_up_multilabel(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    labels = made_up_labels(rng, 80, 9)
    ids = [f"video_{i:03d}" for i in range(len(labels))]
    for fraction in (0.05, 0.25, 0.5, 0.75, 0.95):
        train, held = check_split(ids, labels, fraction, seed)
        assert "video_000" in train, "a class with a single video is never held out"


def test_class_on_two_videos_loses_at_most_one() -> None:
    # Class 1 is on videos a and b only, both also in the big class 0.
    labels = np.array([[1, 1], [1, 1]] + [[1, 0]] * 10, dtype=np.float32)
    ids = ["a", "b"] + [f"v{i}" for i in range(10)]
    for seed in range(20):
        train, _ = check_split(ids, labels, 0.9, seed)
        assert {"a", "b"} & set(train)


def test_split_videos_matches_ids(real_thumos: Path) -> None:
    videos = load_videos(real_thumos / "gt.json", real_thumos / "split_train.txt",
                         dataset_config("THUMOS")["class_names"])
    train, held = split_videos(videos, 0.25, seed=7)
    ids_train, ids_held = heldout_split([v.video_id for v in videos],
                                        np.stack([v.labels for v in videos]), 0.25, seed=7)
    assert [v.video_id for v in train] == ids_train
    assert [v.video_id for v in held] == ids_held


@pytest.mark.parametrize("fraction", [0, 1, -0.2, 1.5, float("nan"), True, "0.2"])
def test_bad_fraction(fraction) -> None:
    with pytest.raises(ValueError, match=r"held-out fraction .*: must be a number in \(0, 1\)"):
        heldout_split(["a", "b"], np.eye(2), fraction, seed=0)


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="do not match 3 video ids"):
        heldout_split(["a", "b", "c"], np.eye(2), 0.5, seed=0)
    with pytest.raises(ValueError, match="duplicate video ids"):
        heldout_split(["a", "a", "b"], np.ones((3, 1)), 0.5, seed=0)
    # Three classes with one video each: nothing can be held out.
    with pytest.raises(ValueError, match="holds out no video of the 3"):
        heldout_split(["a", "b", "c"], np.eye(3), 0.5, seed=0)


def small_list(num_classes: int, per_class: int) -> list[VideoInfo]:
    """``per_class`` single-label videos of each of ``num_classes`` classes."""
    eye = np.eye(num_classes, dtype=np.float32)
    return [VideoInfo(f"v{c}_{i}", 10.0, eye[c], ((0.0, 5.0, c),), "validation")
            for c in range(num_classes) for i in range(per_class)]


def test_run_log_says_the_realised_fraction_and_warns_when_rounding_moves_it(capsys) -> None:
    """At 0.2 a class of 3 videos gives up round(0.6) = 1: 10 of 30 videos (33.3 %), a warning;
    the real THUMOS'14 list at 0.2 holds out 40 of 200 (20.0 %), none."""
    videos = small_list(10, 3)
    data = SimpleNamespace(heldout_fraction=0.2, heldout_seed=0)
    kept, held = hold_out(Split(videos, None, [v.video_id for v in videos]), data)
    lines = capsys.readouterr().out.splitlines()
    assert len(held.videos) == 10 and len(kept.videos) == 20
    assert lines[0] == "--heldout_fraction 0.2: held out 10 of 30 training videos (33.3 %)"
    assert len(lines) == 2 and lines[1].startswith("warning: --heldout_fraction 0.2: ")
    assert "33.3 %" in lines[1] and "13.3 points off" in lines[1]
    assert fraction_lines(0.2, 40, 200) == [
        "--heldout_fraction 0.2: held out 40 of 200 training videos (20.0 %)"]
    assert len(fraction_lines(0.2, 25, 100)) == 1 and len(fraction_lines(0.2, 26, 100)) == 2
    assert len(fraction_lines(0.2, 14, 100)) == 2


def test_real_thumos_at_0_2_gives_no_warning(real_thumos: Path, capsys) -> None:
    videos = load_videos(real_thumos / "gt.json", real_thumos / "split_train.txt",
                         dataset_config("THUMOS")["class_names"])
    data = SimpleNamespace(heldout_fraction=0.2, heldout_seed=0)
    _, held = hold_out(Split(videos, None, [v.video_id for v in videos]), data)
    out = capsys.readouterr().out
    assert out == (f"--heldout_fraction 0.2: held out {len(held.videos)} of {len(videos)} "
                   f"training videos ({100 * len(held.videos) / len(videos):.1f} %)\n")
    assert "warning" not in out
