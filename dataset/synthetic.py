"""Synthetic I3D-like features in the ACM-Net layout (or one HDF5 file per split).

``python -m dataset.synthetic --dataset {thumos,activitynet,activitynet12} --out DIR [--gt GT.json
--split_dir DIR] [--num_videos N] [--feature_dim D] [--format npy|h5|wtalc] [--seed S]`` writes
DIR/gt.json, DIR/split_train.txt, DIR/split_test.txt, DIR/meta.json and the features
(DIR/{train,test}/<id>.npy or DIR/{train,test}.h5). ``ensure_synthetic`` keeps such a folder as a
cache shared by concurrent runs.

``--format wtalc`` writes the W-TALC / CO2-Net layout (``eval.wtalc.LAYOUTS``) instead of the
feature folders: DIR/<name>-I3D-JOINTFeatures.npy (an object array of (T, D) arrays) and
DIR/<name>-Annotations/ with ``videoname``, ``subset``, ``classlist``, ``labels_all``, ``labels``,
``segments`` and ``duration`` (.npy) in the W-TALC order (the training videos, then the test
videos, each in name order).

- ``thumos``: ``Thumos14reduced``, subsets "validation" and "test", an ``Ambiguous_test.txt``
  (one drawn segment in every fourth test video, the original's "name  start end" lines), beside
  the same gt.json and split files;
- ``activitynet12`` (W-TALC only): ``ActivityNet1.2``, subsets "training" and "validation", 100
  synthetic classes (``SYNTHETIC_ACTIVITYNET12_CLASSES``: no ActivityNet 1.2 class list or
  annotation of that layout exists in this repository), ActivityNet-like videos named without
  the ``v_`` prefix (as W-TALC's ActivityNet arrays), no Ambiguous file, and only the W-TALC
  files (no gt.json, no split files), as a real folder of that layout.

Writes are atomic at the folder level: the dataset is written into a fresh temporary folder beside
DIR (meta.json last) and renamed into place, so DIR is always either a complete dataset or absent.
Two lock files beside DIR coordinate processes: ``DIR.lock`` lets one process at a time generate
(the others wait, then find the complete copy), and ``DIR.readers.lock`` is held shared by every
process using the cache (taken by ``ensure_synthetic`` until the process exits or
``release_synthetic``), so a folder in use is never replaced under a running job. A video of ``duration`` seconds gets T = max(1, round(duration * 25 / 16))
snippets, so snippet t covers [t, t + 1) * 16/25 s, the mapping the model uses.

With ``--gt`` the real video list, durations, labels and segments are kept, quirks included (videos
of gt.json outside both splits, split videos absent from gt.json, which get no features, multi-label
videos, segments ending after the duration). Without it, THUMOS- or ActivityNet-like annotations are
drawn. ``--num_videos`` keeps that many videos (split between train and test in the real
proportion, covering every class in training when there are enough training videos).

Feature model, built to share the properties of pooled two-stream I3D features that the method
relies on: every value is a ReLU output (non-negative, about 40% of the channels active); snippets
are temporally smooth (the noise is averaged over 3 snippets, as overlapping I3D windows are); a
video's background is a mix of shared scene prototypes (RGB-heavy) with a slow drift; every
annotated instance adds its class pattern (perturbed per instance) and a class-agnostic motion
pattern (flow-heavy), weighted by how much of the snippet it covers, so action snippets have
larger norms than background (the premise of ACM-Net's feature-norm loss); a weaker
class-correlated, RGB-heavy context pattern surrounds every instance. The features are scaled by
NORM_SCALE / sqrt(D), so their norms do not depend on D: a small D keeps the norms the loss
margins were tuned for.
"""
from __future__ import annotations

import argparse
import fcntl
import itertools
import json
import os
import shutil
import string
import sys
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator, Sequence

import h5py
import numpy as np

from dataset.classes import CLASSES
from dataset.annotations import load_gt, read_split
from eval.wtalc import AMBIGUOUS_FILE, LAYOUTS, WtalcLayout
from utils.io import atomic_write, new_folder_mode

