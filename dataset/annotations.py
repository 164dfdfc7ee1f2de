"""Ground truth (gt.json) and split files of the ACM-Net layout -> one ``VideoInfo`` per video."""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from eval.inputs import read_split  # noqa: F401  (the one split reader, shared with eval)


@dataclass(frozen=True)
class VideoInfo:
    """One annotated video.

    labels: (C,) float32 multi-hot over the class list (derived from ``segments``, so it takes no part
    in equality); segments: (start_s, end_s, class_index) per annotated instance, in gt.json order.
    """
    video_id: str
    duration: float
    labels: np.ndarray = field(compare=False, repr=False)
    segments: tuple[tuple[float, float, int], ...]
    subset: str


def load_gt(gt_path: str | Path) -> dict[str, dict[str, Any]]:
    """The validated "database" mapping of ``gt_path``: video id -> {duration, subset, annotations}.

    Raises ValueError "<gt_path>: <problem>" for unreadable JSON or a malformed entry.
    """
    path = Path(gt_path)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(data, dict) or not isinstance(data.get("database"), dict):
        raise ValueError(f"{path}: expected an object with a 'database' mapping")
    database = data["database"]
    for video_id, entry in database.items():
        _check_entry(path, video_id, entry)
    return database


def _check_entry(path: Path, video_id: str, entry: Any) -> None:
    where = f"{path}: video {video_id!r}"
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: entry is not an object")
    duration = entry.get("duration")
    if not _is_number(duration) or not duration > 0:
        raise ValueError(f"{where}: 'duration' must be a positive number, got {duration!r}")
    if not isinstance(entry.get("subset"), str):
        raise ValueError(f"{where}: 'subset' must be a string, got {entry.get('subset')!r}")
    annotations = entry.get("annotations")
    if not isinstance(annotations, list):
        raise ValueError(f"{where}: 'annotations' must be a list")
    for k, ann in enumerate(annotations):
        if not isinstance(ann, dict) or not isinstance(ann.get("label"), str):
            raise ValueError(f"{where}: annotation {k} has no string 'label'")
        segment = ann.get("segment")
        if (not isinstance(segment, list) or len(segment) != 2
                or not all(_is_number(t) for t in segment)):
            raise ValueError(f"{where}: annotation {k} 'segment' must be [start, end] in seconds, "
                             f"got {segment!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and np.isfinite(value)


def load_videos(gt_path: str | Path, split_path: str | Path,
                class_names: Sequence[str], ids: Sequence[str] | None = None
                ) -> list[VideoInfo]:
    """The videos of ``split_path`` in split order (or of ``ids``, in their order, when given),
    annotated from ``gt_path``.

    Split videos missing from gt.json are skipped with one warning that counts and names them.
    Raises ValueError "<gt_path>: video ..: unknown label .." for a label not in ``class_names``.
    """
    database = load_gt(gt_path)
    class_index = {name: k for k, name in enumerate(class_names)}
    split = read_split(split_path) if ids is None else list(ids)
    missing = [video_id for video_id in split if video_id not in database]
    if missing:
        warnings.warn(f"{split_path}: {len(missing)} video(s) not in {gt_path}, skipped: "
                      f"{', '.join(missing)}", stacklevel=2)
    videos = []
    for video_id in split:
        if video_id in database:
            videos.append(_video_info(Path(gt_path), video_id, database[video_id], class_index))
    return videos


def _video_info(gt_path: Path, video_id: str, entry: dict[str, Any],
                class_index: dict[str, int]) -> VideoInfo:
    labels = np.zeros(len(class_index), dtype=np.float32)
    segments = []
    for ann in entry["annotations"]:
        label = ann["label"]
        if label not in class_index:
            raise ValueError(f"{gt_path}: video {video_id!r}: unknown label {label!r} "
                             f"(not one of the {len(class_index)} class names)")
        labels[class_index[label]] = 1.0
        segments.append((float(ann["segment"][0]), float(ann["segment"][1]), class_index[label]))
    return VideoInfo(video_id=video_id, duration=float(entry["duration"]), labels=labels,
                     segments=tuple(segments), subset=entry["subset"])
