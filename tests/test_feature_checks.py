"""dataset.features.check_features: header-only checks of a whole split before training."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from dataset.features import (H5Store, NpyFolderStore, WtalcStore, check_features,
                              open_feature_store)
from dataset.synthetic import generate
from tests.helpers import REPO_ROOT

D = 8


def _good(length: int = 5) -> np.ndarray:
    return np.random.default_rng(length).random((length, D), dtype=np.float32)


def _folder(root: Path, arrays: dict[str, np.ndarray]) -> NpyFolderStore:
    root.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        np.save(root / f"{name}.npy", array)
    return NpyFolderStore(root, D)


def _truncate(path: Path, keep: int) -> None:
    path.write_bytes(path.read_bytes()[:keep])


def test_good_split_passes_without_loading_data(tmp_path: Path, monkeypatch) -> None:
    store = _folder(tmp_path, {"a": _good(5), "b": _good(1), "c": _good(9).astype(np.float64)})

    def no_load(*args, **kwargs):
        raise AssertionError("check_features must read headers only")

    monkeypatch.setattr(np, "load", no_load)
    check_features(store, ["a", "b", "c"], "train split")


@pytest.mark.parametrize("make,problem", [
    (lambda p: (np.save(p, _good(50)), _truncate(p, 128 + 10 * D * 4)), "truncated"),
    (lambda p: (np.save(p, _good(3)), _truncate(p, 60)), "cannot read as a numeric .npy"),
    (lambda p: p.write_bytes(b"garbage, not an array" * 10), "cannot read as a numeric .npy"),
    (lambda p: p.write_bytes(b""), "cannot read as a numeric .npy"),
    (lambda p: np.save(p, _good(4)[:, :D - 1]), f"feature width {D - 1} != feature_dim {D}"),
    (lambda p: np.save(p, np.zeros((0, D), np.float32)), "empty array (0 snippets)"),
    (lambda p: np.save(p, np.zeros(D, np.float32)), "expected a 2-D (T, D) array"),
    (lambda p: np.save(p, np.zeros((4, D), np.int64)), "expected a float array"),
    (lambda p: np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True),
     "expected a float array"),
])
def test_bad_npy_file_is_named(tmp_path: Path, make, problem: str) -> None:
    store = _folder(tmp_path, {"good": _good()})
    make(tmp_path / "bad.npy")
    with pytest.raises(ValueError) as err:
        check_features(store, ["good", "bad"], "test split")
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'bad.npy'}: ") and problem in message, message
    assert "\n" not in message


def test_truncated_message_gives_sizes(tmp_path: Path) -> None:
    store = _folder(tmp_path, {"v": _good(50)})
    path = tmp_path / "v.npy"
    full = path.stat().st_size
    _truncate(path, full - 4)
    with pytest.raises(ValueError, match=rf"50 x {D} float32 array \({full} bytes with the "
                                         rf"header\) but the file has {full - 4} bytes"):
        check_features(store, ["v"])


def test_missing_file(tmp_path: Path) -> None:
    store = _folder(tmp_path, {"a": _good()})
    with pytest.raises(FileNotFoundError, match=f"{tmp_path / 'gone.npy'}: feature file not found"):
        check_features(store, ["a", "gone"])


def test_many_problems_are_summed_up(tmp_path: Path) -> None:
    store = _folder(tmp_path, {"ok": _good(), "wide": np.zeros((3, D + 1), np.float32)})
    ids = ["ok", "wide"] + [f"gone{k}" for k in range(5)]
    with pytest.raises(ValueError) as err:
        check_features(store, ids, "test split")
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'wide.npy'}: feature width {D + 1}")
    assert f"{tmp_path / 'gone0.npy'}: feature file not found" in message
    assert "gone2" not in message and "and 3 more" in message
    assert message.endswith("(6 of the 7 videos of the test split have unusable features)")
    with pytest.raises(FileNotFoundError, match=r"and 2 more \(5 of the 5 videos have"):
        check_features(store, [f"gone{k}" for k in range(5)])


def test_get_is_unchanged_and_still_finds_nans(tmp_path: Path) -> None:
    nan = _good()
    nan[2, 3] = np.nan
    store = _folder(tmp_path, {"nan": nan, "good": _good()})
    check_features(store, ["nan", "good"])  # values are not scanned
    np.testing.assert_array_equal(store.get("good"), _good())
    with pytest.raises(ValueError, match="NaN"):
        store.get("nan")


def test_h5_store(tmp_path: Path) -> None:
    path = tmp_path / "test.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("good", data=_good())
        f.create_dataset("wide", data=np.zeros((3, D + 2), np.float32))
        f.create_dataset("empty", data=np.zeros((0, D), np.float32))
        f.create_group("group")
    store = open_feature_store(tmp_path, "test", D)
    assert isinstance(store, H5Store)
    check_features(store, ["good"])
    for video_id, kind, problem in (("wide", ValueError, f"feature width {D + 2}"),
                                    ("empty", ValueError, "empty array"),
                                    ("group", ValueError, "is not a dataset"),
                                    ("absent", FileNotFoundError, "no dataset for video")):
        with pytest.raises(kind) as err:
            check_features(store, ["good", video_id])
        assert str(err.value).startswith(f"{path}") and problem in str(err.value), video_id
    cut = tmp_path / "cut.h5"
    cut.write_bytes(path.read_bytes()[:path.stat().st_size - 16])
    with pytest.raises(ValueError, match=rf"{cut}: cannot open as HDF5"):
        check_features(H5Store(cut, D), ["good"])


def test_wtalc_store(tmp_path: Path) -> None:
    features = np.empty(3, dtype=object)
    features[0], features[1], features[2] = _good(), np.zeros((2, D - 1), np.float32), _good(2)
    np.save(tmp_path / "Thumos14-I3D-JOINTFeatures.npy", features, allow_pickle=True)
    np.save(tmp_path / "videoname.npy", np.array([b"a", b"b", b"c"]))
    store = open_feature_store(tmp_path, "train", D)
    assert isinstance(store, WtalcStore)
    check_features(store, ["a", "c"])
    with pytest.raises(ValueError, match=rf"JOINTFeatures.npy\[b\]: feature width {D - 1}"):
        check_features(store, ["a", "b", "c"])
    with pytest.raises(FileNotFoundError, match=r"videoname.npy: no video 'zz'"):
        check_features(store, ["zz"])


def test_command_line_stops_before_training_on_a_bad_test_file(tmp_path: Path) -> None:
    """A truncated test feature file is reported before the first training step, as one line."""
    data = generate(tmp_path / "data", dataset="thumos", num_videos=6, feature_dim=D)
    bad = sorted((data / "test").glob("*.npy"))[-1]
    _truncate(bad, bad.stat().st_size - 8)
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "main_thu.py", "--data_dir", str(data), "--feature_dim",
                           str(D), "--without_wandb", "--device", "cpu", "--epochs", "1",
                           "--output_dir", str(out)], cwd=REPO_ROOT, capture_output=True,
                          text=True)
    assert done.returncode == 1, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}: truncated"), done.stderr
    assert not list(out.rglob("*.pth")) and not (out / "metrics.csv").exists()
