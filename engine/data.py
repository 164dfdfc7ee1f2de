"""The data of a run: annotations and feature stores of both splits, checked before any work,
the held-out part of the training split, the training dataset of the stage, and loaders.

A split is annotated from ``<data_dir>/gt.json``, or, for a data folder in the W-TALC layout alone
(the features file and its ``<name>-Annotations/`` arrays, no gt.json, e.g. CO2-Net's ActivityNet
1.2) when the method lists the split's videos itself, from the arrays (:func:`wtalc_videos`)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from dataset.annotations import VideoInfo, load_videos, read_split
from dataset.features import FeatureStore, WtalcStore, check_features, open_feature_store
from dataset.heldout import fraction_lines, split_videos
from dataset.pairs import PairDataset
from dataset.videos import VideoDataset
from eval.wtalc import wtalc_database
from utils.seeding import epoch_generator, worker_init_fn


@dataclass
class Split:
    """One split: its annotated videos, its feature store and the ids its split file lists."""

    videos: list[VideoInfo]
    store: FeatureStore
    ids: list[str]


def _data_files(data_dir: Path, split: str) -> tuple[Path, Path]:
    if not data_dir.is_dir():
        raise FileNotFoundError(f"--data_dir {data_dir}: folder not found (see the README's data "
                                "preparation, or run with --synthetic)")
    gt_path, split_path = data_dir / "gt.json", data_dir / f"split_{split}.txt"
    for path in (gt_path, split_path):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: file not found (expected in --data_dir)")
    return gt_path, split_path


def _store(data: SimpleNamespace, split: str, hint: str) -> FeatureStore:
    try:
        return open_feature_store(data.data_dir, split, data.feature_dim, data.feature_format)
    except FileNotFoundError as err:
        raise FileNotFoundError(f"{err}; {hint}") from None


def wtalc_videos(folder: Path, class_names: Sequence[str], ids: Sequence[str]
                 ) -> list[VideoInfo]:
    """The videos ``ids``, in that order, annotated from the W-TALC arrays of ``folder``
    (``eval.wtalc.wtalc_database``: duration, subset, segments in seconds); the labels are the
    multi-hot (C,) of the segment labels over ``class_names``, as a gt.json video's. An id the
    arrays lack, or a label outside ``class_names``, is a one-line ValueError naming the file."""
    database = wtalc_database(folder)["database"]
    index = {name: c for c, name in enumerate(class_names)}
    videos = []
    for video_id in ids:
        entry = database.get(video_id)
        if entry is None:
            raise ValueError(f"{folder / 'videoname.npy'}: no video {video_id!r}")
        segments = []
        for ann in entry["annotations"]:
            if ann["label"] not in index:
                raise ValueError(f"{folder / 'labels.npy'}: video {video_id!r}: label "
                                 f"{ann['label']!r} is not one of the run's {len(index)} classes")
            segments.append((ann["segment"][0], ann["segment"][1], index[ann["label"]]))
        labels = np.zeros(len(index), dtype=np.float32)
        labels[[c for _, _, c in segments]] = 1.0
        videos.append(VideoInfo(video_id=video_id, duration=entry["duration"], labels=labels,
                                segments=tuple(segments), subset=entry["subset"]))
    return videos


def load_split(data: SimpleNamespace, class_names: Sequence[str], split: str,
               ids: Sequence[str] | None = None) -> Split:
    """Annotations and feature store of ``split`` ("train" or "test"); every feature file is
    checked (exists, readable header, width, length > 0) by cheap header reads. ``ids``: the
    split's videos when the method lists them itself (its record's ``split_ids``), else
    ``split_<split>.txt``. Without a gt.json, a W-TALC store (with ``ids``) is annotated from
    the arrays beside its ``videoname.npy`` (module docstring)."""
    data_dir = Path(data.data_dir)
    if ids is not None and data_dir.is_dir() and not (data_dir / "gt.json").is_file():
        store = _store(data, split, "add the features or run with --synthetic")
        if isinstance(store, WtalcStore):
            videos = wtalc_videos(store.videoname_path.parent, class_names, ids)
            check_features(store, [v.video_id for v in videos], source=f"{split} split")
            return Split(videos=videos, store=store, ids=list(ids))
    gt_path, split_path = _data_files(data_dir, split)
    videos = load_videos(gt_path, split_path, class_names, ids)
    store = _store(data, split, "the annotations ship with the repository, the features do not: "
                                "add them (README: data preparation) or run with --synthetic")
    check_features(store, [v.video_id for v in videos], source=f"{split} split")
    return Split(videos=videos, store=store,
                 ids=read_split(split_path) if ids is None else list(ids))


def hold_out(train: Split, data: SimpleNamespace) -> tuple[Split, Split | None]:
    """(training part, held-out part) of the training split by ``--heldout_fraction`` (its own
    seed ``--heldout_seed``); no held-out part when the fraction is 0. Prints the realised
    fraction, with a warning line when the per-class rounding moves it far from the request."""
    if not data.heldout_fraction:
        return train, None
    kept, held = split_videos(train.videos, data.heldout_fraction, data.heldout_seed)
    for line in fraction_lines(data.heldout_fraction, len(held), len(train.videos)):
        print(line)
    return (Split(kept, train.store, [v.video_id for v in kept]),
            Split(held, train.store, [v.video_id for v in held]))


def training_dataset(stage: str, train: Split, data: SimpleNamespace, seed: int) -> Dataset:
    """The single-video dataset (ACM stage, AICL; ``--train_sampler``) or the FTCL pair dataset
    (pair stage)."""
    if stage == "pair":
        pairs = PairDataset(train.videos, train.store, data.sample_segments_num, seed=seed,
                            resample_each_epoch=data.resample_pairs)
        if len(pairs) == 0:
            raise ValueError(f"{data.data_dir}: no two training videos share the same label set, "
                             "so --ftcl has no positive pairs to train on")
        return pairs
    return VideoDataset(train.videos, train.store, data.sample_segments_num, train=True, seed=seed,
                        train_sampler=data.train_sampler)


def test_dataset(split: Split, data: SimpleNamespace) -> Dataset:
    """Test videos sampled by ``--test_sampler``, with their id, length and duration."""
    return VideoDataset(split.videos, split.store, data.sample_segments_num, train=False,
                        test_sampler=data.test_sampler)


def make_loader(dataset: Dataset, data: SimpleNamespace, device: torch.device, *,
                batch_size: int, shuffle: bool, seed: int = 0, epoch: int = 0) -> DataLoader:
    """A DataLoader whose shuffle order depends on (seed, epoch) only, so a resumed run draws the
    same batches."""
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle,
                      generator=epoch_generator(seed, epoch) if shuffle else None,
                      num_workers=data.num_workers, worker_init_fn=worker_init_fn,
                      pin_memory=device.type == "cuda", drop_last=False)


__all__: list[Any] = ["Split", "hold_out", "load_split", "make_loader", "test_dataset",
                      "training_dataset", "wtalc_videos"]
