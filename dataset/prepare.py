"""Build the ACM-Net layout (gt.json, split_train.txt, split_test.txt) from the official files.

``python -m dataset.prepare thumos14 --annotations DIR_VAL DIR_TEST --video_info
TH14_video_info.json --out DATA_DIR [--durations video_info|released] [--exclude_from_split ...]``
reads the official per-class files (``<Class>_<subset>.txt``, ``video start end`` in seconds) of
the 20 classes. Videos keep their instances in class-list order, then file order; videos with
Ambiguous segments only are left out (they have nothing to learn or score); split_train.txt
lists the first folder's videos, split_test.txt the second's without ``--exclude_from_split``
(default: the two mis-annotated test videos 270 and 1496, which stay in gt.json, as in the
released files). Durations come from TH14_video_info.json (true fps); ``--durations released``
writes the released gt.json's values instead (``frames`` = num_frame - 1 and ``duration`` =
frames / 30 for every video, whatever its fps), which gives the released files exactly.

``python -m dataset.prepare activitynet13 --annotations activity_net.v1-3.min.json --out
DATA_DIR`` converts the official ActivityNet 1.3 file: ids get the "v_" prefix, subsets
"training" / "validation" become "train" / "val" (split_train.txt / split_test.txt, file order),
and the "testing" videos (no annotations) are left out.

Bad input stops with one line naming the file (and line): ``error: <file>:<line>: <problem>``.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from numbers import Real
from pathlib import Path
from typing import Any, Mapping, Sequence

from eval.thumos14 import AMBIGUOUS, OFFICIAL_CLASS_NAMES, read_segment_file, write_text_atomic

THUMOS_EXCLUDED = ("video_test_0000270", "video_test_0001496")  # mis-annotated test videos
THUMOS_SUBSET_NAMES = {"val": "validation"}  # file-name tag -> gt.json subset
RELEASED_FPS = 30.0  # the released gt.json divides frames by 30 for every video
ANET_SUBSETS = {"training": "train", "validation": "val"}  # "testing" has no annotations
ANET_PREFIX = "v_"


# ---------------------------------------------------------------------------------------------
# Shared
# ---------------------------------------------------------------------------------------------

def _load_json(path: Path) -> tuple[Any, str]:
    """(object, text) of a JSON file; ValueError "<path>:<line>: ..." on a syntax error."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text), text
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}:{err.lineno}: not valid JSON ({err.msg}, column "
                         f"{err.colno})") from None


def _where(path: Path, text: str, key: str) -> str:
    """"<path>:<line>" of the first occurrence of the JSON key ``key`` in ``text``."""
    index = text.find(json.dumps(key))
    return f"{path}:{text.count(chr(10), 0, index) + 1 if index >= 0 else 1}"


def _line_of(path: Path, video: str) -> int:
    """The first line of an annotation file whose first field is ``video``."""
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if line.split()[:1] == [video]:
                return lineno
    return 0


def _positive(value: Any) -> bool:
    return (isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
            and value > 0)


def write_dataset(out_dir: str | Path, gt: Mapping[str, Any], splits: Mapping[str, list[str]]
                  ) -> None:
    """Write ``out_dir``/gt.json and ``out_dir``/split_<name>.txt atomically."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "gt.json", json.dumps(gt, allow_nan=False))
    for name, videos in splits.items():
        write_text_atomic(out / f"split_{name}.txt", "".join(f"{v}\n" for v in videos))


# ---------------------------------------------------------------------------------------------
# THUMOS'14
# ---------------------------------------------------------------------------------------------

def _subset_tag(folder: Path) -> str:
    """The subset tag of an official annotation folder, from its ``Ambiguous_<tag>.txt``."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: annotation folder not found")
    tags = sorted(p.stem[len(AMBIGUOUS) + 1:] for p in folder.glob(f"{AMBIGUOUS}_*.txt"))
    if len(tags) != 1:
        raise ValueError(f"{folder}: expected one {AMBIGUOUS}_<subset>.txt file, found "
                         f"{len(tags)} (not an official THUMOS'14 annotation folder?)")
    return tags[0]


