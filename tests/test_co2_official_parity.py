"""Issue 24's must-hold, end to end: a CO2-Net checkpoint in the official format (a bare state
dict, as the original's ``torch.save(model.state_dict(), ...)`` writes it) loads strictly into
``--method co2net --test`` and gives the official test pipeline's detections on the same weights
and features.

The official side is the literal ports only: the network ``OriginalCO2``
(``tests/reference/original_co2_model.py``), the test loop of ``C:test.py``
(``tests/reference/original_wtalc_test_loop.py``) with ``multiple_threshold_hamnet`` and its
Ambiguous filter (``tests/reference/original_co2_proposals.py``), and ``ANETdetection``
(``tests/reference/original_wtalc_eval.py``). The project side is one ``main_thu.py`` call,
``engine.run.main("THUMOS", [...])``, reading the same W-TALC files. The weights are a seeded
``OriginalCO2`` at small sizes, perturbed so that several classes are localized and two classes
often pass the 0.2 threshold together; the test checks that this is so, so that it cannot pass on
empty or one-class output.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import torch

from dataset.synthetic import WTALC_ANNOTATIONS, WTALC_FEATURES, generate
from engine.run import main
from tests.helpers import wtalc_engine_rows, wtalc_port_rows, wtalc_snippet, within_rtol
from tests.reference.original_co2_model import OriginalCO2
from tests.reference.original_wtalc_eval import ANETdetection
from tests.reference.original_wtalc_test_loop import eval_call, original_test_loop

DIM, HIDDEN, CLASSES = 16, 4, 20
TIME_TOL = 1e-6


def co2_test_args(data: Path, checkpoint: Path, out: Path, *extra: str) -> list[str]:
    return ["--method", "co2net", "--test", "--checkpoint", str(checkpoint), "--data_dir",
            str(data), "--feature_dim", str(DIM), "--ccm_hidden", str(HIDDEN), "--output_dir",
            str(out), "--without_wandb", "--threads", "1", *extra]


def official_weights() -> OriginalCO2:
    """A seeded ``OriginalCO2`` (16 inputs, CCM hidden 4), every tensor moved by N(0, 0.05) noise,
    and the classifier's output rows tied in pairs (2c + 1 = 2c + a small difference) so that two
    classes often have close logits and both pass the 0.2 video-score threshold."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = OriginalCO2(n_feature=DIM, n_class=CLASSES, hidden=HIDDEN)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(0.05 * torch.randn(param.shape, generator=gen))
        weight = model.classifier[4].weight
        for c in range(0, CLASSES, 2):
            weight[c + 1] = weight[c] + 0.05 * torch.randn(weight.shape[1:], generator=gen)
    return model.eval()


def plant_lone_firstwtalc_snippet(data: Path) -> int:
    """Make the shortest test video one whose attention, under :func:`official_weights`, passes
    the upper thresholds at snippet 0 alone: every row zero but row 0, ten times its old value.
    The original's ``idx.any()`` (spec Q8) then drops those thresholds' proposal [0, 1). Rewrites
    the feature file; returns the video's position in the arrays."""
    path = data / WTALC_FEATURES
    features = np.load(path, allow_pickle=True)
    subset = np.load(data / WTALC_ANNOTATIONS / "subset.npy")
    index = min((i for i, s in enumerate(subset) if s == b"test"), key=lambda i: len(features[i]))
    planted = np.zeros_like(features[index])
    planted[0] = 10 * features[index][0]
    features[index] = planted
    np.save(path, features, allow_pickle=True)
    return index


class _Threads:
    """The engine runs with ``--threads 1``; the port runs with one thread too (and the caller's
    count is restored), so both sides' float32 convolutions accumulate alike."""

    def __enter__(self) -> None:
        self.saved = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc) -> None:
        torch.set_num_threads(self.saved)


