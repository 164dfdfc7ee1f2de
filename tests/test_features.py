"""Feature stores: round trips of the three layouts, detection, and bad input."""
from __future__ import annotations

import os
import pickle
import stat
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from dataset.annotations import VideoInfo
from dataset.features import (H5Store, NpyFolderStore, WtalcStore, convert_npy_to_h5, main,
                              open_feature_store)
from dataset.videos import VideoDataset

D = 6


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {"video_a": rng.standard_normal((7, D)).astype(np.float32),
            "v_b-c_d": rng.standard_normal((1, D)).astype(np.float32),
            "video_e": rng.standard_normal((40, D)).astype(np.float64)}


def _npy_folder(root: Path, arrays: dict[str, np.ndarray]) -> Path:
    folder = root / "train"
    folder.mkdir(parents=True)
    for name, array in arrays.items():
        np.save(folder / f"{name}.npy", array)
    return folder


def _assert_round_trip(store, arrays: dict[str, np.ndarray]) -> None:
    for name, array in arrays.items():
        assert name in store
        got = store.get(name)
        assert got.dtype == array.dtype
        np.testing.assert_array_equal(got, array)
    assert "absent" not in store


def test_npy_folder_round_trip(tmp_path: Path) -> None:
    arrays = _arrays()
    _npy_folder(tmp_path, arrays)
    store = open_feature_store(tmp_path, "train", D)
    assert isinstance(store, NpyFolderStore)
    _assert_round_trip(store, arrays)


def test_h5_converter_round_trip_and_cli(tmp_path: Path) -> None:
    arrays = _arrays()
    folder = _npy_folder(tmp_path / "src", arrays)
    convert_npy_to_h5(folder, tmp_path / "train.h5")
    main(["--to-h5", str(folder), str(tmp_path / "test.h5")])
    for split in ("train", "test"):
        store = open_feature_store(tmp_path, split, D)
        assert isinstance(store, H5Store)
        _assert_round_trip(store, arrays)
    assert not list(tmp_path.glob("*.tmp"))


def test_h5_store_pickles_without_handle_and_works_in_workers(tmp_path: Path) -> None:
    arrays = _arrays()
    convert_npy_to_h5(_npy_folder(tmp_path, arrays), tmp_path / "f.h5")
    store = H5Store(tmp_path / "f.h5", D)
    store.get("video_a")  # opens the file in this process
    clone = pickle.loads(pickle.dumps(store))
    np.testing.assert_array_equal(clone.get("video_e"), arrays["video_e"])
    videos = [VideoInfo(name, 1.0, np.zeros(2, np.float32), (), "test") for name in arrays]
    dataset = VideoDataset(videos, store, num_segments=4, train=True, seed=3)
    serial = [dataset[i]["features"] for i in range(len(dataset))]
    loader = DataLoader(dataset, batch_size=None, num_workers=2,
                        multiprocessing_context="fork")
    for expected, item in zip(serial, loader):
        torch.testing.assert_close(item["features"], expected)


def test_wtalc_round_trip_and_v_prefix(tmp_path: Path) -> None:
    arrays = _arrays()
    names = np.array([b"video_a", b"b-c_d", b"video_e"])  # W-TALC ActivityNet ids drop "v_"
    features = np.empty(3, dtype=object)
    for k, array in enumerate(arrays.values()):
        features[k] = array
    np.save(tmp_path / "Thumos14reduced-I3D-JOINTFeatures.npy", features, allow_pickle=True)
    (tmp_path / "Thumos14reduced-Annotations").mkdir()
    np.save(tmp_path / "Thumos14reduced-Annotations" / "videoname.npy", names)
    store = open_feature_store(tmp_path, "test", D)
    assert isinstance(store, WtalcStore)
    _assert_round_trip(store, arrays)
    assert "b-c_d" in store


def test_wtalc_length_mismatch(tmp_path: Path) -> None:
    features = np.empty(1, dtype=object)
    features[0] = np.zeros((3, D), np.float32)
    np.save(tmp_path / "feat.npy", features, allow_pickle=True)
    np.save(tmp_path / "names.npy", np.array(["a", "b"]))
    with pytest.raises(ValueError, match="feat.npy"):
        WtalcStore(tmp_path / "feat.npy", tmp_path / "names.npy", D).get("a")


def test_no_store_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        open_feature_store(tmp_path, "train", D)
    with pytest.raises(FileNotFoundError, match="train.h5"):
        open_feature_store(tmp_path, "train", D, fmt="h5")


@pytest.mark.parametrize("array,problem", [
    (np.zeros((5, D + 1), np.float32), f"feature width {D + 1} != feature_dim {D}"),
    (np.zeros((0, D), np.float32), "empty"),
    (np.full((3, D), np.nan, np.float32), "NaN"),
    (np.zeros(D, np.float32), "2-D"),
])
def test_bad_arrays_name_the_file(tmp_path: Path, array: np.ndarray, problem: str) -> None:
    np.save(tmp_path / "bad.npy", array)
    with pytest.raises(ValueError) as err:
        NpyFolderStore(tmp_path, D).get("bad")
    assert str(tmp_path / "bad.npy") in str(err.value) and problem in str(err.value)
    with h5py.File(tmp_path / "bad.h5", "w") as f:
        f.create_dataset("bad", data=array)
    with pytest.raises(ValueError) as err:
        H5Store(tmp_path / "bad.h5", D).get("bad")
    assert str(tmp_path / "bad.h5") in str(err.value) and problem in str(err.value)


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nope.npy")):
        NpyFolderStore(tmp_path, D).get("nope")
    objects = np.empty(1, dtype=object)
    objects[0] = {"not": "features"}
    np.save(tmp_path / "pickled.npy", objects, allow_pickle=True)
    with pytest.raises(ValueError, match="pickled.npy"):
        NpyFolderStore(tmp_path, D).get("pickled")
    (tmp_path / "garbage.npy").write_bytes(b"not an npy file")
    with pytest.raises(ValueError, match="garbage.npy"):
        NpyFolderStore(tmp_path, D).get("garbage")
    with h5py.File(tmp_path / "f.h5", "w") as f:
        f.create_dataset("a", data=np.zeros((2, D)))
    with pytest.raises(FileNotFoundError, match="f.h5"):
        H5Store(tmp_path / "f.h5", D).get("b")


def test_h5_converter_is_atomic_with_umask_permissions(tmp_path: Path) -> None:
    folder = _npy_folder(tmp_path / "src", _arrays())
    saved = os.umask(0o022)
    try:
        out = convert_npy_to_h5(folder, tmp_path / "train.h5")
    finally:
        os.umask(saved)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src", "train.h5"]
    with pytest.raises(OSError, match=r"nope/x.h5: cannot write"):
        convert_npy_to_h5(folder, tmp_path / "nope" / "x.h5")