def _video_info(path: Path) -> tuple[dict[str, Any], str]:
    info, text = _load_json(path)
    if not isinstance(info, dict):
        raise ValueError(f"{path}:1: expected an object of video name -> {{fps, num_frame, "
                         "duration, subset}}")
    for video, entry in info.items():
        if not (isinstance(entry, dict) and _positive(entry.get("fps"))
                and _positive(entry.get("duration"))
                and isinstance(entry.get("num_frame"), int) and entry["num_frame"] > 1):
            raise ValueError(f"{_where(path, text, video)}: video {video!r}: need a positive "
                             "'fps', 'duration' and integer 'num_frame'")
    return info, text


def thumos14_database(annotation_dirs: Sequence[str | Path], video_info_path: str | Path,
                      durations: str = "video_info",
                      exclude_from_split: Sequence[str] = THUMOS_EXCLUDED,
                      class_names: Sequence[str] = OFFICIAL_CLASS_NAMES
                      ) -> tuple[dict[str, Any], dict[str, list[str]], list[str]]:
    """(gt.json object, {"train": videos of the first folder, "test": of the second}, videos
    left out for having Ambiguous segments only) from the official files."""
    if len(annotation_dirs) != 2:
        raise ValueError("--annotations: give two folders, the training subset's (validation) "
                         "and the test subset's")
    if durations not in ("video_info", "released"):
        raise ValueError(f"durations {durations!r}: expected 'video_info' or 'released'")
    info_path = Path(video_info_path)
    info, info_text = _video_info(info_path)
    database: dict[str, Any] = {}
    splits: list[list[str]] = []
    ambiguous_only: list[str] = []
    for folder in map(Path, annotation_dirs):
        tag = _subset_tag(folder)
        subset = THUMOS_SUBSET_NAMES.get(tag, tag)
        annotations: dict[str, list[dict[str, Any]]] = {}
        for name in class_names:
            path = folder / f"{name}_{tag}.txt"
            videos, segments = read_segment_file(path)
            for video, (start, end) in zip(videos, segments.tolist()):
                annotations.setdefault(video, []).append({"segment": [start, end],
                                                          "label": name})
        amb_path = folder / f"{AMBIGUOUS}_{tag}.txt"
        amb_videos, _ = read_segment_file(amb_path)
        ambiguous_only += sorted(set(amb_videos) - annotations.keys())
        for video in sorted(annotations):
            where = next(folder / f"{name}_{tag}.txt" for name in class_names
                         if annotations[video][0]["label"] == name)
            if video not in info:
                raise ValueError(f"{where}:{_line_of(where, video)}: video {video!r} is not in "
                                 f"{info_path}")
            if info[video].get("subset", subset) != subset:
                raise ValueError(f"{where}:{_line_of(where, video)}: video {video!r} is in "
                                 f"subset {info[video]['subset']!r} of {info_path}, not "
                                 f"{subset!r}")
            if video in database:
                raise ValueError(f"{where}:{_line_of(where, video)}: video {video!r} is also "
                                 "in the other annotation folder")
            entry = info[video]
            if durations == "video_info":
                frames, duration = entry["num_frame"], float(entry["duration"])
            else:
                frames = entry["num_frame"] - 1
                duration = frames / RELEASED_FPS
            database[video] = {"duration": duration, "frames": frames, "subset": subset,
                               "annotations": annotations[video]}
        splits.append(sorted(annotations))
    excluded = set(exclude_from_split)
    unknown = sorted(excluded - set(splits[1]))
    if unknown:
        warnings.warn(f"--exclude_from_split: {unknown} are not test videos with instances",
                      stacklevel=2)
    gt = {"version": "TH14", "taxonomy": [], "database": database}
    return gt, {"train": splits[0], "test": [v for v in splits[1] if v not in excluded]}, \
        ambiguous_only


# ---------------------------------------------------------------------------------------------
# ActivityNet 1.3
# ---------------------------------------------------------------------------------------------

def _activitynet_problem(entry: Any) -> str | None:
    """What is wrong with one video entry of the official ActivityNet file, or None."""
    subset = entry.get("subset") if isinstance(entry, dict) else None
    if subset == "testing":
        return None
    if subset not in ANET_SUBSETS:
        return f"'subset' must be 'training', 'validation' or 'testing', got {subset!r}"
    if not _positive(entry.get("duration")):
        return f"'duration' must be a positive number, got {entry.get('duration')!r}"
    annotations = entry.get("annotations")
    if not isinstance(annotations, list):
        return "'annotations' must be a list"
    for k, ann in enumerate(annotations):
        segment = ann.get("segment") if isinstance(ann, dict) else None
        if (not isinstance(segment, list) or len(segment) != 2
                or not all(isinstance(t, Real) and not isinstance(t, bool) and math.isfinite(t)
                           for t in segment)
                or not isinstance(ann.get("label"), str)):
            return f"annotation {k}: expected {{'segment': [start, end], 'label': name}}, " \
                   f"got {ann!r}"
    return None


