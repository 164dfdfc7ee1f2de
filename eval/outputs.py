"""Saved test outputs: what the model saw in each test video (attention, CAS, video scores).

One compressed ``.npz`` file per evaluation, readable with ``np.load(allow_pickle=False)``:

- ``meta_json``: uint8 bytes of a UTF-8 JSON object (format marker, version, class names, the
  post-processing parameters, epoch, checkpoint; written by a run, also ``method``, the method's
  own thresholds in ``cls_threshold`` / ``cas_thresholds`` / ``att_thresholds`` with its
  ``class_rule``, and ``postprocess``, every post-processing setting, from which
  ``tools.relocalize`` rebuilds the method's parameters);
- ``video_ids``: (V,) fixed-width unicode; ``duration`` (V,) float64 seconds; ``num_snippets``
  (V,) int64, the snippet count of each video before test sampling;
- ``att``: (sum T_v, 3) float32, the [instance, context, background] attention of every video
  one after the other, with ``att_offsets`` (V+1,) int64 (video v owns rows
  ``att_offsets[v]:att_offsets[v+1]``);
- ``video_scores``: (V, C) float32 foreground video scores;
- ``classes`` / ``classes_offsets``: the class indices whose CAS column is kept for each video
  (the classes the localizer selects plus the ground-truth classes, sorted), ragged like ``att``;
- ``cas``: the kept CAS columns, each video's (T_v, K_v) block flattened row-major, with
  ``cas_offsets`` (V+1,);
- ``gt_classes`` / ``gt_offsets``: the ground-truth class indices of each video.

Arrays are stored as float32: the model's float32 outputs round-trip exactly, so the localizer
run on a saved video gives the detections of the test loop.
"""
from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from eval.inputs import match_id
from eval.proposals import select_classes
from utils.io import atomic_write

FORMAT = "ftcl-test-outputs"
VERSION = 1
REQUIRED_META = ("dataset", "class_names", "frames_per_sec", "segment_frames_num",
                 "cls_threshold", "cas_thresholds", "att_thresholds", "test_upgrade_scale",
                 "epoch", "checkpoint")
_ARRAYS = ("meta_json", "video_ids", "duration", "num_snippets", "att", "att_offsets",
           "video_scores", "classes", "classes_offsets", "cas", "cas_offsets", "gt_classes",
           "gt_offsets")
ATT_CHANNELS = ("instance", "context", "background")


def outputs_meta(args: Any, epoch: int | None = None,
                 checkpoint: str | os.PathLike | None = None) -> dict[str, Any]:
    """The ``OutputsWriter`` meta of a ``config.parse_args`` namespace (or any object with the
    same attributes)."""
    return {
        "dataset": str(args.dataset),
        "class_names": [str(c) for c in args.class_names],
        "frames_per_sec": int(args.frames_per_sec),
        "segment_frames_num": int(args.segment_frames_num),
        "cls_threshold": float(args.cls_threshold),
        "cas_thresholds": [float(t) for t in args.cas_thresholds],
        "att_thresholds": [float(t) for t in args.att_thresholds],
        "test_upgrade_scale": int(args.test_upgrade_scale),
        "epoch": None if epoch is None else int(epoch),
        "checkpoint": None if checkpoint is None else str(checkpoint),
    }


