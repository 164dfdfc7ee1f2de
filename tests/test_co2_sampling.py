"""dataset.class_pair_sampler: the CO2-Net / W-TALC class-pair training batch against the literal
port of the official ``load_data`` (tests/reference/original_co2_sampling.py): the same videos,
random positions and perturbed rows from an equal Generator seed, and from a legacy RandomState
equal to the original's global ``np.random`` stream; the batch's counts and the spec's rules
(classes with replacement, distinct pair members, B raised to 6, draws per video)."""
from __future__ import annotations

import numpy as np
import pytest

from dataset.aicl_sampling import random_perturb
from dataset.class_pair_sampler import (ClassPairBatch, batch_rows, class_pair_batch,
                                        classwise_videos, perturb)
from tests.reference.original_aicl_sampling import original_random_perturb
from tests.reference.original_co2_sampling import OriginalPairLoader

S = 20  # spec sec. 10: S = T = 20


def tiny_dataset(seed: int = 0, classes: int = 4, per_class: int = 3):
    """Training videos (subset 'validation') with per_class single-label videos per class plus a
    few two-label ones, test videos between them; lengths around S (shorter, equal, longer)."""
    rng = np.random.default_rng(seed)
    labels, subset = [], []
    for c in range(classes):
        for _ in range(per_class):
            row = np.zeros(classes)
            row[c] = 1
            labels.append(row)
            subset.append("validation")
        test = np.zeros(classes)
        test[(c + 1) % classes] = 1
        labels.append(test)
        subset.append("test")
    for c in range(classes - 1):
        row = np.zeros(classes)
        row[[c, c + 1]] = 1
        labels.append(row)
        subset.append("validation")
    lengths = rng.integers(5, 3 * S, size=len(labels))
    lengths[:3] = [S, S - 1, S + 1]
    return np.array(labels), subset, lengths


def project_batch(loader_labels, subset, lengths, rng, batch_size=10, n_similar=3):
    train = [i for i, s in enumerate(subset) if s == "validation"]
    classwise = classwise_videos(loader_labels, train)
    batch = class_pair_batch(classwise, train, batch_size, rng, num_similar=n_similar)
    rows = batch_rows([lengths[i] for i in batch.videos], S, rng)
    return batch, rows


def assert_same(batch: ClassPairBatch, rows, want):
    idx, want_rows, rand = want
    assert batch.videos.tolist() == list(idx)
    assert batch.random_positions.tolist() == list(rand)
    assert len(rows) == len(want_rows)
    for got, expect in zip(rows, want_rows):
        assert got.tolist() == expect.tolist()


def test_classwise_videos_equal_the_port():
    labels, subset, _ = tiny_dataset()
    loader = OriginalPairLoader(labels, subset, 10, S)
    assert classwise_videos(labels, loader.trainidx) == loader.classwiseidx
    assert all(len(v) == 4 or len(v) == 5 for v in loader.classwiseidx)


@pytest.mark.parametrize("seed", [0, 1, 3552])
def test_generator_batches_equal_the_port_on_a_shared_stream(seed):
    labels, subset, lengths = tiny_dataset(seed)
    loader = OriginalPairLoader(labels, subset, 10, S)
    ours, theirs = np.random.default_rng(seed), np.random.default_rng(seed)
    for _ in range(5):  # consecutive batches share one stream
        batch, rows = project_batch(labels, subset, lengths, ours)
        assert_same(batch, rows, loader.load_data(lengths, theirs, n_similar=3))
    assert ours.bit_generator.state == theirs.bit_generator.state


@pytest.mark.parametrize("seed", [0, 3552])
def test_a_random_state_reproduces_the_original_global_stream(seed):
    """The original draws from the legacy global ``np.random`` (sec. 2.5): a RandomState with the
    same seed passed to consecutive calls gives the same batches, row for row, and leaves the
    stream at the same place."""
    labels, subset, lengths = tiny_dataset(seed)
    loader = OriginalPairLoader(labels, subset, 10, S)
    saved = np.random.get_state()
    try:
        np.random.seed(seed)
        want = [loader.load_data(lengths, np.random, n_similar=3) for _ in range(5)]
        after = np.random.get_state()
    finally:
        np.random.set_state(saved)
    ours = np.random.RandomState(seed)
    for expect in want:
        batch, rows = project_batch(labels, subset, lengths, ours)
        assert_same(batch, rows, expect)
    state = ours.get_state()
    assert state[0] == after[0] and np.array_equal(state[1], after[1]) and state[2] == after[2]