def activitynet_database(official_path: str | Path
                         ) -> tuple[dict[str, Any], dict[str, list[str]], int]:
    """(gt.json object, {"train": ids, "test": validation ids}, number of testing videos left
    out) from the official ``activity_net.v1-3.min.json`` layout: {"version", "taxonomy",
    "database": {youtube_id: {"subset", "duration", "resolution", "url", "annotations":
    [{"segment": [s, e], "label"}]}}}."""
    path = Path(official_path)
    obj, text = _load_json(path)
    if not isinstance(obj, dict) or not isinstance(obj.get("database"), dict):
        raise ValueError(f"{path}:1: expected an object with a 'database' mapping (the official "
                         "ActivityNet layout)")
    database: dict[str, Any] = {}
    splits: dict[str, list[str]] = {"train": [], "test": []}
    testing = 0
    for video, entry in obj["database"].items():
        problem = _activitynet_problem(entry)
        if problem:
            raise ValueError(f"{_where(path, text, video)}: video {video!r}: {problem}")
        if entry["subset"] == "testing":
            testing += 1
            continue
        name = ANET_PREFIX + video
        database[name] = {"duration": float(entry["duration"]),
                          "subset": ANET_SUBSETS[entry["subset"]],
                          "annotations": [{"segment": [float(a["segment"][0]),
                                                       float(a["segment"][1])],
                                           "label": a["label"]} for a in entry["annotations"]]}
        splits["train" if entry["subset"] == "training" else "test"].append(name)
    gt = {"version": str(obj.get("version", "")), "taxonomy": [], "database": database}
    return gt, splits, testing


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    """``python -m dataset.prepare thumos14|activitynet13 ...``."""
    parser = argparse.ArgumentParser(prog="python -m dataset.prepare", description=__doc__
                                     .split("\n\n")[0])
    commands = parser.add_subparsers(dest="dataset", required=True)
    thumos = commands.add_parser("thumos14", help="from the official THUMOS'14 files")
    thumos.add_argument("--annotations", nargs=2, required=True, metavar=("DIR_VAL", "DIR_TEST"),
                        help="official annotation folders: training subset (validation), test")
    thumos.add_argument("--video_info", required=True, help="TH14_video_info.json")
    thumos.add_argument("--durations", choices=("video_info", "released"),
                        default="video_info",
                        help="video_info (default): true durations and frame counts; released: "
                             "frames = num_frame - 1 and duration = frames / 30, as the released "
                             "gt.json")
    thumos.add_argument("--exclude_from_split", nargs="*", default=list(THUMOS_EXCLUDED),
                        help="test videos kept in gt.json but left out of split_test.txt "
                             "(default: the mis-annotated 270 and 1496)")
    thumos.add_argument("--out", required=True, help="output folder (DATA_DIR)")
    anet = commands.add_parser("activitynet13", help="from activity_net.v1-3.min.json")
    anet.add_argument("--annotations", required=True, help="activity_net.v1-3.min.json")
    anet.add_argument("--out", required=True, help="output folder (DATA_DIR)")
    args = parser.parse_args(argv)
    try:
        if args.dataset == "thumos14":
            gt, splits, ambiguous_only = thumos14_database(
                args.annotations, args.video_info, args.durations, args.exclude_from_split)
            left_out = (f"; left out (Ambiguous segments only): {', '.join(ambiguous_only)}"
                        if ambiguous_only else "")
        else:
            gt, splits, testing = activitynet_database(args.annotations)
            left_out = f"; left out {testing} testing videos (no annotations)"
        write_dataset(args.out, gt, splits)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    database = gt["database"]
    instances = sum(len(v["annotations"]) for v in database.values())
    print(f"wrote {Path(args.out) / 'gt.json'}: {len(database)} videos, {instances} instances"
          f"{left_out}")
    for name, videos in splits.items():
        print(f"wrote {Path(args.out) / f'split_{name}.txt'}: {len(videos)} videos")
    return 0


if __name__ == "__main__":
    sys.exit(main())
