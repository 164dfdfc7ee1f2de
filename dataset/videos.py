"""Single-video dataset of ACM-Net: random snippet sampling for training, uniform for testing."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from dataset.annotations import VideoInfo
from dataset.features import FeatureStore
from dataset.sampling import random_sample, uniform_sample


def training_indices(length: int, num_segments: int, seed: int, epoch: int,
                     index: int) -> np.ndarray:
    """The (num_segments,) snippet indices of video ``index`` in ``epoch``: ``random_sample`` with
    the generator ``default_rng([seed, epoch, index])``, independent of workers, order and resume."""
    return random_sample(length, num_segments, np.random.default_rng([seed, epoch, index]))


class VideoDataset(Dataset):
    """One item per video of ``videos``, features read from ``store`` on every access.

    train=True: dict(features (S, D) float32, label (C,) float32), S = ``num_segments`` snippets
    drawn afresh each epoch (call ``set_epoch``). train=False: dict(video_id, features (T_in, D)
    float32 from ``uniform_sample``, label (C,), length = original T, duration in seconds).
    """

    def __init__(self, videos: Sequence[VideoInfo], store: FeatureStore, num_segments: int,
                 train: bool, seed: int = 0) -> None:
        self.videos = list(videos)
        self.store = store
        self.num_segments = int(num_segments)
        self.train = train
        self.seed = int(seed)
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
            picks = training_indices(length, self.num_segments, self.seed, self.epoch, index)
            return {"features": torch.from_numpy(features[picks].astype(np.float32)),
                    "label": label}
        picks = uniform_sample(length, self.num_segments)
        return {"video_id": video.video_id,
                "features": torch.from_numpy(features[picks].astype(np.float32)),
                "label": label, "length": length, "duration": video.duration}
