"""CO2-Net's data in the engine: the video lists of the W-TALC arrays and the class-pair training
batches, one per step (spec ``co2-stcl-behaviour.md`` sec. 1.3, 1.6, 2.1-2.3, 2.5).

- :func:`wtalc_split_ids` (the record's ``split_ids``): train = every training video, test =
  every test video of ``videoname.npy`` / ``subset.npy``, in array order. THUMOS'14
  (``SampleDataset``, ``C:wsad_dataset.py:62-69``): subsets ``validation`` / ``test``, the 200
  training and **212** test videos (the ACM-Net split file lists 210: it lacks
  ``video_test_0000270`` and ``video_test_0001496``, which the original predicts on and scores).
  ActivityNet 1.2 (``AntSampleDataset``, ``:282-287``): subsets ``training`` / ``validation``,
  and the test list keeps only videos of more than 10 feature rows (``filter()``, ``:268-281``;
  their ground truth is still scored, ``eval.wtalc``).
- :class:`ClassPairBatches` (the record's ``train_batches``): each step draws one class-pair
  batch (``dataset.class_pair_sampler``: 3 classes with replacement, 2 distinct videos each, then
  B - 6 random training videos), resamples every video to S rows with ``random_perturb`` in batch
  order, crops the batch to the longest count of non-zero rows (``C:train.py:17-18``, a no-op on
  real features), and gives ``features`` (B, S, D) float32 and ``label`` (B, C) float32, the
  multi-hot of ``labels_all.npy`` (the original's training labels, which differ from the segment
  labels of gt.json on 8 THUMOS training videos). On ActivityNet 1.2 (Q25) the per-class lists of
  the pairs skip the training videos whose features sum to exactly 0 but keep the short ones
  (the mapping runs before ``filter()``), and the random picks come from the videos of more than
  10 rows, zero-sum ones included (``:261-267,293-294``).

Random stream: a ``numpy.random.RandomState(seed)`` private to the sampler, drawn with the legacy
calls of the original's ``load_data``. The original seeds numpy's global stream with
``np.random.seed(3552)`` and nothing else draws from it before or between its batches (its test
loop draws nothing), so these are the original's batches, index for index, for the same training
list and seed (checked against the literal port in ``tests/test_co2_sampling.py``). The stream's
state is saved in every checkpoint (``state_dict``), so ``--resume`` continues it exactly. What
cannot be reproduced (spec sec. 2.5): the initial weights and the dropout masks, which the original
draws from the CUDA generator.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch

from dataset.class_pair_sampler import batch_rows, class_pair_batch, classwise_videos
from dataset.features import open_feature_store
from eval.wtalc import LAYOUTS, find_annotations
from methods.co2net.settings import ORIGINALS

LABELS_ALL = "labels_all.npy"


def annotations_folder(cfg: Any) -> Path:
    """The W-TALC annotation folder of a run: ``--wtalc_annotations``, else
    ``<data_dir>/<name>-Annotations`` of the dataset's layout (``Thumos14reduced``,
    ``ActivityNet1.2``); a one-line FileNotFoundError when missing."""
    folder = find_annotations(cfg.data.data_dir, cfg.eval.wtalc_annotations, cfg.dataset)
    if folder is None or not folder.is_dir():
        name = LAYOUTS[cfg.dataset].annotations_folder
        where = (f"--wtalc_annotations {cfg.eval.wtalc_annotations}" if folder is not None
                 else f"no {Path(cfg.data.data_dir) / name}")
        example = f"data/THUMOS14/{name}" if cfg.dataset == "THUMOS" else f"<data>/{name}"
        raise FileNotFoundError(f"--method co2net needs the W-TALC annotation arrays: {where} "
                                f"(pass --wtalc_annotations DIR, e.g. {example}, or run with "
                                f"--synthetic)")
    return folder


def _array(folder: Path, name: str, pickled: bool = False) -> np.ndarray:
    path = folder / name
    if not path.is_file():
        raise FileNotFoundError(f"{path}: W-TALC file not found (--method co2net reads it)")
    try:
        return np.load(path, allow_pickle=pickled)
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(f"{path}: cannot read ({err})") from None


def _strings(array: np.ndarray) -> list[str]:
    return [x.decode("utf-8") if isinstance(x, bytes) else str(x) for x in array.reshape(-1)]


def wtalc_split_ids(cfg: Any, split: str) -> list[str]:
    """The ids of ``split`` ("train" | "test") in the W-TALC arrays' order (module docstring):
    the dataset's training or test subset; the test list without the videos of at most
    ``short_video_rows`` feature rows (ActivityNet 1.2: 10; THUMOS'14: 0, none)."""
    folder = annotations_folder(cfg)
    names = _strings(_array(folder, "videoname.npy"))
    subsets = _strings(_array(folder, "subset.npy"))
    if len(names) != len(subsets):
        raise ValueError(f"{folder}: videoname.npy and subset.npy differ in length "
                         f"({len(names)}, {len(subsets)})")
    layout = LAYOUTS[cfg.dataset]
    subset = layout.train_subset if split == "train" else layout.test_subset
    ids = [name for name, s in zip(names, subsets) if s == subset]
    shortest = int(ORIGINALS[cfg.dataset]["short_video_rows"])
    if split == "test" and shortest and ids:
        store = open_feature_store(cfg.data.data_dir, "test", cfg.data.feature_dim,
                                   cfg.data.feature_format)
        ids = [name for name in ids if store.get(name).shape[0] > shortest]
    if not ids:
        raise ValueError(f"{folder}: no video of subset {subset!r}"
                         + (f" with more than {shortest} feature rows" if shortest else ""))
    return ids


def labels_all(folder: Path, class_names: Sequence[str], video_ids: Sequence[str]
               ) -> np.ndarray:
    """(N, C) float32 multi-hot of ``labels_all.npy`` for ``video_ids`` (the original's
    ``strlist2multihot``); the class list must be the run's, in its order."""
    classes = _strings(_array(folder, "classlist.npy"))
    if classes != list(class_names):
        raise ValueError(f"{folder / 'classlist.npy'}: its classes differ from the run's "
                         f"{len(class_names)} class names")
    names = _strings(_array(folder, "videoname.npy"))
    per_video = _array(folder, LABELS_ALL, pickled=True).reshape(-1)
    if len(per_video) != len(names):
        raise ValueError(f"{folder / LABELS_ALL}: {len(per_video)} entries, videoname.npy "
                         f"names {len(names)}")
    row = {name: k for k, name in enumerate(names)}
    index = {name: k for k, name in enumerate(classes)}
    out = np.zeros((len(video_ids), len(classes)), dtype=np.float32)
    for i, video_id in enumerate(video_ids):
        if video_id not in row:
            raise ValueError(f"{folder / 'videoname.npy'}: no video {video_id!r}")
        for label in per_video[row[video_id]]:
            label = label.decode("utf-8") if isinstance(label, bytes) else str(label)
            if label not in index:
                raise ValueError(f"{folder / LABELS_ALL}: video {video_id!r}: unknown label "
                                 f"{label!r}")
            out[i, index[label]] = 1.0
    return out


class ClassPairBatches:
    """The record's ``train_batches`` (``methods.record.BatchSource``): ``steps_per_epoch``
    class-pair batches per epoch from one legacy RandomState stream (module docstring).

    train: the training ``engine.data.Split``; cfg: the run config (batch_size, steps_per_epoch,
    num_similar, similar_size, sample_segments_num, seed, the W-TALC folder, the dataset).
    Lists, as positions in the training list: ``classwise`` per class, the videos its pairs are
    drawn from (``classwiseidx``); ``train`` the videos of the random picks (``trainidx`` after
    ``filter()``; on THUMOS'14 every training video).
    """

    def __init__(self, train: Any, cfg: Any) -> None:
        self.videos = [v.video_id for v in train.videos]
        if not self.videos:
            raise ValueError("--method co2net: no training video")
        self.store = train.store
        self.labels = labels_all(annotations_folder(cfg), cfg.class_names, self.videos)
        self.lengths = [int(self.store.get(v).shape[0]) for v in self.videos]
        rules = ORIGINALS[cfg.dataset]      # SampleDataset's or AntSampleDataset's lists
        paired = [i for i, v in enumerate(self.videos)
                  if not (rules["skip_zero_videos"] and self.store.get(v).sum() == 0)]
        self.classwise = classwise_videos(self.labels, paired)
        self.train = [i for i, length in enumerate(self.lengths)
                      if length > int(rules["short_video_rows"])]
        self.num_similar = int(cfg.data.num_similar)
        self.similar_size = int(cfg.data.similar_size)
        short = [cfg.class_names[c] for c, members in enumerate(self.classwise)
                 if len(members) < self.similar_size]
        if self.num_similar and short:
            raise ValueError(f"--method co2net: the class-pair sampler needs >= "
                             f"{self.similar_size} training videos of every class "
                             f"(labels_all.npy); too few: {', '.join(short)}")
        self.batch_size = int(cfg.train.batch_size)
        self.num_segments = int(cfg.data.sample_segments_num)
        self.steps_per_epoch = int(cfg.train.steps_per_epoch)
        self.rng = np.random.RandomState(int(cfg.run.seed))

    def draw(self) -> tuple[np.ndarray, dict[str, torch.Tensor]]:
        """One batch: (its positions in the training list, the batch dict)."""
        batch = class_pair_batch(self.classwise, self.train, self.batch_size,
                                 self.rng, self.num_similar, self.similar_size)
        rows = batch_rows([self.lengths[int(i)] for i in batch.videos], self.num_segments,
                          self.rng)
        feats = np.stack([self.store.get(self.videos[int(i)])[r]
                          for i, r in zip(batch.videos, rows)])
        seq_len = np.sum(np.max(np.abs(feats), axis=2) > 0, axis=1)   # the original's crop
        feats = feats[:, :int(np.max(seq_len))]
        return batch.videos, {"features": torch.from_numpy(feats.astype(np.float32)),
                              "label": torch.from_numpy(self.labels[batch.videos])}

    def epoch_batches(self, epoch: int) -> Iterator[dict[str, torch.Tensor]]:
        """``steps_per_epoch`` batches, drawn as they are iterated (the stream goes on from the
        previous epoch's; ``epoch`` itself is not used)."""
        for _ in range(self.steps_per_epoch):
            yield self.draw()[1]

    def state_dict(self) -> dict[str, Any]:
        """The RandomState's state in types ``torch.load(weights_only=True)`` accepts."""
        name, keys, pos, has_gauss, cached = self.rng.get_state()
        return {"legacy_rng": [name, torch.from_numpy(keys.astype(np.int64)), int(pos),
                               int(has_gauss), float(cached)]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        name, keys, pos, has_gauss, cached = state["legacy_rng"]
        self.rng.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))


__all__ = ["ClassPairBatches", "annotations_folder", "labels_all", "wtalc_split_ids"]