def _jsonable(value: Any) -> Any:
    """numpy scalars / arrays, tuples and paths -> JSON types."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


class OutputsWriter:
    """Collects the test outputs of each video and writes them as one compressed ``.npz``.

    Args:
        path: the file to write on :meth:`close` (e.g. ``out_dir / "outputs.npz"``).
        meta: the keys of ``REQUIRED_META`` (see :func:`outputs_meta`); other JSON-able keys are
            kept too.
    """

    def __init__(self, path: str | os.PathLike, meta: Mapping[str, Any]) -> None:
        missing = [key for key in REQUIRED_META if key not in meta]
        if missing:
            raise ValueError(f"{path}: outputs meta lacks {missing}")
        self.path = Path(path)
        self.meta = _jsonable(dict(meta))
        self.num_classes = len(self.meta["class_names"])
        self._ids: list[str] = []
        self._seen: set[str] = set()
        self._duration: list[float] = []
        self._num_snippets: list[int] = []
        self._att: list[np.ndarray] = []
        self._scores: list[np.ndarray] = []
        self._classes: list[np.ndarray] = []
        self._cas: list[np.ndarray] = []
        self._gt: list[np.ndarray] = []

    def add(self, video_id: str, duration: float, att: np.ndarray, cas: np.ndarray,
            video_scores: np.ndarray, gt_classes: Sequence[int],
            num_snippets: int | None = None, selected: Sequence[int] | None = None) -> None:
        """Store one video.

        att (T, 3) [instance, context, background] attention; cas (T, C) instance CAS without
        the background column; video_scores (C,) foreground video scores; gt_classes: the class
        indices of the video's ground truth; num_snippets: the video's snippet count before test
        sampling (the localizer's ``num_snippets``; default T, i.e. no sampling); selected: the
        classes the method's localizer cuts proposals for (default: ``select_classes`` at the
        meta ``cls_threshold``, ACM-Net's rule). Only the CAS columns of the selected and the
        ground-truth classes are kept.
        """
        video_id = str(video_id)
        att, cas = np.asarray(att), np.asarray(cas)
        video_scores = np.asarray(video_scores).reshape(-1)
        gt = np.unique(np.asarray(gt_classes, dtype=np.int64).reshape(-1))
        t = att.shape[0] if att.ndim == 2 else -1
        if att.ndim != 2 or att.shape[1] != 3 or t < 1:
            raise ValueError(f"{self.path}: video {video_id!r}: att must be (T, 3), got "
                             f"{att.shape}")
        if cas.shape != (t, self.num_classes) or video_scores.shape != (self.num_classes,):
            raise ValueError(f"{self.path}: video {video_id!r}: expected cas ({t}, "
                             f"{self.num_classes}) and video_scores ({self.num_classes},), got "
                             f"{cas.shape} and {video_scores.shape}")
        if gt.size and (gt[0] < 0 or gt[-1] >= self.num_classes):
            raise ValueError(f"{self.path}: video {video_id!r}: gt class out of range: "
                             f"{gt.tolist()}")
        if video_id in self._seen:
            raise ValueError(f"{self.path}: video {video_id!r} added twice")
        chosen = (select_classes(video_scores, self.meta["cls_threshold"]) if selected is None
                  else np.asarray(selected, dtype=np.int64).reshape(-1))
        if chosen.size and (chosen.min() < 0 or chosen.max() >= self.num_classes):
            raise ValueError(f"{self.path}: video {video_id!r}: selected class out of range: "
                             f"{chosen.tolist()}")
        kept = np.union1d(chosen, gt)
        self._seen.add(video_id)
        self._ids.append(video_id)
        self._duration.append(float(duration))
        self._num_snippets.append(t if num_snippets is None else int(num_snippets))
        self._att.append(att.astype(np.float32))
        self._scores.append(video_scores.astype(np.float32))
        self._classes.append(kept.astype(np.int64))
        self._cas.append(cas[:, kept].astype(np.float32).reshape(-1))
        self._gt.append(gt)

    def __len__(self) -> int:
        return len(self._ids)

    def close(self) -> Path:
        """Write the file atomically; returns its path."""
        arrays = {
            "meta_json": np.frombuffer(json.dumps(
                {"format": FORMAT, "version": VERSION, **self.meta}).encode(), dtype=np.uint8),
            "video_ids": np.array(self._ids, dtype=str).reshape(-1),
            "duration": np.array(self._duration, dtype=np.float64),
            "num_snippets": np.array(self._num_snippets, dtype=np.int64),
            "video_scores": (np.stack(self._scores) if self._scores
                             else np.zeros((0, self.num_classes), np.float32)),
        }
        for name, parts, width in (("att", self._att, 3), ("classes", self._classes, None),
                                   ("cas", self._cas, None), ("gt", self._gt, None)):
            key = "gt_classes" if name == "gt" else name
            dtype = np.int64 if name in ("classes", "gt") else np.float32
            empty = np.zeros((0, width) if width else 0, dtype)
            arrays[key] = np.concatenate(parts) if parts else empty
            arrays[f"{name}_offsets"] = np.concatenate(
                [[0], np.cumsum([len(p) for p in parts], dtype=np.int64)]).astype(np.int64)
        return atomic_write(self.path, lambda f: np.savez_compressed(f, **arrays))


@dataclass(frozen=True)
class VideoOutputs:
    """One saved video. att (T, 3); video_scores (C,); classes (K,) class indices of the kept CAS
    columns; cas (T, K); gt_classes (G,)."""

    video_id: str
    duration: float
    num_snippets: int
    att: np.ndarray
    video_scores: np.ndarray
    classes: np.ndarray
    cas: np.ndarray
    gt_classes: np.ndarray

    def snippet_times(self, frames_per_sec: int, segment_frames_num: int) -> np.ndarray:
        """(T,) start time in seconds of each stored snippet, on the localizer's time axis (a
        stored snippet i covers ``i * segment_frames_num * num_snippets / (frames_per_sec * T)``
        seconds onwards)."""
        t = self.att.shape[0]
        return np.arange(t) * (segment_frames_num * self.num_snippets / (frames_per_sec * t))

    def cas_of(self, class_index: int) -> np.ndarray:
        """(T,) CAS of one kept class."""
        column = np.flatnonzero(self.classes == class_index)
        if not column.size:
            raise KeyError(f"video {self.video_id!r}: class {class_index} was not saved "
                           f"(saved: {self.classes.tolist()})")
        return self.cas[:, int(column[0])]


@dataclass(frozen=True)
class Outputs:
    """A loaded outputs file: its meta and its videos in file order."""

    path: Path
    meta: dict[str, Any]
    videos: list[VideoOutputs]

    @property
    def class_names(self) -> list[str]:
        return list(self.meta["class_names"])

    @property
    def video_ids(self) -> list[str]:
        return [v.video_id for v in self.videos]

    def __getitem__(self, video_id: str) -> VideoOutputs:
        for video in self.videos:
            if video.video_id == video_id:
                return video
        raise KeyError(f"{self.path}: no video {video_id!r}")


def _offsets(arrays: Mapping[str, np.ndarray], name: str, total: int, num: int) -> np.ndarray:
    offsets = np.asarray(arrays[name])
    if (offsets.shape != (num + 1,) or not np.issubdtype(offsets.dtype, np.integer)
            or offsets[0] != 0 or offsets[-1] != total or np.any(np.diff(offsets) < 0)):
        raise ValueError(f"'{name}' does not partition its {total} rows into {num} videos")
    return offsets


def _parse(arrays: Mapping[str, np.ndarray], path: Path) -> Outputs:
    missing = [k for k in _ARRAYS if k not in arrays]
    if missing:
        raise ValueError(f"missing arrays {missing}")
    try:
        meta = json.loads(np.asarray(arrays["meta_json"], dtype=np.uint8).tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError, TypeError):
        raise ValueError("'meta_json' is not JSON text") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} file")
    if meta.get("version") != VERSION:
        raise ValueError(f"version {meta.get('version')!r}, this code reads version {VERSION}")
    lacking = [k for k in REQUIRED_META if k not in meta]
    if lacking:
        raise ValueError(f"meta lacks {lacking}")
    names = meta["class_names"]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError("meta 'class_names' is not a list of strings")
    ids = np.asarray(arrays["video_ids"])
    num, num_classes = len(ids), len(meta["class_names"])
    att, scores, cas = arrays["att"], arrays["video_scores"], arrays["cas"]
    if ids.dtype.kind != "U" or ids.ndim != 1:
        raise ValueError("'video_ids' is not a 1-d string array")
    if att.ndim != 2 or att.shape[1] != 3:
        raise ValueError(f"'att' has shape {att.shape}, expected (N, 3)")
    if scores.shape != (num, num_classes):
        raise ValueError(f"'video_scores' has shape {scores.shape}, expected ({num}, "
                         f"{num_classes})")
    if arrays["duration"].shape != (num,) or arrays["num_snippets"].shape != (num,):
        raise ValueError("'duration' / 'num_snippets' do not have one value per video")
    att_off = _offsets(arrays, "att_offsets", len(att), num)
    cls_off = _offsets(arrays, "classes_offsets", len(arrays["classes"]), num)
    cas_off = _offsets(arrays, "cas_offsets", cas.size, num)
    gt_off = _offsets(arrays, "gt_offsets", len(arrays["gt_classes"]), num)
    lengths, widths = np.diff(att_off), np.diff(cls_off)
    if np.any(np.diff(cas_off) != lengths * widths):
        raise ValueError("'cas' blocks do not match the videos' lengths and classes")
    videos = []
    for v in range(num):
        t, k = int(lengths[v]), int(widths[v])
        videos.append(VideoOutputs(
            video_id=str(ids[v]), duration=float(arrays["duration"][v]),
            num_snippets=int(arrays["num_snippets"][v]), att=att[att_off[v]:att_off[v + 1]],
            video_scores=scores[v], classes=arrays["classes"][cls_off[v]:cls_off[v + 1]],
            cas=cas[cas_off[v]:cas_off[v + 1]].reshape(t, k),
            gt_classes=arrays["gt_classes"][gt_off[v]:gt_off[v + 1]]))
    return Outputs(path=path, meta=meta, videos=videos)


def load_outputs(path: str | os.PathLike) -> Outputs:
    """Read an outputs file written by :class:`OutputsWriter` (no pickle).

    Raises FileNotFoundError / ValueError "<path>: <problem>" on a missing or malformed file.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not an outputs file")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such outputs file")
    try:
        with np.load(path, allow_pickle=False) as data:
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise ValueError("a single array, not an .npz archive")
            arrays = {k: data[k] for k in data.files}
        return _parse(arrays, path)
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as err:
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(f"{path}: not a readable outputs file ({message})") from None


def check_videos(outputs: Outputs, videos: Iterable[str], source: str,
                 exact: bool = True) -> None:
    """ValueError "<outputs path>: ..." unless the outputs hold exactly ``videos`` (or, with
    ``exact=False``, only videos among them); ids match with or without the "v_" prefix.
    ``source`` names where ``videos`` come from."""
    theirs = list(dict.fromkeys(videos))
    ours = outputs.video_ids
    their_index = {v: i for i, v in enumerate(theirs)}
    our_index = {v: i for i, v in enumerate(ours)}
    only_ours = [v for v in ours if match_id(v, their_index) < 0]
    only_theirs = [v for v in theirs if match_id(v, our_index) < 0] if exact else []
    if only_theirs or only_ours:
        raise ValueError(f"{outputs.path}: videos do not match {source}: "
                         + (f"{len(only_theirs)} only in {source} (e.g. {only_theirs[:3]}), "
                            if exact else "")
                         + f"{len(only_ours)} in the outputs but not in {source} "
                         f"(e.g. {only_ours[:3]})")
