"""methods.aicl.inference: hand cases, and the whole chain against the literal port of the official
test loop (tests/reference/original_aicl_inference.py), index by index and to the bit."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter1d

from methods.aicl.settings import AICL_THUMOS
from methods.aicl.inference import (AICLInferenceParams, aicl_class_prediction, aicl_localize,
                                 aicl_proposals, class_nms, decay_and_append_nms,
                                 gaussian_soft_nms)
from eval.results import results_dict
from tests.reference.original_aicl_inference import CONFIG, basnet_nms, original_aicl_video

PARAMS = AICLInferenceParams.from_config(AICL_THUMOS)


def params(**kw) -> AICLInferenceParams:
    return dataclasses.replace(PARAMS, **kw)


# ----------------------------------------------------------------------------- pure pieces

def test_params_keep_the_official_values():
    assert PARAMS.act_thresholds == tuple(np.arange(0.1, 1.0, 0.1).tolist())
    assert 0.30000000000000004 in PARAMS.act_thresholds and len(PARAMS.act_thresholds) == 9
    assert (PARAMS.oic_lambda, PARAMS.oic_gamma, PARAMS.upgrade_scale) == (0.2, 0.2, 24)
    assert (PARAMS.nms_thresh, PARAMS.nms_alpha, PARAMS.nms_mode) == (0.4, 0.35, "aicl_soft")
    assert PARAMS.nms_plus_one and not PARAMS.cpu_alias_quirk
    with pytest.raises(ValueError, match="nms_mode"):
        params(nms_mode="soft")


def test_class_prediction_is_greater_or_equal_with_an_argmax_fallback():
    binary, classes, scores = aicl_class_prediction(np.array([0.25, 0.1, 0.5, 0.15]), 0.25)
    assert binary.tolist() == [1, 0, 1, 0] and classes.tolist() == [0, 2]
    binary, classes, _ = aicl_class_prediction(np.array([0.2, 0.24, 0.2, 0.36]) / 1.01, 0.4)
    assert binary.tolist() == [0, 0, 0, 1] and classes.tolist() == [3]
    assert scores.tolist() == [0.25, 0.1, 0.5, 0.15]  # the gamma term reads the video scores


def test_cpu_alias_quirk_scores_one_and_falls_back_to_class_zero():
    p = np.array([0.1, 0.3, 0.26, 0.34], dtype=np.float32)
    _, classes, scores = aicl_class_prediction(p, 0.25, cpu_alias_quirk=True)
    assert classes.tolist() == [1, 2, 3] and scores.tolist() == [0, 1, 1, 1]
    _, classes, _ = aicl_class_prediction(np.array([0.2, 0.1, 0.3, 0.4]), 0.5, True)
    assert classes.tolist() == [0]


def test_single_point_runs_are_kept_and_point_zero_alone_is_skipped():
    seq = np.zeros((1, 40))
    seq[0, 0] = 0.95                         # point 0 alone at every threshold up to 0.9
    seq[0, 10] = 0.55                        # a single-point run
    seq[0, 20:25] = 0.35
    p = params(act_thresholds=(0.3, 0.5, 0.9), oic_lambda=0.2, oic_gamma=0.0)
    cls, score, first, last = aicl_proposals(seq, np.array([4]), np.full(20, 0.5), p)
    # 0.3: runs [0], [10], [20..24]; 0.5: [0], [10]; 0.9: only point 0 -> skipped
    assert first.tolist() == [0, 10, 20, 0, 10] and last.tolist() == [0, 10, 24, 0, 10]
    assert cls.tolist() == [4] * 5
    # run 20..24 (L=5): outer 19..19 and 25..25 (int(20 - 1) .. and .. int(24 + 1)) -> zeros
    assert score[2] == pytest.approx(0.35)
    assert score[1] == pytest.approx(0.55)   # int(10 - 0.2) = 9, int(10.2) = 10: outer = [9]


def test_time_conversion_of_the_last_point():
    cas = np.full((750, 20), 0.01, dtype=np.float32)
    cas[:, 3] = 0.95
    scores = np.full(20, 0.01)
    scores[3] = 0.81
    dets = aicl_localize(scores, cas, 1000, params(nms_mode="hard"))
    assert len(dets) == 1                      # one run over all 18 000 points, nine times
    cls, _, start, end = dets[0]
    assert (cls, start) == (3, 0.0) and end == pytest.approx(0.64 * 1000, rel=1e-12)


# ----------------------------------------------------------------------------- NMS

def random_proposals(rng, n: int, ties: bool) -> np.ndarray:
    step = rng.choice([0.035555, 0.5, 1.0])
    start = rng.integers(0, 150, n) * step
    segs = np.stack([start, start + rng.integers(1, 60, n) * step], axis=1)
    segs[rng.random(n) < 0.2] = segs[0]
    scores = np.round(rng.random(n), 1 if ties else 8)
    return np.column_stack([np.full(n, 7.0), scores, segs])


@pytest.mark.parametrize("seed", range(8))
def test_decay_and_append_equals_the_official_loop(seed):
    rng = np.random.default_rng(seed)
    props = random_proposals(rng, int(rng.integers(1, 300)), ties=seed % 2 == 1)
    for thresh, alpha in [(0.4, 0.35), (0.7, 0.2), (0.1, 0.35), (0.0, 0.35)]:
        index, score = decay_and_append_nms(props[:, 2:], props[:, 1], thresh, alpha)
        want = np.asarray(basnet_nms(props, thresh, soft_nms=True, nms_alpha=alpha))
        assert len(index) == len(props) and sorted(index.tolist()) == list(range(len(props)))
        np.testing.assert_array_equal(np.column_stack([score, props[index, 2:]]), want[:, 1:])
        kept = np.asarray(basnet_nms(props, thresh))
        np.testing.assert_array_equal(want[:len(kept)], kept)


def test_hard_mode_equals_the_official_hard_branch():
    props = random_proposals(np.random.default_rng(11), 200, ties=True)
    index, score = class_nms(props[:, 2:], props[:, 1], params(nms_mode="hard"))
    want = np.asarray(basnet_nms(props, 0.4))
    np.testing.assert_array_equal(np.column_stack([score, props[index, 2:]]), want[:, 1:])


def test_gaussian_soft_nms_keeps_everything_and_only_decays():
    props = random_proposals(np.random.default_rng(3), 120, ties=False)
    index, score = gaussian_soft_nms(props[:, 2:], props[:, 1], 0.35)
    assert sorted(index.tolist()) == list(range(120))
    assert index[0] == np.argmax(props[:, 1]) and score[0] == props[:, 1].max()
    assert np.all(score <= props[index, 1])
    far = np.array([[0.0, 1.0], [10.0, 11.0], [20.0, 21.0]])
    index, score = gaussian_soft_nms(far, np.array([0.2, 0.9, 0.5]), 0.35)
    assert index.tolist() == [1, 2, 0] and score.tolist() == [0.9, 0.5, 0.2]


# ----------------------------------------------------------------------------- whole chain

def random_video(rng, smooth: float, selected: int, num_classes: int = 20):
    """Video scores (1, C) float32 tensor and a combined CAS (750, C) float32 as the model makes
    it: (softmax(cas) + flow + rgb) / 3."""
    logits = rng.normal(size=(750, num_classes)) * 3
    act = rng.normal(size=(750, 2)) * 3
    if smooth:
        logits = gaussian_filter1d(logits, smooth, axis=0) * 4
        act = gaussian_filter1d(act, smooth, axis=0) * 4
    soft = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    agnostic = 1 / (1 + np.exp(-act))
    combined = ((soft + agnostic.sum(axis=1, keepdims=True)) / 3).astype(np.float32)
    video = rng.normal(size=num_classes)
    video[rng.choice(num_classes, selected, replace=False)] += 4.0
    scores = torch.softmax(torch.tensor(video[None], dtype=torch.float32), dim=1)
    return scores, combined


def as_tuples(props) -> list[tuple]:
    return [(int(c), s, a, b) for c, s, a, b in props]


CASES = [(2.0, 1, 750), (3.0, 2, 2300), (1.0, 3, 23), (0.0, 1, 900), (4.0, 0, 420)]


@pytest.mark.parametrize("smooth,selected,length", CASES)
@pytest.mark.parametrize("quirk", [False, True])
def test_aicl_localize_equals_the_official_loop(smooth, selected, length, quirk):
    rng = np.random.default_rng(int(smooth * 10) + selected + length)
    scores, combined = random_video(rng, smooth, selected)
    ours = aicl_localize(scores[0].numpy(), combined, length, params(cpu_alias_quirk=quirk))
    binary, want = original_aicl_video(scores, combined, length, gpu_copy=not quirk)
    assert len(ours) == len(want) > 0
    assert ours == as_tuples(want)  # same order, scores and times to the bit
    np.testing.assert_array_equal(aicl_class_prediction(scores[0].numpy(), 0.25, quirk)[0],
                                  binary)


def test_single_point_runs_reach_the_output():
    rng = np.random.default_rng(5)
    scores, combined = random_video(rng, 0.0, 1)
    dets = aicl_localize(scores[0].numpy(), combined, 750, PARAMS)
    step = 16 * 750 / (24 * 750 * 25)
    assert any(end - start == pytest.approx(step) for _, _, start, end in dets)


@pytest.mark.parametrize("lam", [0.3, 0.25])
def test_the_official_gamma_flag_sets_lambda(lam):
    """The official --gamma is passed positionally into lambda_: our oic_lambda; gamma stays 0.2."""
    rng = np.random.default_rng(8)
    scores, combined = random_video(rng, 2.0, 2)
    ours = aicl_localize(scores[0].numpy(), combined, 800, params(oic_lambda=lam))
    _, want = original_aicl_video(scores, combined, 800, dict(CONFIG, gamma=lam))
    assert ours == as_tuples(want)
    assert ours != aicl_localize(scores[0].numpy(), combined, 800, PARAMS)


def test_hard_and_standard_modes_drop_or_rerank():
    rng = np.random.default_rng(2)
    scores, combined = random_video(rng, 2.0, 2)
    soft = aicl_localize(scores[0].numpy(), combined, 750, PARAMS)
    hard = aicl_localize(scores[0].numpy(), combined, 750, params(nms_mode="hard"))
    standard = aicl_localize(scores[0].numpy(), combined, 750, params(nms_mode="soft_standard"))
    assert len(hard) < len(soft) == len(standard)
    assert set(hard) <= set(soft)
    _, want = original_aicl_video(scores, combined, 750, dict(CONFIG, soft_nms=False))
    assert hard == as_tuples(want)


def test_detections_feed_the_results_writer():
    rng = np.random.default_rng(1)
    scores, combined = random_video(rng, 2.0, 1)
    dets = aicl_localize(scores[0].numpy(), combined, 750, PARAMS)
    obj = results_dict({"video_test_0000004": dets}, AICL_THUMOS["class_names"])
    entry = obj["results"]["video_test_0000004"][0]
    assert entry["label"] == AICL_THUMOS["class_names"][dets[0][0]]
    assert entry["score"] == dets[0][1] and entry["segment"] == [dets[0][2], dets[0][3]]


def test_stretched_short_video_with_tied_rows():
    """A 23-snippet test video is stretched to 750 rows (repeated rows: many exact ties)."""
    from dataset.aicl_sampling import uniform_sampling

    rng = np.random.default_rng(23)
    scores, combined = random_video(rng, 1.0, 2)
    stretched = combined[:23][uniform_sampling(23, 750)]
    ours = aicl_localize(scores[0].numpy(), stretched, 23, PARAMS)
    _, want = original_aicl_video(scores, stretched, 23)
    assert len(ours) > 0 and ours == as_tuples(want)


def test_model_outputs_through_the_official_loop():
    """AICLOutput.video_scores and .combined_cas are what the official loop reads."""
    from methods.aicl.model import AICL

    torch.manual_seed(0)
    model = AICL.from_config(dict(AICL_THUMOS, feature_dim=16, embed_dim=8)).eval()
    with torch.no_grad():
        out = model(torch.rand(1, 750, 16) * 4)
    ours = aicl_localize(out.video_scores[0].numpy(), out.combined_cas[0].numpy(), 1234, PARAMS)
    _, want = original_aicl_video(out.video_scores, out.combined_cas[0].numpy(), 1234)
    assert len(ours) > 0 and ours == as_tuples(want)


def test_decay_factors_of_the_spec():
    """exp(-IoU^2 / 0.35): 0.633 at IoU 0.4 (the threshold itself suppresses), 0.057 at IoU 1."""
    segs = np.array([[0.0, 4.0], [0.0, 1.0], [0.0, 4.0]])   # +1 IoU with the first: 2/5, 1
    index, score = decay_and_append_nms(segs, np.array([1.0, 0.9, 0.8]), 0.4, 0.35)
    assert index.tolist() == [0, 1, 2]
    assert score[1] == pytest.approx(0.9 * 0.633, abs=1e-3)
    assert score[2] == pytest.approx(0.8 * 0.057, abs=1e-3)
