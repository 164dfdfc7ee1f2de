"""Detections <-> results file in the ActivityNet submission format, with atomic writes.

Format: ``{"version": str, "results": {video_id: [{"label": name, "score": float,
"segment": [start_s, end_s]}]}, "external_data": {...}}``.

Readers also accept ``score300`` as an entry's score when ``score`` is absent: the results files
written by the original AICL code use that key (``score`` wins when an entry has both).
``load_results`` copies it to ``score``, so code reading a loaded file sees one key.
"""
from __future__ import annotations

import json
import math
import os
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from utils.io import atomic_write

VERSION = "VERSION 1.3"
EXTERNAL_DATA = {"used": True, "details": "Features from I3D Net"}


def results_dict(detections: Mapping[str, Iterable[Sequence[float]]],
                 class_names: Sequence[str]) -> dict[str, Any]:
    """Submission dict from ``{video_id: [(class_index, score, start, end), ...]}`` (entry order
    kept, as the original's ``result2json``)."""
    results = {
        video: [{"label": class_names[int(c)], "score": float(score),
                 "segment": [float(start), float(end)]} for c, score, start, end in dets]
        for video, dets in detections.items()
    }
    return {"version": VERSION, "results": results, "external_data": dict(EXTERNAL_DATA)}


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (``utils.io.atomic_write``: readers never see a
    half-written file; the file gets the umask's permissions). NaN/inf are refused (ValueError).

    Raises OSError with a one-line message naming the path when the folder is missing or not
    writable.
    """
    atomic_write(path, json.dumps(obj, allow_nan=False).encode("utf-8"))


SCORE_KEYS = ("score", "score300")


def entry_score(entry: Mapping[str, Any]) -> Any:
    """The score of a result entry: ``score``, else AICL's ``score300`` (KeyError if neither)."""
    return entry["score"] if "score" in entry else entry["score300"]


def _entry_problem(entry: Any) -> str | None:
    """What is wrong with one result entry, or None."""
    if (not isinstance(entry, dict) or not {"label", "segment"} <= entry.keys()
            or not any(key in entry for key in SCORE_KEYS)):
        return "expected an object with 'label', 'score' (or 'score300') and 'segment'"
    if not isinstance(entry["label"], str):
        return f"label {entry['label']!r} is not a string"
    score, seg = entry_score(entry), entry["segment"]
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
        return f"score {score!r} is not a finite number"
    if (not isinstance(seg, (list, tuple)) or len(seg) != 2
            or any(isinstance(t, bool) or not isinstance(t, (int, float)) for t in seg)):
        return f"segment {seg!r} is not a pair of numbers"
    if not all(math.isfinite(t) for t in seg):
        return f"segment {seg!r} is not finite"
    if seg[1] < seg[0]:
        return f"segment {seg!r} ends before it starts"
    return None


def validate_results(obj: Any, source: str, labels: Iterable[str] | None = None) -> None:
    """Check a submission dict; ValueError "<source>: video V entry i: problem" on the first bad
    entry (malformed entry, non-finite score or segment, end < start, label not in ``labels``)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("results"), dict):
        raise ValueError(f"{source}: not a results file (expected an object with a 'results' "
                         "mapping of video ids to lists of detections)")
    known = None if labels is None else set(labels)
    for video, entries in obj["results"].items():
        if not isinstance(entries, list):
            raise ValueError(f"{source}: video {video!r}: expected a list of detections")
        for i, entry in enumerate(entries):
            problem = _entry_problem(entry)
            if problem is None and known is not None and entry["label"] not in known:
                problem = f"unknown label {entry['label']!r}"
            if problem:
                raise ValueError(f"{source}: video {video!r} entry {i}: {problem}")


def results_arrays(obj: Any, source: str, labels: Iterable[str] | None = None
                   ) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """Flatten a submission dict in file order: video ids (N,), labels (N,), scores (N,) float64,
    segments (N, 2) float64. Checked in bulk; on any problem ``validate_results`` names the first
    bad entry (ValueError)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("results"), dict):
        validate_results(obj, source, labels)
    try:
        entries = [(video, e) for video, es in obj["results"].items() for e in es]
        videos = [video for video, _ in entries]
        names = [e["label"] for _, e in entries]
        scores = np.array([entry_score(e) for _, e in entries], dtype=np.float64)
        segments = np.array([e["segment"] for _, e in entries], dtype=np.float64).reshape(-1, 2)
        ok = (np.isfinite(scores).all() and np.isfinite(segments).all()
              and (segments[:, 1] >= segments[:, 0]).all()
              and (labels is None or set(names) <= set(labels))
              and all(isinstance(n, str) for n in set(names)))
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        validate_results(obj, source, labels)
        raise ValueError(f"{source}: malformed results")
    return videos, names, scores, segments


def load_results(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate a results file (see ``validate_results``); every entry of the returned
    dict has ``score`` (copied from ``score300`` where only that is present). Errors are one line
    naming the file: FileNotFoundError when it is missing, ValueError otherwise."""
    try:
        with open(path, "rb") as f:
            obj = json.loads(f.read().decode("utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: results file not found") from None
    except IsADirectoryError:
        raise ValueError(f"{path}: is a folder, not a results file") from None
    except OSError as err:
        raise ValueError(f"{path}: cannot read ({err.strerror})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text (UTF-8 JSON) file") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    results_arrays(obj, str(path))
    for entries in obj["results"].values():
        for entry in entries:
            entry.setdefault("score", entry_score(entry))
    return obj
