"""dataset.synthetic: layout, lengths, labels, quirks, determinism and a learnable, non-trivial
signal."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from config import dataset_config
from dataset.annotations import load_gt, load_videos, read_split
from dataset.features import open_feature_store
from dataset.synthetic import SyntheticFeatureModel, _coverage, generate, main, num_snippets

THUMOS = dataset_config("THUMOS")["class_names"]
ANET = dataset_config("ActivityNet")["class_names"]


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_real_thumos_list(real_thumos: Path, tmp_path: Path) -> None:
    root = real_thumos
    out = generate(tmp_path / "a", "thumos", gt=root / "gt.json", feature_dim=8, seed=3)
    assert load_gt(out / "gt.json") == load_gt(root / "gt.json")  # every quirk kept
    for name in ("split_train.txt", "split_test.txt"):
        assert read_split(out / name) == read_split(root / name)
    assert json.loads((out / "meta.json").read_text())["feature_dim"] == 8
    database = load_gt(root / "gt.json")
    assert len(list((out / "train").glob("*.npy"))) == 200
    assert len(list((out / "test").glob("*.npy"))) == 210
    assert not (out / "test" / "video_test_0000270.npy").exists()
    for split in ("train", "test"):
        store = open_feature_store(out, split, 8)
        videos = load_videos(out / "gt.json", out / f"split_{split}.txt", THUMOS)
        for video in videos:
            features = store.get(video.video_id)
            assert features.dtype == np.float32
            assert len(features) == max(1, round(database[video.video_id]["duration"] * 25 / 16))
    # Determinism: same seed, same bytes; another seed, other features.
    main(["--dataset", "thumos", "--out", str(tmp_path / "b"), "--gt", str(root / "gt.json"),
          "--feature_dim", "8", "--seed", "3"])
    assert _digest(out) == _digest(tmp_path / "b")
    other = generate(tmp_path / "c", "thumos", gt=root / "gt.json", num_videos=6, feature_dim=8,
                     seed=4)
    vid = read_split(other / "split_train.txt")[0]
    assert not np.array_equal(np.load(other / "train" / f"{vid}.npy"),
                              np.load(out / "train" / f"{vid}.npy"))


def test_real_activitynet_subset_keeps_missing_videos_quirk(real_anet: Path,
                                                            tmp_path: Path) -> None:
    root = real_anet
    splits = tmp_path / "splits"
    splits.mkdir()
    train, test = read_split(root / "split_train.txt"), read_split(root / "split_test.txt")
    database = load_gt(root / "gt.json")
    missing = [v for v in train + test if v not in database]
    present = [v for v in train + test if v in database]
    assert len(missing) == 10
    (splits / "split_train.txt").write_text("\n".join(present[:150] + missing[:4]))
    (splits / "split_test.txt").write_text("\n".join(present[-50:] + missing[4:]))
    out = generate(tmp_path / "out", "activitynet", gt=root / "gt.json", split_dir=splits,
                   feature_dim=8, fmt="h5")
    with pytest.warns(UserWarning, match="4 video"):
        videos = load_videos(out / "gt.json", out / "split_train.txt", ANET)
    store = open_feature_store(out, "train", 8)
    assert len(videos) == 150 and all(v not in store for v in missing)
    for video in videos:
        assert len(store.get(video.video_id)) == num_snippets(database[video.video_id]["duration"])
    assert len(load_gt(out / "gt.json")) == len(database)


def test_real_activitynet_num_videos_covers_every_class(real_anet: Path,
                                                        tmp_path: Path) -> None:
    root = real_anet
    out = generate(tmp_path, "activitynet", gt=root / "gt.json", num_videos=300, feature_dim=4)
    train = load_videos(out / "gt.json", out / "split_train.txt", ANET)
    test = load_videos(out / "gt.json", out / "split_test.txt", ANET)
    assert len(train) + len(test) == 300 and len(train) == 201
    assert np.stack([v.labels for v in train]).sum(axis=0).min() >= 1
    assert {v.subset for v in train} == {"train"} and {v.subset for v in test} == {"val"}


@pytest.mark.parametrize("dataset,names,subsets", [
    ("thumos", THUMOS, ("validation", "test")), ("activitynet", ANET, ("train", "val"))])
def test_drawn_annotations(tmp_path: Path, dataset: str, names: list[str],
                           subsets: tuple[str, str]) -> None:
    n = 50 if dataset == "thumos" else 320
    out = generate(tmp_path / "npy", dataset, num_videos=n, feature_dim=4, seed=1)
    h5 = generate(tmp_path / "h5", dataset, num_videos=n, feature_dim=4, seed=1, fmt="h5")
    train = load_videos(out / "gt.json", out / "split_train.txt", names)
    test = load_videos(out / "gt.json", out / "split_test.txt", names)
    assert len(train) + len(test) == n
    assert np.stack([v.labels for v in train]).sum(axis=0).min() >= 1
    assert {v.subset for v in train} == {subsets[0]} and {v.subset for v in test} == {subsets[1]}
    segments_per_video = np.mean([len(v.segments) for v in train + test])
    if dataset == "thumos":
        assert all(v.video_id.startswith("video_") for v in train + test)
        assert segments_per_video > 5 and any(v.labels.sum() > 1 for v in train + test)
    else:
        assert all(v.video_id.startswith("v_") and len(v.video_id) == 13 for v in train + test)
        assert 1 <= segments_per_video < 3
    for split, videos in (("train", train), ("test", test)):
        npy_store, h5_store = open_feature_store(out, split, 4), open_feature_store(h5, split, 4)
        for video in videos:
            assert len(npy_store.get(video.video_id)) == num_snippets(video.duration)
            np.testing.assert_array_equal(npy_store.get(video.video_id),
                                          h5_store.get(video.video_id))


def _feature_statistics(real_thumos: Path, out: Path, d: int) -> dict[str, float]:
    out = generate(out, "thumos", gt=real_thumos / "gt.json", num_videos=30,
                   feature_dim=d, seed=0)
    model = SyntheticFeatureModel(d, len(THUMOS), seed=0)
    store = open_feature_store(out, "train", d)
    inside, outside, feats, covers, adjacent = [], [], [], [], []
    for video in load_videos(out / "gt.json", out / "split_train.txt", THUMOS):
        features = store.get(video.video_id)
        cover = np.zeros((len(features), len(THUMOS)))
        for start, end, c in video.segments:
            cover[:, c] = np.maximum(cover[:, c], _coverage(start, end, len(features)))
        for c in {c for _, _, c in video.segments}:
            projection = features @ model.action[c]
            inside.append(projection[cover[:, c] > 0.99])
            outside.append(projection[cover.max(axis=1) == 0])
        unit = features / np.linalg.norm(features, axis=1, keepdims=True)
        adjacent.append((unit[1:] * unit[:-1]).sum(axis=1))
        feats.append(features)
        covers.append(cover.max(axis=1))
    inside, outside = np.concatenate(inside), np.concatenate(outside)
    x, cover = np.concatenate(feats), np.concatenate(covers)
    actionness = (cover > 0.5).astype(float)
    norms = np.linalg.norm(x, axis=1)
    return {
        "min": float(x.min()),
        "active": float((x > 0).mean()),
        "adjacent_cos": float(np.median(np.concatenate(adjacent))),
        "class_snr": float((inside.mean() - outside.mean()) / outside.std()),
        "norm_ratio": float(np.median(norms[cover > 0.99]) / np.median(norms[cover == 0])),
        "background_norm": float(np.median(norms[cover == 0])),
        "best_channel_corr": float(np.max(np.abs([np.corrcoef(x[:, k], actionness)[0, 1]
                                                  for k in range(d)]))),
    }


def test_features_look_like_pooled_i3d_and_carry_a_learnable_signal(real_thumos: Path,
                                                                    tmp_path: Path) -> None:
    stats = _feature_statistics(real_thumos, tmp_path / "d256", 256)
    assert stats["min"] >= 0.0                        # ReLU outputs
    assert 0.25 < stats["active"] < 0.6               # a sparse share of active channels
    assert 0.6 < stats["adjacent_cos"] < 0.95         # smooth in time, but not constant
    assert stats["class_snr"] > 2.0                   # the class pattern stands out in its actions
    assert stats["norm_ratio"] > 2.0                  # action snippets have larger norms
    assert stats["best_channel_corr"] < 0.9           # no single channel is an action indicator
    small = _feature_statistics(real_thumos, tmp_path / "d64", 64)
    assert abs(small["background_norm"] / stats["background_norm"] - 1) < 0.15  # norms keep with D
    model = SyntheticFeatureModel(256, len(THUMOS), seed=0)
    half = (model.action[:, :128] ** 2).sum(axis=1) / (model.action ** 2).sum(axis=1)
    assert np.all((half > 0.3) & (half < 0.7))        # both RGB and flow halves carry the class
