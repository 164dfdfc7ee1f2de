"""The inputs of both detection protocols, read one way: JSON files, the gt.json "database", the
evaluated ground truth, results given as a dict or a path, and video ids matched with or without
ActivityNet's "v_" prefix.

Used by ``eval.detection`` (ActivityNet-style protocol), ``eval.thumos14`` (official protocol),
``eval.pr`` (precision-recall curves, through ``eval.detection``), ``eval.plot`` and
``eval.outputs``. Conventions (documented in the README):

- ``subset="auto"``: "test" if the ground truth has it, else "val", else "validation", else the
  only subset present (``resolve_subset``).
- ground-truth videos: every video of the subset (original), or only ``split_videos``; split
  videos missing from the subset are skipped with one warning (``evaluated_ground_truth``).
"""
from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from eval.results import results_arrays

GtSource = str | os.PathLike | Mapping[str, Any]
ResultsSource = str | os.PathLike | Mapping[str, Any]


def load_json(path: str | os.PathLike) -> Any:
    """The JSON value in ``path``; ValueError "<path>: not valid JSON (...)" when it is not."""
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None


def read_split(split_path: str | os.PathLike) -> list[str]:
    """Video ids of a split file (``split_train.txt``, ``split_test.txt``): one per line,
    stripped, blank lines ignored."""
    with open(split_path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def read_database(gt: GtSource) -> tuple[dict[str, Any], str]:
    """The "database" mapping of a gt.json (path, or the loaded dict) and a name for messages."""
    source = "<ground-truth dict>" if isinstance(gt, Mapping) else str(gt)
    obj = gt if isinstance(gt, Mapping) else load_json(gt)
    db = obj.get("database") if isinstance(obj, Mapping) else None
    if not isinstance(db, Mapping):
        raise ValueError(f"{source}: not a ground-truth file (no 'database' mapping)")
    return dict(db), source


def database_labels(db: Mapping[str, Any]) -> set[str]:
    """Every annotation label of a gt "database" mapping (all subsets)."""
    return {a.get("label") for v in db.values() if isinstance(v, Mapping)
            for a in v.get("annotations", []) if isinstance(a, Mapping)}


def resolve_subset(database: Mapping[str, Any], subset: str = "auto") -> str:
    """``subset`` itself, or for "auto" the evaluation subset present: test > val > validation >
    the only one."""
    present = {v.get("subset") for v in database.values()}
    if subset != "auto":
        return subset
    for name in ("test", "val", "validation"):
        if name in present:
            return name
    if len(present) == 1:
        return str(present.pop())
    raise ValueError(f"cannot choose an evaluation subset among {sorted(map(str, present))}; "
                     "pass one")


def match_id(video: str, known: Mapping[str, int]) -> int:
    """Index of ``video`` in ``known``, with or without ActivityNet's "v_" prefix; -1 if absent."""
    for candidate in (video, "v_" + video, video[2:] if video.startswith("v_") else None):
        if candidate is not None and candidate in known:
            return known[candidate]
    return -1


@dataclass
class GroundTruth:
    """Evaluated ground truth: videos (V,), per instance video (G,), class (G,), segment (G, 2)."""

    videos: list[str]
    video: np.ndarray
    label: np.ndarray
    segment: np.ndarray
    class_names: list[str]


def evaluated_ground_truth(db: Mapping[str, Any], source: str, subset: str,
                           class_names: Sequence[str] | None,
                           split_videos: Iterable[str] | None,
                           stacklevel: int = 2) -> GroundTruth:
    """Instances of the evaluated videos in file order, classes by name (``class_names`` order,
    else first appearance as the original) restricted to the classes present. ``stacklevel``:
    where the split warning points, counted as ``warnings.warn`` would from the caller (1: the
    caller, 2: its caller)."""
    videos = [v for v, info in db.items() if isinstance(info, Mapping)
              and info.get("subset") == subset]
    if split_videos is not None:
        index = {v: i for i, v in enumerate(videos)}
        wanted = [(s, match_id(s, index)) for s in split_videos]
        missing = [s for s, i in wanted if i < 0]
        if missing:
            warnings.warn(f"{source}: {len(missing)} split videos are not in the {subset!r} "
                          f"subset and are skipped (e.g. {missing[:3]})", stacklevel=stacklevel + 1)
        keep = {i for _, i in wanted if i >= 0}
        videos = [v for i, v in enumerate(videos) if i in keep]
    if not videos:
        raise ValueError(f"{source}: no ground-truth video in subset {subset!r}")
    vid, labels, segs = [], [], []
    for i, v in enumerate(videos):
        anns = db[v].get("annotations", [])
        for k, ann in enumerate(anns if isinstance(anns, list) else [None]):
            try:
                seg = [float(ann["segment"][0]), float(ann["segment"][1])]
                label = ann["label"]
            except (TypeError, KeyError, IndexError, ValueError):
                raise ValueError(f"{source}: video {v!r} annotation {k}: expected "
                                 "{'segment': [start, end], 'label': name}") from None
            if not np.isfinite(seg).all():
                raise ValueError(f"{source}: video {v!r} annotation {k}: segment {seg} not finite")
            vid.append(i)
            labels.append(label)
            segs.append(seg)
    present = list(dict.fromkeys(labels))
    if class_names is not None:
        unknown = [name for name in present if name not in set(class_names)]
        if unknown:
            raise ValueError(f"{source}: labels {unknown[:5]} are not among the class names")
        present = [name for name in class_names if name in set(present)]
    index = {name: c for c, name in enumerate(present)}
    return GroundTruth(videos, np.asarray(vid, dtype=np.int64),
                       np.asarray([index[name] for name in labels], dtype=np.int64),
                       np.asarray(segs, dtype=np.float64).reshape(-1, 2), present)


def read_predictions(results: ResultsSource, labels: Iterable[str] | None = None
                     ) -> tuple[str, list[str], list[str], np.ndarray, np.ndarray]:
    """A results dict or JSON path -> (name for messages, then ``results_arrays``: video ids (N,),
    labels (N,), scores (N,), segments (N, 2) in file order). A label outside ``labels`` raises
    ValueError naming the entry."""
    source = "<results dict>" if isinstance(results, Mapping) else str(results)
    obj = results if isinstance(results, Mapping) else load_json(results)
    return (source, *results_arrays(obj, source, labels))