def test_batch_counts_and_order():
    labels, subset, lengths = tiny_dataset(2)
    train = [i for i, s in enumerate(subset) if s == "validation"]
    classwise = classwise_videos(labels, train)
    rng = np.random.default_rng(5)
    repeated_class = False
    for _ in range(200):
        batch = class_pair_batch(classwise, train, 10, rng)
        assert batch.batch_size == 10 and batch.videos.shape == (10,)
        assert batch.classes.shape == (3,) and batch.random_positions.shape == (4,)
        for p, c in enumerate(batch.classes):  # positions 0-5: three pairs of distinct videos
            a, b = batch.videos[2 * p], batch.videos[2 * p + 1]
            assert a != b and a in classwise[c] and b in classwise[c]
        assert batch.videos[6:].tolist() == [train[r] for r in batch.random_positions]
        repeated_class |= len(set(batch.classes.tolist())) < 3
    assert repeated_class  # classes are drawn with replacement


def test_a_small_batch_is_raised_to_the_pairs():
    labels, subset, lengths = tiny_dataset(3)
    loader = OriginalPairLoader(labels, subset, 4, S)
    train = loader.trainidx
    ours, theirs = np.random.default_rng(0), np.random.default_rng(0)
    batch = class_pair_batch(classwise_videos(labels, train), train, 4, ours)
    idx, _, rand = loader.load_data(lengths, theirs, n_similar=3)
    assert batch.batch_size == 6 == loader.batch_size  # the original keeps the raised size
    assert batch.videos.tolist() == idx and batch.random_positions.shape == (0,) == rand.shape


def test_no_pairs_and_classes_too_small():
    labels, subset, _ = tiny_dataset(4)
    train = [i for i, s in enumerate(subset) if s == "validation"]
    batch = class_pair_batch(classwise_videos(labels, train), train, 5,
                             np.random.default_rng(0), num_similar=0)
    assert batch.classes.shape == (0,) and batch.videos.shape == (5,)
    with pytest.raises(ValueError, match="has 1 training videos; a pair needs 2"):
        class_pair_batch([[0], [1]], [0, 1], 10, np.random.default_rng(0))


class CountingRandomState(np.random.RandomState):
    """Counts the integers drawn by ``randint`` (one per bin with a choice, scalar or array)."""

    def __init__(self, seed):
        super().__init__(seed)
        self.calls = 0

    def randint(self, *args, **kwargs):
        out = super().randint(*args, **kwargs)
        self.calls += int(np.size(out))
        return out


@pytest.mark.parametrize("length,draws", [(S, 0), (S + 7, S), (3 * S, S), (S - 1, S - 2),
                                          (5, 4), (1, 0)])
def test_draws_per_video(length, draws):
    """S draws when T > S, T - 1 when T < S, none when T = S (sec. 2.2)."""
    rng = CountingRandomState(0)
    rows = perturb(length, S, rng)
    assert rng.calls == draws
    assert rows.shape == (S,) and np.all(np.diff(rows) >= 0)
    assert rows.min() >= 0 and rows.max() <= length - 1


@pytest.mark.parametrize("length", [S, S - 3, S + 9, 4 * S])
def test_co2_random_perturb_is_aicl_s(length):
    """CO2's ``random_perturb`` is the same function as AICL's: equal seeds, equal rows, through
    both literal ports and the project function."""
    draws = [np.random.default_rng(7) for _ in range(3)]
    loader = OriginalPairLoader(np.eye(2), ["validation", "validation"], 10, S)
    a = loader.random_perturb(length, draws[0])
    b = original_random_perturb(length, S, draws[1])
    c = random_perturb(length, S, draws[2])
    assert a.tolist() == b.tolist() == c.tolist()


def test_legacy_pair_draw_is_a_permutation_prefix():
    """Legacy ``choice(n, 2, replace=False)`` is the first two entries of a full permutation
    (sec. 2.1); a Generator's is not the same stream (the note of the module docstring)."""
    for seed in range(5):
        assert (np.random.RandomState(seed).choice(13, 2, replace=False).tolist()
                == np.random.RandomState(seed).permutation(13)[:2].tolist())
