"""dataset.sampling against the literal port of the original sampling functions."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dataset.sampling import random_sample, uniform_sample
from tests.reference.original_sampling import original_random_sample, original_uniform_sample

# (T, S) pairs: every branch and edge (T=1, T<S, T=S, T=S+1, T=2S-1, S=2, the real S=750 and 75),
# plus a case where k*(T/S) and k*T/S floor differently (T=122, S=14).
EDGE_CASES = [(1, 1), (1, 2), (1, 750), (2, 2), (3, 7), (5, 5), (6, 5), (9, 5), (10, 5), (3, 2),
              (100, 2), (122, 14), (749, 750), (750, 750), (751, 750), (1499, 750), (4000, 750),
              (74, 75), (76, 75), (7, 3), (1000, 999)]


def _random_cases(n: int) -> list[tuple[int, int]]:
    gen = np.random.default_rng(1234)
    sizes = gen.integers(2, 200, size=(n, 2))
    return [(int(t), int(s)) for t, s in sizes]


@pytest.mark.parametrize("length,num", EDGE_CASES + _random_cases(150))
def test_random_sample_equals_original(length: int, num: int) -> None:
    for seed in range(4):
        ref_rng, rng = np.random.default_rng(seed), np.random.default_rng(seed)
        expected = original_random_sample(length, num, ref_rng)
        got = random_sample(length, num, rng)
        assert got.dtype == np.int64 and got.shape == (num,)
        np.testing.assert_array_equal(got, expected)
        # Both consumed the stream identically: the next draw agrees.
        assert ref_rng.random() == rng.random()
        assert got.min() >= 0 and got.max() < length
        assert np.all(np.diff(got) >= 0)


@pytest.mark.parametrize("length,num", EDGE_CASES + _random_cases(150))
def test_uniform_sample_equals_original(length: int, num: int) -> None:
    got = uniform_sample(length, num)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, original_uniform_sample(length, num))


def test_edge_cases_explicitly() -> None:
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(uniform_sample(1, 750), [0, 0])
    np.testing.assert_array_equal(uniform_sample(5, 750), np.arange(5))
    np.testing.assert_array_equal(uniform_sample(122, 14)[7], 60)  # 7 * (122 / 14) = 60.999...
    np.testing.assert_array_equal(random_sample(1, 4, rng), [0, 0, 0, 0])
    np.testing.assert_array_equal(random_sample(6, 6, rng), np.arange(6))
    # Inclusive upper bound: with T=2S every bin {2k, 2k+1, 2k+2} can reach its neighbour's start.
    draws = np.stack([random_sample(20, 10, rng) for _ in range(2000)])
    assert {int(v) for v in draws[:, 0]} == {0, 1, 2}
    # The last index ranges from the second-to-last pick up to T-1 inclusive.
    assert draws[:, -1].max() == 19


def test_single_sample_is_defined_where_the_original_crashes() -> None:
    with pytest.raises(IndexError):
        original_random_sample(10, 1, np.random.default_rng(0))
    picks = np.concatenate([random_sample(10, 1, np.random.default_rng(s)) for s in range(200)])
    assert set(picks.tolist()) == set(range(10))


def test_bad_sizes_raise() -> None:
    with pytest.raises(ValueError):
        random_sample(0, 5, np.random.default_rng(0))
    with pytest.raises(ValueError):
        uniform_sample(5, 0)


def test_video_dataset_training_and_test_items(tmp_path) -> None:
    from dataset.annotations import VideoInfo
    from dataset.features import NpyFolderStore
    from dataset.videos import VideoDataset

    features = np.random.default_rng(0).standard_normal((30, 5))
    np.save(tmp_path / "v.npy", features)
    np.save(tmp_path / "w.npy", features[:1])
    labels = np.array([0, 1], np.float32)
    videos = [VideoInfo("v", 19.2, labels, ((1.0, 2.0, 1),), "validation"),
              VideoInfo("w", 0.64, labels, ((0.0, 0.5, 1),), "validation")]
    store = NpyFolderStore(tmp_path, 5)
    train = VideoDataset(videos, store, num_segments=8, train=True, seed=7)
    item = train[0]
    assert item["features"].dtype == torch.float32 and item["features"].shape == (8, 5)
    picks = random_sample(30, 8, np.random.default_rng([7, 0, 0]))
    torch.testing.assert_close(item["features"], torch.from_numpy(features[picks]).float())
    assert item["features"].equal(train[0]["features"])  # same epoch, same sample
    train.set_epoch(1)
    assert not item["features"].equal(train[0]["features"])
    test = VideoDataset(videos, store, num_segments=8, train=False)
    item = test[0]
    assert item["video_id"] == "v" and item["length"] == 30 and item["duration"] == 19.2
    torch.testing.assert_close(item["features"],
                               torch.from_numpy(features[uniform_sample(30, 8)]).float())
    assert test[1]["features"].shape == (2, 5) and test[1]["length"] == 1
    assert item["label"].equal(torch.tensor([0.0, 1.0]))
