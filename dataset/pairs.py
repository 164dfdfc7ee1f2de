"""FTCL's pair dataset: positive (identical label sets) and negative (disjoint) video pairs."""
from __future__ import annotations

import random
from typing import Any, Sequence

import numpy as np
import torch
from scipy import sparse
from torch.utils.data import Dataset

from dataset.annotations import VideoInfo
from dataset.features import FeatureStore
from dataset.videos import training_indices

def build_pairs(labels: np.ndarray, rng: random.Random) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j), i < j, of the rows of ``labels`` (N, C) multi-hot, as the original builds them.

    Positive: identical rows; negative: otherwise, rows sharing no class. Both lists are in row-major
    (i, then j) order; ``rng.sample`` keeps min(#negatives, #positives) negatives. Returns
    (pairs (P, 2) int64, is_positive (P,) bool): the sampled negatives first, then all positives.

    Only the sparse set of overlapping pairs is built (a sparse L @ L.T); the dense negatives are
    addressed by rank: the r-th negative of row i is found by skipping that row's overlapping columns.
    """
    labels = np.asarray(labels) != 0
    n = labels.shape[0]
    # All-zero rows overlap each other through an extra column: identical rows must stay positives.
    labels = np.concatenate([labels, ~labels.any(axis=1, keepdims=True)], axis=1)
    hot = sparse.csr_matrix(labels.astype(np.float32))
    overlap = sparse.triu(hot @ hot.T, k=1).tocsr()  # (N, N): pairs i < j sharing a class
    overlap.sort_indices()
    ptr, cols = overlap.indptr, overlap.indices.astype(np.int64)
    rows = np.repeat(np.arange(n), np.diff(ptr))

    _, group_of = np.unique(labels, axis=0, return_inverse=True)
    group_of = group_of.reshape(-1)
    same = group_of[rows] == group_of[cols]
    positives = np.stack([rows[same], cols[same]], axis=1)

    neg_per_row = (n - 1 - np.arange(n)) - np.diff(ptr)
    first_rank = np.concatenate([[0], np.cumsum(neg_per_row)])
    n_neg = int(first_rank[-1])
    ranks = np.asarray(rng.sample(range(n_neg), min(n_neg, len(positives))), dtype=np.int64)
    row = np.searchsorted(first_rank, ranks, side="right") - 1
    offset = ranks - first_rank[row]
    # Negatives of row i before its k-th overlapping column c_k: c_k - (i + 1) - k (non-decreasing).
    before = cols - (rows + 1) - (np.arange(len(cols)) - ptr[rows])
    key = rows * (n + 1) + before
    skipped = np.searchsorted(key, row * (n + 1) + offset, side="right") - ptr[row]
    negatives = np.stack([row, row + 1 + offset + skipped], axis=1)

    pairs = np.concatenate([negatives, positives]).astype(np.int64).reshape(-1, 2)
    is_positive = np.concatenate([np.zeros(len(negatives), bool), np.ones(len(positives), bool)])
    return pairs, is_positive


def pair_rng(seed: int, epoch: int) -> random.Random:
    """The Python RNG that draws the negatives of ``epoch``: ``random.Random(seed)`` for epoch 0
    (the original seeds Python's RNG with the run seed and samples once)."""
    return random.Random(seed if epoch == 0 else (int(seed) << 32) + int(epoch))


class PairDataset(Dataset):
    """FTCL training pairs: dict(features_0, features_1 (S, D) float32, label_0, label_1 (C,)).

    Default (original): pairs and each video's S snippet indices are drawn once (epoch 0) and reused
    every epoch. ``resample_each_epoch=True`` redraws both in ``set_epoch``. Snippet indices of video
    i for epoch e are those of ``VideoDataset`` (generator [seed, e, i]); features are read from
    ``store`` on access rather than held in RAM.
    """

    def __init__(self, videos: Sequence[VideoInfo], store: FeatureStore, num_segments: int,
                 seed: int = 0, resample_each_epoch: bool = False) -> None:
        self.videos = list(videos)
        self.store = store
        self.num_segments = int(num_segments)
        self.seed = int(seed)
        self.resample_each_epoch = resample_each_epoch
        if not self.videos:
            raise ValueError("PairDataset needs at least one video")
        self.labels = np.stack([v.labels for v in self.videos])
        self.draw_epoch = 0
        self.pairs, self.is_positive = build_pairs(self.labels, pair_rng(self.seed, 0))

    def set_epoch(self, epoch: int) -> None:
        """With ``resample_each_epoch``, redraw the pairs and snippet samples for ``epoch``."""
        if self.resample_each_epoch and epoch != self.draw_epoch:
            self.draw_epoch = int(epoch)
            self.pairs, self.is_positive = build_pairs(self.labels, pair_rng(self.seed, epoch))

    def __len__(self) -> int:
        return len(self.pairs)

    def _sampled(self, index: int) -> torch.Tensor:
        features = self.store.get(self.videos[index].video_id)
        picks = training_indices(features.shape[0], self.num_segments, self.seed,
                                 self.draw_epoch, index)
        return torch.from_numpy(features[picks].astype(np.float32))

    def __getitem__(self, k: int) -> dict[str, Any]:
        i, j = (int(v) for v in self.pairs[k])
        return {"features_0": self._sampled(i), "features_1": self._sampled(j),
                "label_0": torch.tensor(self.labels[i], dtype=torch.float32),
                "label_1": torch.tensor(self.labels[j], dtype=torch.float32)}
