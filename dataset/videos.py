"""Single-video dataset: random snippet sampling for training, deterministic for testing, with the
samplers of ACM-Net / FTCL (``dataset.sampling``) or of AICL (``dataset.aicl_sampling``)."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from dataset.aicl_sampling import random_perturb, uniform_sampling
from dataset.annotations import VideoInfo
from dataset.features import FeatureStore
from dataset.sampling import random_sample, uniform_sample

TRAIN_SAMPLERS: dict[str, Callable[[int, int, np.random.Generator], np.ndarray]] = {
    "random_sample": random_sample,      # ACM-Net / FTCL: S sorted random picks
    "random_perturb": random_perturb,    # AICL: one pick per bin, inclusive bins
}
"""``--train_sampler`` name -> ``sampler(length, num, rng) -> (num,) int64 indices``."""
TEST_SAMPLERS: dict[str, Callable[[int, int], np.ndarray]] = {
    "uniform_sample": uniform_sample,        # ACM-Net / FTCL: short videos kept whole
    "uniform_sampling": uniform_sampling,    # AICL: always num rows, short videos repeated
    "full": lambda length, num: np.arange(length, dtype=np.int64),  # CO2-Net: every snippet
}
"""``--test_sampler`` name -> ``sampler(length, num) -> (T_in,) int64 indices``."""


def training_indices(length: int, num_segments: int, seed: int, epoch: int, index: int,
                     sampler: str = "random_sample") -> np.ndarray:
    """The (num_segments,) snippet indices of video ``index`` in ``epoch``: the training sampler
    ``sampler`` with the generator ``default_rng([seed, epoch, index])``, independent of workers,
    order and resume."""
    return TRAIN_SAMPLERS[sampler](length, num_segments,
                                   np.random.default_rng([seed, epoch, index]))


class VideoDataset(Dataset):
    """One item per video of ``videos``, features read from ``store`` on every access.

    train=True: dict(features (S, D) float32, label (C,) float32), S = ``num_segments`` snippets
    drawn afresh each epoch (call ``set_epoch``) by ``train_sampler``. train=False:
    dict(video_id, features (T_in, D) float32 from ``test_sampler``, label (C,), length = original
    T, duration in seconds). Samplers by name: :data:`TRAIN_SAMPLERS`, :data:`TEST_SAMPLERS`.
    """

    def __init__(self, videos: Sequence[VideoInfo], store: FeatureStore, num_segments: int,
                 train: bool, seed: int = 0, train_sampler: str = "random_sample",
                 test_sampler: str = "uniform_sample") -> None:
        for name, known in ((train_sampler, TRAIN_SAMPLERS), (test_sampler, TEST_SAMPLERS)):
            if name not in known:
                raise ValueError(f"unknown snippet sampler {name!r}; known: "
                                 f"{', '.join(sorted(known))}")
        self.videos = list(videos)
        self.store = store
        self.num_segments = int(num_segments)
        self.train = train
        self.seed = int(seed)
        self.train_sampler = train_sampler
        self.test_sampler = TEST_SAMPLERS[test_sampler]
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose training samples ``__getitem__`` draws."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, index: int) -> dict[str, Any]:
        video = self.videos[index]
        features = self.store.get(video.video_id)
        length = features.shape[0]
        label = torch.tensor(video.labels, dtype=torch.float32)
        if self.train:
            picks = training_indices(length, self.num_segments, self.seed, self.epoch, index,
                                     self.train_sampler)
            return {"features": torch.from_numpy(features[picks].astype(np.float32)),
                    "label": label}
        picks = self.test_sampler(length, self.num_segments)
        return {"video_id": video.video_id,
                "features": torch.from_numpy(features[picks].astype(np.float32)),
                "label": label, "length": length, "duration": video.duration}
