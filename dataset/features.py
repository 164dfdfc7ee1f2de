"""Feature stores: ``store.get(video_id)`` gives the (T, D) snippet features of one video.

Three on-disk layouts (see data/README.md):
- ``NpyFolderStore``: the ACM-Net layout, one ``<video_id>.npy`` per video in a folder.
- ``H5Store``: one HDF5 file holding one (T, D) dataset per video (``convert_npy_to_h5`` builds it).
- ``WtalcStore``: the W-TALC / CO2-Net layout, one object array of (T, D) arrays plus
  ``videoname.npy`` in the same order.
Every array is validated (float, 2-D, width ``feature_dim``, at least one snippet, finite); a bad one
raises ValueError "<file>: <problem>", a missing one FileNotFoundError naming the path. Arrays keep
their stored dtype (the datasets cast to float32 after sampling, as the original).

``check_features(store, video_ids)`` checks a whole split before training from the files' headers
(existence, readability, dtype, shape, and for .npy files that the data is all there), so a bad
file stops the run at once rather than when an epoch first reads it.

CLI: ``python -m dataset.features --to-h5 FOLDER OUT.h5``.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import weakref
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Iterable, Sequence

import h5py
import numpy as np

from utils.io import new_file_mode

FORMATS = ("auto", "npy", "h5", "wtalc")
# How many problems check_features spells out before giving the count of the rest.
SHOWN_PROBLEMS = 3


class FeatureStore(ABC):
    """Read-only mapping video id -> validated (T, D) feature array."""

    def __init__(self, feature_dim: int) -> None:
        self.feature_dim = int(feature_dim)

    @abstractmethod
    def get(self, video_id: str) -> np.ndarray:
        """The (T, D) features of ``video_id``."""

    @abstractmethod
    def __contains__(self, video_id: object) -> bool:
        """Whether the store holds features of ``video_id``."""

    def check(self, video_id: str) -> None:
        """Raise what ``get(video_id)`` would raise for a missing or malformed array, reading as
        little as possible (stores override this with header reads; values are not scanned, so
        NaNs are still found by ``get`` only)."""
        self.get(video_id)

    def _layout_problem(self, shape: tuple[int, ...], dtype: np.dtype) -> str | None:
        """What is wrong with an array of ``shape`` and ``dtype`` as (T, D) features, or None."""
        if dtype.kind != "f":
            return f"expected a float array, got dtype {dtype}"
        if len(shape) != 2:
            return f"expected a 2-D (T, D) array, got shape {tuple(shape)}"
        if shape[1] != self.feature_dim:
            return f"feature width {shape[1]} != feature_dim {self.feature_dim}"
        if shape[0] < 1:
            return "empty array (0 snippets)"
        return None

    def _check_layout(self, array: Any, source: str) -> None:
        if not isinstance(array, np.ndarray):
            raise ValueError(f"{source}: expected a float array, got {type(array).__name__}")
        problem = self._layout_problem(array.shape, array.dtype)
        if problem:
            raise ValueError(f"{source}: {problem}")

    def _validate(self, array: Any, source: str) -> np.ndarray:
        self._check_layout(array, source)
        if not np.isfinite(array).all():
            raise ValueError(f"{source}: contains NaN or infinite values")
        return array


class NpyFolderStore(FeatureStore):
    """``<folder>/<video_id>.npy`` files (ACM-Net layout: ``DATA/train`` or ``DATA/test``)."""

    def __init__(self, folder: str | Path, feature_dim: int) -> None:
        super().__init__(feature_dim)
        self.folder = Path(folder)

    def path(self, video_id: str) -> Path:
        """The file holding ``video_id``'s features."""
        return self.folder / f"{video_id}.npy"

    def get(self, video_id: str) -> np.ndarray:
        path = self.path(video_id)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: feature file not found")
        try:
            array = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            raise ValueError(f"{path}: cannot read as a numeric .npy array ({err})") from None
        return self._validate(array, str(path))

    def check(self, video_id: str) -> None:
        """Header read only: the file exists and is readable, a float (T, D) array of width
        ``feature_dim`` with T >= 1, and long enough for the data its header announces."""
        path = self.path(video_id)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: feature file not found")
        try:
            with open(path, "rb") as handle:
                version = np.lib.format.read_magic(handle)
                # Format 3.0 differs from 2.0 only in the text encoding of structured field names.
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, _, dtype = read_header(handle)
                data_offset = handle.tell()
                size = os.fstat(handle.fileno()).st_size
        except OSError as err:
            raise ValueError(f"{path}: cannot read ({err.strerror or err})") from None
        except (ValueError, EOFError) as err:
            raise ValueError(f"{path}: cannot read as a numeric .npy array ({err})") from None
        problem = self._layout_problem(shape, dtype)
        if problem:
            raise ValueError(f"{path}: {problem}")
        expected = data_offset + int(np.prod(shape)) * dtype.itemsize
        if size < expected:
            raise ValueError(f"{path}: truncated: its header announces a {shape[0]} x {shape[1]} "
                             f"{dtype} array ({expected} bytes with the header) but the file has "
                             f"{size} bytes")

    def __contains__(self, video_id: object) -> bool:
        return isinstance(video_id, str) and self.path(video_id).is_file()