GENERATOR = "dataset.synthetic"
GENERATOR_VERSION = 2
SNIPPET_SECONDS = 16 / 25
# Latent amplitudes, in units of the per-channel standard deviation of a class pattern.
LATENT_OFFSET = -0.3
SCENE_AMPLITUDE = 0.8
DRIFT_AMPLITUDE = 0.3
NOISE_AMPLITUDE = 0.5
ACTION_AMPLITUDE = 1.0
MOTION_AMPLITUDE = 0.8
CONTEXT_AMPLITUDE = 0.5
INSTANCE_PERTURBATION = 0.35
NOISE_WINDOW = 3
DRIFT_WINDOW = 24
NORM_SCALE = 96.0
NUM_PROTOTYPES = 32
NUM_DRIFT_DIRECTIONS = 16


SYNTHETIC_ACTIVITYNET12_CLASSES = tuple(f"synthetic action {k:02d}" for k in range(100))
"""The 100 classes of the synthetic ActivityNet 1.2 set (stand-ins: the real class list is not in
this repository; a real folder's ``classlist.npy`` gives its own)."""


@dataclass(frozen=True)
class _Profile:
    """Statistics of a dataset's annotations for the generator without ``--gt``: its class list,
    subsets and split sizes, and its W-TALC layout (a key of ``eval.wtalc.LAYOUTS``; None: none;
    ``wtalc_only``: that layout and nothing else)."""
    class_names: tuple[str, ...]
    train_subset: str
    test_subset: str
    num_train: int
    num_test: int
    wtalc: str | None = None
    wtalc_only: bool = False


PROFILES = {
    "thumos": _Profile(tuple(CLASSES["THUMOS"]), "validation", "test", 200, 212, "THUMOS"),
    "activitynet": _Profile(tuple(CLASSES["ActivityNet"]), "train", "val", 9032, 4427),
    # ActivityNet 1.2 in the W-TALC layout (CO2-Net): 4 819 training and 2 383 validation videos
    "activitynet12": _Profile(SYNTHETIC_ACTIVITYNET12_CLASSES, "training", "validation", 4819,
                              2383, "ActivityNet", wtalc_only=True),
}
# THUMOS classes that share segments in the real annotations.
_THUMOS_PARTNERS = {"CliffDiving": "Diving", "Diving": "CliffDiving",
                    "CricketBowling": "CricketShot", "CricketShot": "CricketBowling"}


class SyntheticFeatureModel:
    """The shared patterns of one synthetic dataset (a function of ``seed`` and the sizes).

    action: (C, D) class patterns; context: (C, D) correlated with action, RGB-heavy;
    motion: (D,) non-negative, flow-heavy, shared by all classes; prototypes: (K, D) background
    scenes, RGB-heavy; drift: (R, D) directions of the slow background drift. Channels [0, D/2)
    play the RGB stream, [D/2, D) the flow stream.
    """

    def __init__(self, feature_dim: int, num_classes: int, seed: int) -> None:
        rng = np.random.default_rng([seed, 1])
        d = feature_dim
        flow = np.arange(d) >= d // 2
        self.feature_dim = d
        self.action = rng.standard_normal((num_classes, d))
        self.context = (0.5 * self.action + rng.standard_normal((num_classes, d))) \
            * np.where(flow, 0.4, 1.0)
        self.motion = np.abs(rng.standard_normal(d)) * np.where(flow, 1.0, 0.2)
        self.prototypes = rng.standard_normal((NUM_PROTOTYPES, d)) * np.where(flow, 0.5, 1.0)
        self.drift = rng.standard_normal((NUM_DRIFT_DIRECTIONS, d)) / np.sqrt(NUM_DRIFT_DIRECTIONS)

    def video(self, num_snippets: int, segments: Sequence[tuple[float, float, int]],
              rng: np.random.Generator) -> np.ndarray:
        """(T, D) float32 features of a video with ``segments`` (start_s, end_s, class_index)."""
        t, d = num_snippets, self.feature_dim
        mix = rng.dirichlet(np.full(NUM_PROTOTYPES, 0.3))
        latent = np.full((t, d), LATENT_OFFSET) + SCENE_AMPLITUDE * (mix @ self.prototypes)
        latent += DRIFT_AMPLITUDE * _smooth(rng.standard_normal((t, NUM_DRIFT_DIRECTIONS)),
                                            DRIFT_WINDOW) @ self.drift
        latent += NOISE_AMPLITUDE * _smooth(rng.standard_normal((t, d)), NOISE_WINDOW)
        for start, end, c in segments:
            cover = _coverage(start, end, t)
            if not cover.any():
                continue
            margin = max(2.0, 0.5 * (end - start))
            around = _coverage(start - margin, end + margin, t)
            pattern = self.action[c] + INSTANCE_PERTURBATION * rng.standard_normal(d)
            amplitude = rng.uniform(0.7, 1.3)
            rows = np.nonzero(around)[0]
            latent[rows] += np.outer(around[rows], CONTEXT_AMPLITUDE * self.context[c])
            rows = np.nonzero(cover)[0]
            latent[rows] += np.outer(cover[rows], amplitude * (ACTION_AMPLITUDE * pattern
                                                               + MOTION_AMPLITUDE * self.motion))
        return (NORM_SCALE / np.sqrt(d) * np.maximum(latent, 0.0)).astype(np.float32)


