"""build_pairs / PairDataset against a literal port of the original pair construction
(``original_pairs``, in tests/helpers.py: tests/test_pair_resampling.py uses it too)."""
from __future__ import annotations

import random
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from config import dataset_config
from dataset.annotations import VideoInfo, load_videos
from dataset.features import NpyFolderStore
from dataset.pairs import PairDataset, build_pairs
from dataset.videos import VideoDataset
from tests.helpers import original_pairs


def test_real_thumos_counts_match_original(real_thumos: Path) -> None:
    root = real_thumos
    videos = load_videos(root / "gt.json", root / "split_train.txt",
                         dataset_config("THUMOS")["class_names"])
    labels = np.stack([v.labels for v in videos])
    expected, n_pos, n_neg = original_pairs(labels, random.Random(0))
    assert (n_pos, n_neg) == (861, 18772)
    pairs, is_positive = build_pairs(labels, random.Random(0))
    assert pairs.shape == (1722, 2) and pairs.dtype == np.int64
    np.testing.assert_array_equal(pairs, expected)
    np.testing.assert_array_equal(is_positive, np.arange(1722) >= 861)
    assert np.all(pairs[:, 0] < pairs[:, 1])


@pytest.mark.parametrize("case", range(25))
def test_random_label_matrices_match_original(case: int) -> None:
    gen = np.random.default_rng(case)
    n, c = int(gen.integers(1, 50)), int(gen.integers(1, 6))
    labels = (gen.random((n, c)) < gen.uniform(0.1, 0.6)).astype(np.float32)  # zero rows too
    pairs, is_positive = build_pairs(labels, random.Random(case))
    expected, n_pos, _ = original_pairs(labels, random.Random(case))
    np.testing.assert_array_equal(pairs, expected)
    assert is_positive.sum() == n_pos


def test_real_activitynet_builds_in_seconds(real_anet: Path) -> None:
    root = real_anet
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        videos = load_videos(root / "gt.json", root / "split_train.txt",
                             dataset_config("ActivityNet")["class_names"])
    labels = np.stack([v.labels for v in videos])
    start = time.perf_counter()
    pairs, is_positive = build_pairs(labels, random.Random(0))
    print(f"ActivityNet pairs of {len(videos)} videos: {len(pairs)} in "
          f"{time.perf_counter() - start:.2f} s")
    assert is_positive.sum() * 2 == len(pairs)
    same = (labels[pairs[:, 0]] == labels[pairs[:, 1]]).all(axis=1)
    shared = (labels[pairs[:, 0]] * labels[pairs[:, 1]]).sum(axis=1)
    assert np.array_equal(same, is_positive) and np.all(shared[~is_positive] == 0)


def _toy(tmp_path: Path) -> tuple[list[VideoInfo], NpyFolderStore]:
    gen = np.random.default_rng(0)
    classes = [0, 0, 0, 1, 1, 2, 2, 2]
    videos = []
    for k, c in enumerate(classes):
        labels = np.eye(3, dtype=np.float32)[c]
        videos.append(VideoInfo(f"v{k}", 10.0, labels, ((0.0, 1.0, c),), "train"))
        np.save(tmp_path / f"v{k}.npy", gen.standard_normal((int(gen.integers(3, 30)), 4)))
    return videos, NpyFolderStore(tmp_path, 4)


def test_pair_dataset_fixed_by_default_and_resampled_on_request(tmp_path: Path) -> None:
    videos, store = _toy(tmp_path)
    fixed = PairDataset(videos, store, num_segments=8, seed=1)
    first = [fixed[k] for k in range(len(fixed))]
    fixed.set_epoch(5)
    for item, again in zip(first, (fixed[k] for k in range(len(fixed)))):
        for key in item:
            assert item[key].dtype.is_floating_point and item[key].equal(again[key])
    assert first[0]["features_0"].shape == (8, 4) and first[0]["label_0"].shape == (3,)
    # The fixed samples are the epoch-0 training samples of VideoDataset.
    single = VideoDataset(videos, store, num_segments=8, train=True, seed=1)
    i, j = fixed.pairs[0]
    assert first[0]["features_0"].equal(single[int(i)]["features"])
    assert first[0]["features_1"].equal(single[int(j)]["features"])

    moving = PairDataset(videos, store, num_segments=8, seed=1, resample_each_epoch=True)
    np.testing.assert_array_equal(moving.pairs, fixed.pairs)
    before = [moving[k]["features_0"] for k in range(len(moving))]
    moving.set_epoch(1)
    after = [moving[k]["features_0"] for k in range(len(moving))]
    assert not all(a.shape == b.shape and a.equal(b) for a, b in zip(before, after))
    assert len(moving) == len(fixed)