class H5Store(FeatureStore):
    """One HDF5 file with one (T, D) dataset per video, named by the video id.

    The file is opened on first use in each process (never inherited across a fork), so the store is
    safe to hand to DataLoader workers.
    """

    def __init__(self, path: str | Path, feature_dim: int) -> None:
        super().__init__(feature_dim)
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: HDF5 feature file not found")
        self._file: h5py.File | None = None
        self._pid: int | None = None

    def _handle(self) -> h5py.File:
        if self._file is None or self._pid != os.getpid():
            try:
                self._file = h5py.File(self.path, "r")
            except OSError as err:
                raise ValueError(f"{self.path}: cannot open as HDF5 ({err})") from None
            self._pid = os.getpid()
        return self._file

    def _dataset(self, video_id: str) -> h5py.Dataset:
        handle = self._handle()
        if video_id not in handle:
            raise FileNotFoundError(f"{self.path}: no dataset for video {video_id!r}")
        node = handle[video_id]
        if not isinstance(node, h5py.Dataset):
            raise ValueError(f"{self.path}: {video_id!r} is not a dataset")
        return node

    def get(self, video_id: str) -> np.ndarray:
        return self._validate(self._dataset(video_id)[()], f"{self.path}[{video_id}]")

    def check(self, video_id: str) -> None:
        """Metadata only: the dataset exists with a float (T, D) shape of width ``feature_dim``."""
        node = self._dataset(video_id)
        problem = self._layout_problem(node.shape or (), node.dtype)
        if problem:
            raise ValueError(f"{self.path}[{video_id}]: {problem}")

    def __contains__(self, video_id: object) -> bool:
        return isinstance(video_id, str) and video_id in self._handle()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_file"] = state["_pid"] = None
        return state


_LOADED: "weakref.WeakValueDictionary[tuple[str, int, int], np.ndarray]" = \
    weakref.WeakValueDictionary()
"""The W-TALC feature arrays loaded in this process, by (resolved path, mtime, size): a file is
read once while some store holds its array (a W-TALC features file can be tens of GB)."""


class WtalcStore(FeatureStore):
    """W-TALC layout: ``features_npy`` is an object array of (T, D) arrays in the order of
    ``videoname_npy`` (with the W-TALC annotation arrays ``segments.npy`` and ``labels.npy`` of
    ``eval.wtalc``, the only files loaded with ``allow_pickle=True``: only load trusted files).

    Ids are matched as given, or without a leading ``v_`` (ActivityNet W-TALC names drop it). The
    feature array is loaded on first use, once per process while any store holds it (the stores
    of both splits, which open the same file, share one copy: :data:`_LOADED`).
    """

    def __init__(self, features_npy: str | Path, videoname_npy: str | Path,
                 feature_dim: int) -> None:
        super().__init__(feature_dim)
        self.features_path = Path(features_npy)
        self.videoname_path = Path(videoname_npy)
        for path in (self.features_path, self.videoname_path):
            if not path.is_file():
                raise FileNotFoundError(f"{path}: W-TALC file not found")
        names = np.load(self.videoname_path, allow_pickle=False)
        self._index = {_as_str(name): k for k, name in enumerate(names.reshape(-1))}
        self._features: np.ndarray | None = None

    def _row(self, video_id: object) -> int | None:
        if not isinstance(video_id, str):
            return None
        if video_id in self._index:
            return self._index[video_id]
        if video_id.startswith("v_"):
            return self._index.get(video_id[2:])
        return None

    def _all(self) -> np.ndarray:
        if self._features is None:
            try:
                stat = self.features_path.stat()
                key = (str(self.features_path.resolve()), stat.st_mtime_ns, stat.st_size)
                features = _LOADED.get(key)
                if features is None:
                    features = np.load(self.features_path, allow_pickle=True)
                    _LOADED[key] = features
            except (ValueError, OSError, EOFError) as err:
                raise ValueError(f"{self.features_path}: cannot read ({err})") from None
            if features.ndim < 1 or len(features) != len(self._index):
                raise ValueError(f"{self.features_path}: {len(features)} entries but "
                                 f"{self.videoname_path} names {len(self._index)} videos")
            self._features = features
        return self._features

    def get(self, video_id: str) -> np.ndarray:
        row = self._row(video_id)
        if row is None:
            raise FileNotFoundError(f"{self.videoname_path}: no video {video_id!r}")
        return self._validate(self._all()[row], f"{self.features_path}[{video_id}]")

    def check(self, video_id: str) -> None:
        """The entry's dtype and shape (the object array is loaded whole anyway)."""
        row = self._row(video_id)
        if row is None:
            raise FileNotFoundError(f"{self.videoname_path}: no video {video_id!r}")
        self._check_layout(self._all()[row], f"{self.features_path}[{video_id}]")

    def __contains__(self, video_id: object) -> bool:
        return self._row(video_id) is not None