@pytest.fixture(scope="module")
def parity(tmp_path_factory):
    """The synthetic W-TALC set (21 test videos, one of them planted for Q8), the official-format
    checkpoint, one engine ``--test`` run of it and the port's test loop over the same arrays
    (with the Ambiguous file, and with a missing one, which the original silently ignores)."""
    base = tmp_path_factory.mktemp("co2_parity")
    data = generate(base / "data", dataset="thumos", num_videos=40, feature_dim=DIM, fmt="wtalc",
                    seed=7)
    folder = data / WTALC_ANNOTATIONS
    quirk_video = plant_lone_firstwtalc_snippet(data)
    model = official_weights()
    checkpoint = base / "best_CO2_3552.pkl"
    torch.save(model.state_dict(), checkpoint)
    out = base / "test_run"
    assert main("THUMOS", co2_test_args(data, checkpoint, out)) == 0
    arrays = dict(features=np.load(data / WTALC_FEATURES, allow_pickle=True),
                  videoname=np.load(folder / "videoname.npy"),
                  subset=np.load(folder / "subset.npy"),
                  labels_all=np.load(folder / "labels_all.npy", allow_pickle=True),
                  classlist=np.load(folder / "classlist.npy"))
    with _Threads():
        port = original_test_loop(model_call=eval_call(model),
                                  ambiguous_path=str(folder / "Ambiguous_test.txt"), **arrays)
        unfiltered = original_test_loop(model_call=eval_call(model),
                                        ambiguous_path=str(base / "no_such_file.txt"), **arrays)
    classes = [c.decode() for c in arrays["classlist"]]
    return dict(data=data, folder=folder, checkpoint=checkpoint, out=out, port=port,
                unfiltered=unfiltered, classes=classes, quirk_video=quirk_video, model=model,
                arrays=arrays,
                results=json.loads((out / "THUMOS_results.json").read_text()),
                metrics=json.loads((out / "metrics.json").read_text()))


# ----------------------------------------------------------------------------- the weights

def test_the_checkpoint_is_the_official_bare_state_dict(parity):
    state = torch.load(parity["checkpoint"], weights_only=True)
    assert isinstance(state, dict) and len(state) == 28
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    assert {"feat_encoder.0.weight", "feat_encoder.0.bias", "classifier.4.weight"} <= set(state)
    assert state["classifier.4.weight"].shape == (CLASSES + 1, DIM, 1)


def test_the_detections_are_not_trivial(parity):
    """Several classes, two classes in one video, several proposals in every video, and the
    Ambiguous filter dropping some: a comparison of these is not vacuous."""
    port, frame = parity["port"], parity["port"].proposals
    per_video = frame.groupby("video-id")
    assert sorted(per_video.groups) == sorted(port.video_names) and len(port.video_names) >= 15
    assert per_video.size().min() >= 5 and len(frame) > 1000
    assert frame["label"].nunique() >= 5
    assert (per_video["label"].nunique() >= 2).sum() >= 3
    assert len(parity["unfiltered"].proposals) > len(frame)         # the filter bit somewhere
    # the planted video: some thresholds keep snippet 0 alone, which idx.any() drops (Q8)
    index = parity["quirk_video"]
    x = torch.from_numpy(parity["arrays"]["features"][index]).float()[None]
    with torch.no_grad():
        attn = parity["model"](x)["attn"][0, :, 0].numpy()
    thresholds = np.linspace(0.1, 0.9, 10).astype(np.float32)
    alone = [t for t in thresholds if attn[0] > t and (attn[1:] <= t).all()]
    assert len(alone) >= 2 and any((attn > t).sum() > 1 for t in thresholds)
    name = parity["arrays"]["videoname"][index].decode()
    assert name in port.video_names
    # every class has ground truth among the test videos (the reference evaluator needs it)
    labels = np.load(parity["folder"] / "labels.npy", allow_pickle=True)
    subset = np.load(parity["folder"] / "subset.npy")
    assert {lab for labs, s in zip(labels, subset) if s == b"test" for lab in labs} == \
        set(parity["classes"])


# ----------------------------------------------------------------------------- parity

def test_the_engine_tests_the_arrays_test_videos_in_order(parity):
    assert list(parity["results"]["results"]) == parity["port"].video_names