def _smooth(x: np.ndarray, window: int) -> np.ndarray:
    """Moving average over ``window`` rows of (T, R) ``x``, rescaled to unit std per column."""
    csum = np.cumsum(np.concatenate([np.zeros((1, x.shape[1])), x]), axis=0)
    hi = np.minimum(np.arange(len(x)) + window // 2 + 1, len(x))
    lo = np.maximum(np.arange(len(x)) - window // 2, 0)
    avg = (csum[hi] - csum[lo]) / (hi - lo)[:, None]
    return avg / np.sqrt(np.mean(avg ** 2, axis=0, keepdims=True) + 1e-12)


def _coverage(start: float, end: float, num_snippets: int) -> np.ndarray:
    """(T,) fraction of each snippet [t, t + 1) * 16/25 s that [start, end] covers."""
    edges = np.arange(num_snippets + 1) * SNIPPET_SECONDS
    overlap = np.minimum(edges[1:], end) - np.maximum(edges[:-1], start)
    return np.clip(overlap / SNIPPET_SECONDS, 0.0, 1.0)


def num_snippets(duration: float) -> int:
    """T = max(1, round(duration * 25 / 16)): the snippet count of a video of ``duration`` s."""
    return max(1, int(round(duration * 25 / 16)))


# Name tags of the temporary and set-aside folders beside a dataset folder while it is replaced.
_TMP_TAG, _OLD_TAG = ".tmp-", ".old-"
# ensure_synthetic / generate calls of one process run one at a time (the file locks order
# processes; this orders threads, which share the readers lock's file descriptor).
_IN_PROCESS = threading.RLock()


def generate(out_dir: str | Path, dataset: str = "thumos", gt: str | Path | None = None,
             split_dir: str | Path | None = None, num_videos: int | None = None,
             feature_dim: int = 2048, fmt: str = "npy", seed: int = 0) -> Path:
    """Write a complete synthetic dataset to ``out_dir`` (see the module docstring); returns it.

    ``out_dir`` is replaced as a whole, atomically: it may be absent, empty or a synthetic dataset
    (complete or left partial by a crash); any other folder is refused (ValueError), so real data
    is never overwritten.
    """
    _check_request(dataset, fmt, feature_dim, num_videos)
    root = Path(out_dir).absolute()
    with _IN_PROCESS:
        readers = _readers_lock(root)
        readers.release()  # this process stops using the old copy (and cannot deadlock on it)
        with _GenerationLock(root):
            _replace(root, lambda folder: _write_dataset(folder, dataset, gt, split_dir,
                                                         num_videos, feature_dim, fmt, seed))
        readers.release()
    return Path(out_dir)


def ensure_synthetic(root: str | Path, dataset: str, num_videos: int, feature_dim: int,
                     seed: int = 0, fmt: str = "npy") -> dict[str, Any]:
    """The meta.json dict of the synthetic ``dataset`` cached in ``root``, generated first (layout
    ``fmt``: npy or wtalc; drawn annotations) unless ``root`` already holds exactly that dataset.

    Safe under concurrency: processes asking at the same time generate it once (the others wait,
    then use the complete copy); a partial folder (no meta.json, or files missing) is regenerated,
    never read; a cache of other settings or of another generator version is replaced only when
    no process is using it. On return the calling process holds the cache's readers lock (shared)
    until it exits or calls ``release_synthetic(root)``. A folder that is not a synthetic dataset
    is refused (ValueError).
    """
    _check_request(dataset, fmt, feature_dim, num_videos)
    root = Path(root).absolute()
    wanted = {"generator": GENERATOR, "generator_version": GENERATOR_VERSION, "dataset": dataset,
              "feature_dim": feature_dim, "seed": seed, "format": fmt,
              "num_videos": num_videos, "source_gt": None}
    with _IN_PROCESS:
        readers = _readers_lock(root)
        if readers.held:  # nobody can replace root while this process holds the lock
            meta = _complete_meta(root)
            if _matches(meta, wanted):
                return meta
            readers.release()
        with _GenerationLock(root) as lock:
            meta = _complete_meta(root)
            if not _matches(meta, wanted):
                if not lock.held:
                    raise OSError(f"{root}: cannot generate the synthetic dataset there: "
                                  f"{root.parent} is not writable")
                print(f"generating the synthetic {dataset} dataset ({num_videos} videos, "
                      f"D={feature_dim}, seed {seed}) under {root} ...", file=sys.stderr,
                      flush=True)
                _replace(root, lambda folder: _write_dataset(folder, dataset, None, None,
                                                             num_videos, feature_dim, fmt,
                                                             seed))
                meta = _complete_meta(root)
                if not _matches(meta, wanted):
                    raise ValueError(f"{root}: the generated dataset fails its completeness "
                                     "check")
            # Under the generation lock no process waits to replace root: this never blocks.
            readers.shared()
    return meta


def release_synthetic(root: str | Path) -> None:
    """Release the readers lock ``ensure_synthetic`` took on ``root`` (no-op if not held)."""
    with _IN_PROCESS:
        _readers_lock(Path(root).absolute()).release()


def _check_request(dataset: str, fmt: str, feature_dim: int, num_videos: int | None) -> None:
    if dataset not in PROFILES:
        raise ValueError(f"dataset must be one of {sorted(PROFILES)}, got {dataset!r}")
    if fmt not in ("npy", "h5", "wtalc"):
        raise ValueError(f"format must be 'npy', 'h5' or 'wtalc', got {fmt!r}")
    profile = PROFILES[dataset]
    if fmt == "wtalc" and profile.wtalc is None:
        raise ValueError(f"the W-TALC layout is written for "
                         f"{', '.join(k for k, v in PROFILES.items() if v.wtalc)} only")
    if profile.wtalc_only and fmt != "wtalc":
        raise ValueError(f"{dataset} exists in the W-TALC layout only (format 'wtalc')")
    if feature_dim < 1 or (num_videos is not None and num_videos < 1):
        raise ValueError("feature_dim and num_videos must be positive")


def _matches(meta: dict[str, Any] | None, wanted: dict[str, Any]) -> bool:
    return meta is not None and all(meta.get(k) == v for k, v in wanted.items())


def _complete_meta(root: Path) -> dict[str, Any] | None:
    """meta.json of ``root`` if ``root`` is a complete synthetic dataset (meta.json is written last
    and every feature file it counts is there), else None."""
    try:
        meta = json.loads((root / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("generator") != GENERATOR:
        return None
    if meta.get("format") == "h5":
        complete = all((root / f"{split}.h5").is_file() for split in ("train", "test"))
    elif meta.get("format") == "wtalc":
        layout = _wtalc_layout(str(meta.get("dataset")))
        complete = (layout is not None and (root / layout.features_file).is_file()
                    and all((root / layout.annotations_folder / f"{name}.npy").is_file()
                            for name in WTALC_ARRAYS))
    else:
        count = sum(len(list((root / split).glob("*.npy"))) for split in ("train", "test"))
        complete = count == meta.get("num_videos")
    return meta if complete else None


def _ours(root: Path) -> bool:
    """Whether ``root`` may be replaced: absent, empty, or written by this module (a complete
    dataset has its meta.json; a partial one at least the synthetic gt.json, written first)."""
    if not root.exists():
        return True
    if not root.is_dir():
        return False
    if not any(root.iterdir()):
        return True
    for name, key, prefix in (("meta.json", "generator", GENERATOR),
                              ("gt.json", "version", "synthetic-")):
        try:
            value = json.loads((root / name).read_text(encoding="utf-8")).get(key)
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(value, str) and value.startswith(prefix):
            return True
    return False


def _replace(root: Path, build: Callable[[Path], object]) -> None:
    """Build a new ``root`` in a temporary folder beside it and swap it in: the old folder is
    renamed aside, the new one renamed into place, then the old one deleted, so ``root`` is never
    partial. Call with the generation lock held; waits until no process uses the old ``root``."""
    if not _ours(root):
        raise ValueError(f"{root}: exists and is not a synthetic dataset (no meta.json written by "
                         f"{GENERATOR}); refusing to replace it: choose an empty or new folder")
    _remove_leftovers(root)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}{_TMP_TAG}", dir=root.parent))
    try:
        os.chmod(tmp, new_folder_mode())
        build(tmp)
        if root.exists():
            _readers_lock(root).exclusive(f"waiting for the other processes using {root} to "
                                          "finish before replacing it ...")
            old = root.with_name(f".{root.name}{_OLD_TAG}{uuid.uuid4().hex}")
            os.rename(root, old)
            try:
                os.rename(tmp, root)
            except OSError:
                os.rename(old, root)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _remove_leftovers(root: Path) -> None:
    """Delete temporary and set-aside folders that a killed generator left beside ``root``
    (safe under the generation lock: no other generator is running)."""
    for tag in (_TMP_TAG, _OLD_TAG):
        for path in root.parent.glob(f".{root.name}{tag}*"):
            shutil.rmtree(path, ignore_errors=True)


def _lock_fd(path: Path) -> int | None:
    """A descriptor of lock file ``path`` (created if needed), or None where it cannot be made
    (a read-only folder: then nobody can replace the cache either)."""
    for flags in (os.O_RDWR | os.O_CREAT, os.O_RDONLY):
        try:
            return os.open(path, flags, 0o666)
        except OSError:
            continue
    return None


def _flock(fd: int, operation: int, waiting: str) -> None:
    """``flock``, saying ``waiting`` on stderr first when another process holds the lock."""
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
    except BlockingIOError:
        print(waiting, file=sys.stderr, flush=True)
        fcntl.flock(fd, operation)


class _GenerationLock:
    """Exclusive lock on ``<root>.lock`` for checking and (re)generating ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.fd: int | None = None

    @property
    def held(self) -> bool:
        return self.fd is not None

    def __enter__(self) -> "_GenerationLock":
        try:
            self.root.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise OSError(f"{self.root.parent}: cannot create the folder ({err.strerror})") \
                from None
        self.fd = _lock_fd(self.root.with_name(self.root.name + ".lock"))
        if self.fd is not None:
            _flock(self.fd, fcntl.LOCK_EX, f"waiting for another process generating {self.root}"
                                           " ...")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing releases the lock
            self.fd = None


class _ReadersLock:
    """``<root>.readers.lock``: shared while this process uses ``root``, exclusive to replace it.

    One descriptor per root and process, so that going from exclusive to shared never waits on
    this process's own lock.
    """

    def __init__(self, root: Path) -> None:
        self.path = root.with_name(root.name + ".readers.lock")
        self.fd: int | None = None

    @property
    def held(self) -> bool:
        return self.fd is not None

    def _lock(self, operation: int, waiting: str) -> None:
        if self.fd is None:
            self.fd = _lock_fd(self.path)
        if self.fd is not None:
            _flock(self.fd, operation, waiting)

    def shared(self) -> None:
        self._lock(fcntl.LOCK_SH, f"waiting for {self.path} ...")

    def exclusive(self, waiting: str) -> None:
        self._lock(fcntl.LOCK_EX, waiting)

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing releases the lock
            self.fd = None


_READERS: dict[Path, _ReadersLock] = {}


def _readers_lock(root: Path) -> _ReadersLock:
    return _READERS.setdefault(root, _ReadersLock(root))


def _write_dataset(out: Path, dataset: str, gt: str | Path | None, split_dir: str | Path | None,
                   num_videos: int | None, feature_dim: int, fmt: str, seed: int
                   ) -> dict[str, Any]:
    """Write the dataset's files into the (new, empty) folder ``out``, meta.json last; returns the
    meta dict."""
    profile = PROFILES[dataset]
    class_names = list(profile.class_names)
    rng = np.random.default_rng([seed, 0])
    if gt is not None:
        if profile.wtalc_only:
            raise ValueError(f"--gt: {dataset} has drawn annotations only (no real annotations "
                             "of its layout exist here)")
        header, database, train, test = _real_annotations(Path(gt), split_dir, class_names,
                                                          num_videos, rng)
    else:
        header, database, train, test = _drawn_annotations(dataset, profile, class_names,
                                                           num_videos, rng)
    if not profile.wtalc_only:
        atomic_write(out / "gt.json",
                     json.dumps({**header, "database": database}).encode("utf-8"))
        for name, ids in (("split_train.txt", train), ("split_test.txt", test)):
            atomic_write(out / name,
                         "".join(f"{video_id}\n" for video_id in ids).encode("utf-8"))

    model = SyntheticFeatureModel(feature_dim, len(class_names), seed)
    videos = _generated_videos(database, (("train", train), ("test", test)), class_names, model,
                               seed)
    number = 0
    if fmt == "wtalc":
        number = _write_wtalc(out, profile, database, train, test,
                              {video_id: features for _, video_id, features in videos}, seed)
    else:
        for split, group in itertools.groupby(videos, key=lambda item: item[0]):
            with _Writer(out, split, fmt) as writer:
                for _, video_id, features in group:
                    writer.write(video_id, features)
                    number += 1
    meta = {"generator": GENERATOR, "generator_version": GENERATOR_VERSION,
            "dataset": dataset, "feature_dim": feature_dim, "seed": seed, "format": fmt,
            "snippet_seconds": SNIPPET_SECONDS, "num_videos": number,
            "source_gt": None if gt is None else str(gt)}
    atomic_write(out / "meta.json", (json.dumps(meta, indent=1) + "\n").encode("utf-8"))
    return meta


WTALC_FEATURES = LAYOUTS["THUMOS"].features_file
WTALC_ANNOTATIONS = LAYOUTS["THUMOS"].annotations_folder
WTALC_ARRAYS = ("videoname", "subset", "classlist", "labels_all", "labels", "segments", "duration")


def _wtalc_layout(dataset: str) -> WtalcLayout | None:
    """The W-TALC layout of the generator's ``dataset`` (a key of PROFILES), or None."""
    profile = PROFILES.get(dataset)
    return None if profile is None or profile.wtalc is None else LAYOUTS[profile.wtalc]


def _object_array(items: Sequence[Any]) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    for k, item in enumerate(items):
        out[k] = item
    return out


def _generated_videos(database: dict[str, dict[str, Any]],
                      splits: Sequence[tuple[str, Sequence[str]]], class_names: Sequence[str],
                      model: "SyntheticFeatureModel", seed: int
                      ) -> Iterator[tuple[str, str, np.ndarray]]:
    """(split, video id, (T, D) features) of every split video that ``database`` annotates, in
    split order; the k-th video drawn with ``default_rng([seed, 2, k])`` (both layouts hold the
    same features)."""
    class_index = {name: k for k, name in enumerate(class_names)}
    number = 0
    for split, ids in splits:
        for video_id in ids:
            if video_id not in database:
                continue
            entry = database[video_id]
            segments = [(a["segment"][0], a["segment"][1], class_index[a["label"]])
                        for a in entry["annotations"]]
            yield split, video_id, model.video(num_snippets(entry["duration"]), segments,
                                               np.random.default_rng([seed, 2, number]))
            number += 1


def _write_wtalc(out: Path, profile: _Profile, database: dict[str, dict[str, Any]],
                 train: Sequence[str], test: Sequence[str],
                 features: dict[str, np.ndarray], seed: int) -> int:
    """The W-TALC layout of ``profile`` (module docstring) of the generated ``features`` by video
    id (the npy layout's). Returns the number of videos."""
    layout = LAYOUTS[str(profile.wtalc)]
    class_names = profile.class_names
    class_index = {name: k for k, name in enumerate(class_names)}
    number = len(features)
    order = ([v for v in sorted(train) if v in features]
             + [v for v in sorted(test) if v in features])
    n_train = sum(v in features for v in train)
    subsets = [profile.train_subset] * n_train + [profile.test_subset] * (len(order) - n_train)
    anns = [database[v]["annotations"] for v in order]
    arrays = {
        "videoname": np.array([v.encode() for v in order]),
        "subset": np.array([s.encode() for s in subsets]),
        "classlist": np.array([c.encode() for c in class_names]),
        "labels_all": _object_array([sorted({a["label"] for a in video}, key=class_index.get)
                                     for video in anns]),
        "labels": _object_array([[a["label"] for a in video] for video in anns]),
        "segments": _object_array([[list(map(float, a["segment"])) for a in video]
                                   for video in anns]),
        "duration": np.array([[database[v]["duration"]] for v in order], dtype=np.float64),
    }
    folder = out / layout.annotations_folder
    folder.mkdir()
    for name, array in arrays.items():
        with open(folder / f"{name}.npy", "wb") as handle:
            np.save(handle, array, allow_pickle=True)
            _flush_to_disk(handle)
    if layout.ambiguous:
        rng = np.random.default_rng([seed, 3])
        lines = []
        for k, video_id in enumerate(v for v, s in zip(order, subsets)
                                     if s == profile.test_subset):
            if k % 4 == 0:
                duration = float(database[video_id]["duration"])
                start = round(float(rng.uniform(0.0, 0.9 * duration)), 1)
                end = round(min(start + float(rng.uniform(1.0, 6.0)), duration), 1)
                lines.append(f"{video_id}  {start} {end}\n")
        atomic_write(folder / AMBIGUOUS_FILE, "".join(lines).encode("utf-8"))
    with open(out / layout.features_file, "wb") as handle:
        np.save(handle, _object_array([features[v] for v in order]), allow_pickle=True)
        _flush_to_disk(handle)
    return number


class _Writer:
    """Writes one split's (T, D) arrays as <split>/<id>.npy files (each flushed to disk, so the
    renamed folder is complete even after a crash) or datasets of <split>.h5."""

    def __init__(self, out: Path, split: str, fmt: str) -> None:
        self.fmt = fmt
        if fmt == "npy":
            self.folder = out / split
            self.folder.mkdir()
        else:
            self.h5 = h5py.File(out / f"{split}.h5", "w")

    def write(self, video_id: str, features: np.ndarray) -> None:
        if self.fmt == "npy":
            with open(self.folder / f"{video_id}.npy", "wb") as handle:
                np.save(handle, features)
                _flush_to_disk(handle)
        else:
            self.h5.create_dataset(video_id, data=features)

    def __enter__(self) -> "_Writer":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.fmt == "h5":
            self.h5.close()


def _flush_to_disk(handle: BinaryIO) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def _real_annotations(gt: Path, split_dir: str | Path | None, class_names: Sequence[str],
                      num_videos: int | None, rng: np.random.Generator):
    """(header, database, train ids, test ids) of a real gt.json and its split files."""
    split_root = Path(split_dir) if split_dir is not None else gt.parent
    database = load_gt(gt)
    with open(gt, encoding="utf-8") as f:
        header = {k: v for k, v in json.load(f).items() if k != "database"}
    known = set(class_names)
    for video_id, entry in database.items():
        for ann in entry["annotations"]:
            if ann["label"] not in known:
                raise ValueError(f"{gt}: video {video_id!r}: unknown label {ann['label']!r}")
    train = read_split(split_root / "split_train.txt")
    test = read_split(split_root / "split_test.txt")
    if num_videos is None:
        return header, database, train, test
    train_pool = [v for v in train if v in database]
    test_pool = [v for v in test if v in database]
    n_train = _train_share(num_videos, len(train_pool), len(test_pool))
    labels = {v: {a["label"] for a in database[v]["annotations"]} for v in train_pool + test_pool}
    train = _pick(train_pool, labels, n_train, class_names, rng)
    test = _pick(test_pool, labels, num_videos - n_train, class_names, rng)
    return header, {v: database[v] for v in train + test}, train, test


def _train_share(total: int, n_train: int, n_test: int) -> int:
    share = int(round(total * n_train / max(n_train + n_test, 1)))
    if total >= 2:
        share = min(max(share, 1), total - 1)
    return min(share, n_train)


def _pick(pool: list[str], labels: dict[str, set[str]], count: int, class_names: Sequence[str],
          rng: np.random.Generator) -> list[str]:
    """``count`` ids of ``pool`` (kept in pool order): one per class first, in random class order,
    then at random."""
    count = min(count, len(pool))
    chosen: set[str] = set()
    for k in rng.permutation(len(class_names)):
        if len(chosen) == count:
            break
        candidates = [v for v in pool if class_names[k] in labels[v] and v not in chosen]
        if candidates:
            chosen.add(candidates[int(rng.integers(len(candidates)))])
    rest = [v for v in pool if v not in chosen]
    for k in rng.permutation(len(rest))[:count - len(chosen)]:
        chosen.add(rest[k])
    return [v for v in pool if v in chosen]


def _drawn_annotations(dataset: str, profile: _Profile, class_names: Sequence[str],
                       num_videos: int | None, rng: np.random.Generator):
    """(header, database, train ids, test ids) drawn with THUMOS- or ActivityNet-like statistics."""
    total = profile.num_train + profile.num_test if num_videos is None else num_videos
    n_train = _train_share(total, profile.num_train, profile.num_test)
    database: dict[str, dict[str, Any]] = {}
    ids: dict[str, list[str]] = {"train": [], "test": []}
    c = len(class_names)
    for split, count, subset in (("train", n_train, profile.train_subset),
                                 ("test", total - n_train, profile.test_subset)):
        # Cycling through a class permutation puts every class in training once n_train >= C.
        primaries = np.resize(rng.permutation(c), count)
        for k, primary in enumerate(primaries):
            if dataset == "thumos":
                video_id = f"video_{subset}_{k + 1:07d}"
                entry = _thumos_video(class_names, int(primary), subset, rng)
            else:   # W-TALC's ActivityNet names drop the "v_" of the YouTube id
                video_id = ("" if profile.wtalc_only else "v_") + "".join(
                    rng.choice(list(_YOUTUBE_CHARS), 11))
                entry = _activitynet_video(class_names[int(primary)], subset, rng)
            database[video_id] = entry
            ids[split].append(video_id)
    header = {"version": f"synthetic-{dataset}-v{GENERATOR_VERSION}", "taxonomy": []}
    return header, database, ids["train"], ids["test"]


_YOUTUBE_CHARS = string.ascii_letters + string.digits + "-_"


def _thumos_video(class_names: Sequence[str], primary: int, subset: str,
                  rng: np.random.Generator) -> dict[str, Any]:
    """Minutes long, many short instances; ~15% of videos carry a second class."""
    frames = int(np.clip(rng.lognormal(np.log(160 * 30), 0.65), 15 * 30, 1500 * 30))
    duration = frames / 30
    names = [class_names[primary]]
    if rng.random() < 0.15:
        partner = _THUMOS_PARTNERS.get(names[0])
        if partner not in class_names:
            partner = class_names[int(rng.integers(len(class_names)))]
        if partner != names[0]:
            names.append(partner)
    count = int(np.clip(rng.poisson(duration / 12), 1, 60))
    lengths = np.clip(rng.lognormal(np.log(3.0), 0.7, count), 0.4, 30.0)
    starts = np.sort(rng.uniform(0, max(duration - lengths.max(), 0.0), count))
    annotations, last_end = [], -1.0
    for start, length in zip(starts, lengths):
        start, end = round(float(start), 1), round(float(min(start + length, duration)), 1)
        if start <= last_end or end <= start:
            continue
        last_end = end
        label = names[int(rng.integers(len(names)))]
        annotations.append({"segment": [start, end], "label": label})
        if len(names) > 1 and _THUMOS_PARTNERS.get(label) in names and rng.random() < 0.5:
            annotations.append({"segment": [start, end], "label": _THUMOS_PARTNERS[label]})
    return {"duration": duration, "frames": frames, "subset": subset, "annotations": annotations}


def _activitynet_video(name: str, subset: str, rng: np.random.Generator) -> dict[str, Any]:
    """Two minutes on average, one to a few long instances covering most of the video."""
    duration = float(np.clip(rng.lognormal(np.log(110.0), 0.55), 5.0, 750.0))
    count = int(min(1 + rng.poisson(0.55), 8))
    cover = rng.uniform(0.2, 0.98) * duration
    pieces = rng.dirichlet(np.ones(2 * count + 1))
    lengths, gaps = pieces[1::2] * cover, pieces[0::2] * (duration - cover)
    annotations, t = [], 0.0
    for k in range(count):
        start = t + gaps[k]
        t = start + lengths[k]
        annotations.append({"segment": [float(start), float(t)], "label": name})
    return {"duration": duration, "subset": subset, "annotations": annotations}


def main(argv: Sequence[str] | None = None) -> None:
    """CLI entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description="Write a synthetic feature dataset in the "
                                                 "ACM-Net or the W-TALC layout.")
    parser.add_argument("--dataset", choices=sorted(PROFILES), required=True)
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--gt", default=None, help="real gt.json: keep its videos and annotations")
    parser.add_argument("--split_dir", default=None,
                        help="folder of split_train.txt / split_test.txt (default: --gt's folder)")
    parser.add_argument("--num_videos", type=int, default=None)
    parser.add_argument("--feature_dim", type=int, default=2048)
    parser.add_argument("--format", choices=["npy", "h5", "wtalc"], default="npy")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = generate(args.out, args.dataset, args.gt, args.split_dir, args.num_videos,
                   args.feature_dim, args.format, args.seed)
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    print(f"wrote {meta['num_videos']} videos (D={args.feature_dim}) to {out}")


if __name__ == "__main__":
    main()