def check_features(store: FeatureStore, video_ids: Iterable[str],
                   source: str | None = None) -> None:
    """Check the features of every video of ``video_ids`` in ``store`` by ``store.check`` (header
    reads, no data loaded except for the W-TALC layout), so that a bad file is reported before
    training starts. ``source`` names the checked set in the summary (e.g. "test split").

    Raises one line: the problem itself when there is one ("<file>: <problem>"), else the first
    ``SHOWN_PROBLEMS`` problems and the count. FileNotFoundError when every problem is a missing
    file, ValueError otherwise.
    """
    problems: list[Exception] = []
    total = 0
    for video_id in video_ids:
        total += 1
        try:
            store.check(video_id)
        except (ValueError, FileNotFoundError) as err:
            problems.append(err)
    if not problems:
        return
    kind = (FileNotFoundError if all(isinstance(e, FileNotFoundError) for e in problems)
            else ValueError)
    if len(problems) == 1:
        raise kind(str(problems[0]))
    shown = "; ".join(str(e) for e in problems[:SHOWN_PROBLEMS])
    rest = len(problems) - SHOWN_PROBLEMS
    more = f"; and {rest} more" if rest > 0 else ""
    where = f" of the {source}" if source else ""
    raise kind(f"{shown}{more} ({len(problems)} of the {total} videos{where} have unusable "
               "features)")


def _as_str(name: Any) -> str:
    return name.decode("utf-8") if isinstance(name, bytes) else str(name)


def open_feature_store(data_dir: str | Path, split: str, feature_dim: int,
                       fmt: str = "auto") -> FeatureStore:
    """The store of ``split`` ("train" | "test") under ``data_dir``.

    fmt "npy": ``<data_dir>/<split>/``; "h5": ``<data_dir>/<split>.h5``; "wtalc": the single
    ``*Features.npy`` file in ``data_dir`` with ``videoname.npy`` beside it or in a
    ``*Annotations`` sub-folder (one store for both splits); "auto": the first of these that exists.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if fmt not in FORMATS:
        raise ValueError(f"feature format must be one of {FORMATS}, got {fmt!r}")
    root = Path(data_dir)
    folder, h5_path = root / split, root / f"{split}.h5"
    if fmt == "npy" or (fmt == "auto" and folder.is_dir()):
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: feature folder not found")
        return NpyFolderStore(folder, feature_dim)
    if fmt == "h5" or (fmt == "auto" and h5_path.is_file()):
        return H5Store(h5_path, feature_dim)
    wtalc = _find_wtalc(root)
    if wtalc is None:
        raise FileNotFoundError(f"{root}: no features found (looked for {split}/, {split}.h5 and a "
                                "W-TALC *Features.npy with videoname.npy)")
    return WtalcStore(wtalc[0], wtalc[1], feature_dim)


def _find_wtalc(root: Path) -> tuple[Path, Path] | None:
    features = sorted(root.glob("*Features.npy"))
    names = [root / "videoname.npy", *sorted(root.glob("*Annotations/videoname.npy"))]
    names = [path for path in names if path.is_file()]
    if len(features) != 1 or not names:
        return None
    return features[0], names[0]


def convert_npy_to_h5(folder: str | Path, out_path: str | Path) -> Path:
    """Copy every ``<folder>/<video_id>.npy`` (2-D, one common width) into ``out_path`` as dataset
    ``<video_id>``, keeping dtypes. Written to a temporary file beside ``out_path`` and renamed,
    so it is atomic; the file gets the umask's permissions."""
    folder, out_path = Path(folder), Path(out_path)
    files = sorted(folder.glob("*.npy"))
    if not files:
        raise FileNotFoundError(f"{folder}: no .npy feature files")
    try:
        fd, tmp_name = tempfile.mkstemp(dir=out_path.parent, prefix=f".{out_path.name}.",
                                        suffix=".tmp")
    except OSError as err:
        raise OSError(f"{out_path}: cannot write: folder {out_path.parent} is missing or not "
                      f"writable ({err.strerror})") from None
    os.close(fd)
    tmp_path = Path(tmp_name)
    width = None
    try:
        with h5py.File(tmp_path, "w") as out:
            for path in files:
                array = np.load(path, allow_pickle=False)
                if array.ndim != 2 or (width is not None and array.shape[1] != width):
                    raise ValueError(f"{path}: expected a 2-D array of width "
                                     f"{width if width is not None else 'D'}, got {array.shape}")
                width = array.shape[1]
                out.create_dataset(path.stem, data=array)
        os.chmod(tmp_path, new_file_mode())
        os.replace(tmp_path, out_path)
    finally:
        tmp_path.unlink(missing_ok=True)
    return out_path


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m dataset.features --to-h5 FOLDER OUT.h5``."""
    parser = argparse.ArgumentParser(description="Feature store tools.")
    parser.add_argument("--to-h5", nargs=2, metavar=("FOLDER", "OUT_H5"), required=True,
                        help="convert a folder of <video_id>.npy files into one HDF5 file")
    args = parser.parse_args(argv)
    out = convert_npy_to_h5(*args.to_h5)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