def test_the_detections_are_the_official_pipelines(parity):
    """The same multiset of (video, class, start, end) detections, times within 1e-6 s of the
    port's snippet index x 16/25, scores within 1e-6 relative, matched one to one: the detections
    of one (video, class, start, end) differ only by score, so sorting the scores of each key on
    both sides is the best one-to-one matching (exact ties included)."""
    ours = wtalc_engine_rows(parity["results"], parity["classes"])
    theirs = wtalc_port_rows(parity["port"].proposals, parity["port"].video_names)
    assert set(ours) == set(theirs)
    groups: dict[tuple, list[list[float]]] = defaultdict(lambda: [[], []])
    for side, rows in enumerate((ours, theirs)):
        for video, dets in rows.items():
            for c, start, end, score in dets:
                groups[(video, c, wtalc_snippet(start), wtalc_snippet(end))][side].append(score)
    counts = (sum(len(a) for a, _ in groups.values()), sum(len(v) for v in theirs.values()))
    assert counts[0] == counts[1], f"engine {counts[0]} detections, official {counts[1]}"
    unmatched = [(key, len(a), len(b)) for key, (a, b) in groups.items() if len(a) != len(b)]
    assert not unmatched, unmatched[:5]
    bad = [(key, a, b) for key, (a, b) in groups.items()
           if not all(within_rtol(x, y) for x, y in zip(sorted(a), sorted(b)))]
    assert not bad, bad[:5]


def test_the_detections_come_in_the_originals_order(parity):
    """Row by row in each video's order (classes in selection order, each in soft-NMS output
    order, after the filter): the order the W-TALC evaluator's reversed quicksort sees on ties."""
    ours = wtalc_engine_rows(parity["results"], parity["classes"])
    theirs = wtalc_port_rows(parity["port"].proposals, parity["port"].video_names)
    for video, rows in theirs.items():
        assert len(ours[video]) == len(rows), video
        for k, ((c, s, e, score), (c2, s2, e2, score2)) in enumerate(zip(ours[video], rows)):
            assert c == c2 and abs(s - s2) <= TIME_TOL and abs(e - e2) <= TIME_TOL \
                and within_rtol(score, score2), (video, k, (c, s, e, score), (c2, s2, e2, score2))


def test_the_wtalc_table_is_the_original_evaluators(parity):
    """metrics.json "wtalc" against ``ANETdetection`` on the port's proposal frame, at the run's
    thresholds (the original's 0.1, 0.2, ..., 0.9): mAP per threshold and AP per class."""
    table = parity["metrics"]["wtalc"]
    assert table["tiou"] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    evaluator = ANETdetection(str(parity["folder"]), np.array(table["tiou"]), subset="test")
    evaluator.prediction = parity["port"].proposals
    want = evaluator.evaluate()
    assert np.count_nonzero(want) >= 5                       # not an all-zero table
    np.testing.assert_allclose(table["mAP"], want, rtol=0, atol=1e-12)
    assert set(table["per_class"]) == set(parity["classes"])
    for c, name in enumerate(parity["classes"]):
        np.testing.assert_allclose(table["per_class"][name], evaluator.ap[:, c], rtol=0,
                                   atol=1e-12, err_msg=name)
    assert table["num_predictions"] == len(parity["port"].proposals)


# ----------------------------------------------------------------------------- strict load

@pytest.mark.parametrize("change, says", [
    ("missing", "missing keys: feat_encoder.0.weight"),
    ("extra", "unexpected keys: extra.weight"),
    ("shape", "shape mismatch: classifier.4.weight"),
])
def test_a_state_dict_that_does_not_fit_is_refused(parity, tmp_path, capsys, change, says):
    """A key missing (even the dead ``feat_encoder``'s), one too many, or a tensor of another
    shape: ``main`` returns 1 with one ``error:`` line naming it, and writes no results."""
    state = torch.load(parity["checkpoint"], weights_only=True)
    if change == "missing":
        del state["feat_encoder.0.weight"]
    elif change == "extra":
        state["extra.weight"] = torch.zeros(3)
    else:
        state["classifier.4.weight"] = torch.zeros(CLASSES, DIM, 1)
    bad = tmp_path / "bad.pkl"
    torch.save(state, bad)
    out = tmp_path / "out"
    capsys.readouterr()
    assert main("THUMOS", co2_test_args(parity["data"], bad, out)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and str(bad) in err[0] \
        and says in err[0], err
    assert not (out / "THUMOS_results.json").exists()
