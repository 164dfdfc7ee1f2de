"""--resample_pairs: each epoch redraws BOTH the pairs and the snippet samples of every video.

The features written here encode their own snippet index and video (row t of video k is
[t, k, ...]), so the rows a ``PairDataset`` item returns show exactly which snippets were sampled.
The reference recomputation is the literal port of the original sampling
(tests/reference/original_sampling.py) driven by the documented generator
``default_rng([seed, epoch, video index])``, and the literal pair loop of tests/helpers.py
with the epoch's Python RNG (for epoch 0 ``random.Random(seed)``, the original's).
"""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from dataset.annotations import VideoInfo
from dataset.features import NpyFolderStore
from dataset.pairs import PairDataset, pair_rng
from dataset.videos import VideoDataset
from tests.helpers import original_pairs
from tests.reference.original_sampling import original_random_sample

SEED = 3
NUM_SEGMENTS = 6
# Three classes, several videos each: many positives and many more negatives, so that the
# sampled negatives differ from one epoch to the next.
CLASSES = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
LENGTHS = [9, 23, 14, 31, 8, 17, 40, 12, 26, 10, 19, 35]   # all > NUM_SEGMENTS: real draws


def toy_videos(folder: Path) -> tuple[list[VideoInfo], NpyFolderStore]:
    """Videos whose feature row t of video k is [t, k, 0, 0] (float64 on disk)."""
    videos = []
    for k, (c, length) in enumerate(zip(CLASSES, LENGTHS)):
        labels = np.eye(3, dtype=np.float32)[c]
        videos.append(VideoInfo(f"v{k}", 10.0, labels, ((0.0, 1.0, c),), "train"))
        rows = np.zeros((length, 4))
        rows[:, 0], rows[:, 1] = np.arange(length), k
        np.save(folder / f"v{k}.npy", rows)
    return videos, NpyFolderStore(folder, 4)


def reference_indices(video: int, epoch: int) -> np.ndarray:
    rng = np.random.default_rng([SEED, epoch, video])
    return original_random_sample(LENGTHS[video], NUM_SEGMENTS, rng)


def reference_pairs(epoch: int) -> np.ndarray:
    """The original loop's pairs; epoch 0 draws its negatives with ``random.Random(seed)`` as the
    original (which samples once), later epochs with the documented ``pair_rng``."""
    labels = np.eye(3, dtype=np.float32)[CLASSES]
    rng = random.Random(SEED) if epoch == 0 else pair_rng(SEED, epoch)
    return original_pairs(labels, rng)[0]


def drawn(dataset: PairDataset) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """The pairs (P, 2) and, per video, the snippet indices its items carry."""
    pairs, indices = [], {}
    for k in range(len(dataset)):
        item = dataset[k]
        sides = []
        for side in ("features_0", "features_1"):
            rows = item[side].numpy()
            video = int(rows[0, 1])
            assert np.all(rows[:, 1] == video)
            picks = rows[:, 0].astype(np.int64)
            # A video sampled twice in one epoch gets the same snippets both times.
            assert np.array_equal(indices.setdefault(video, picks), picks)
            sides.append(video)
        pairs.append(sides)
    return np.asarray(pairs, dtype=np.int64), indices


@pytest.fixture()
def toy(tmp_path: Path) -> tuple[list[VideoInfo], NpyFolderStore]:
    return toy_videos(tmp_path)


def test_resampling_redraws_pairs_and_snippets_every_epoch(toy) -> None:
    videos, store = toy
    data = PairDataset(videos, store, NUM_SEGMENTS, seed=SEED, resample_each_epoch=True)
    single = VideoDataset(videos, store, NUM_SEGMENTS, train=True, seed=SEED)
    seen = {}
    for epoch in (0, 1, 2):
        data.set_epoch(epoch)
        single.set_epoch(epoch)
        pairs, indices = drawn(data)
        np.testing.assert_array_equal(pairs, reference_pairs(epoch))
        assert len(indices) == len(videos)        # every video appears in some pair
        for video, picks in indices.items():
            np.testing.assert_array_equal(picks, reference_indices(video, epoch))
            # the same snippets as the single-video training set of that epoch
            np.testing.assert_array_equal(picks, single[video]["features"][:, 0].numpy())
        seen[epoch] = pairs, indices
    for a, b in ((0, 1), (1, 2), (0, 2)):
        assert not np.array_equal(seen[a][0], seen[b][0]), "the pairs were not redrawn"
        for video in seen[a][1]:
            assert not np.array_equal(seen[a][1][video], seen[b][1][video]), (
                f"video {video}: the snippet samples were not redrawn between epochs {a} and {b}")


def test_resampling_returns_to_an_epochs_draw(toy) -> None:
    """Going back to an epoch (a resumed run) gives that epoch's pairs and samples again."""
    videos, store = toy
    data = PairDataset(videos, store, NUM_SEGMENTS, seed=SEED, resample_each_epoch=True)
    data.set_epoch(4)
    pairs4, indices4 = drawn(data)
    data.set_epoch(1)
    data.set_epoch(4)
    pairs, indices = drawn(data)
    np.testing.assert_array_equal(pairs, pairs4)
    for video, picks in indices.items():
        np.testing.assert_array_equal(picks, indices4[video])
    fresh = PairDataset(videos, store, NUM_SEGMENTS, seed=SEED, resample_each_epoch=True)
    fresh.set_epoch(4)
    np.testing.assert_array_equal(drawn(fresh)[0], pairs4)


def test_without_resampling_pairs_and_snippets_stay_those_of_epoch_0(toy) -> None:
    """The original: pairs and each video's samples are drawn once and reused every epoch."""
    videos, store = toy
    data = PairDataset(videos, store, NUM_SEGMENTS, seed=SEED)
    first_pairs, first = drawn(data)
    np.testing.assert_array_equal(first_pairs, reference_pairs(0))
    for video, picks in first.items():
        np.testing.assert_array_equal(picks, reference_indices(video, 0))
    for epoch in (1, 2, 7):
        data.set_epoch(epoch)
        pairs, indices = drawn(data)
        np.testing.assert_array_equal(pairs, first_pairs)
        assert indices.keys() == first.keys()
        for video, picks in indices.items():
            np.testing.assert_array_equal(picks, first[video])
