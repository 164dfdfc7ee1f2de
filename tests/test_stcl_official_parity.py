"""Issue 25's must-hold, end to end: an STCL-Net checkpoint in the official format (the bare state
dict of ``best_re_rank_THU_STCL_best.pkl``) loads strictly into ``--method stcl --test`` and, with
the same weights, features and exemplar-bank draws, gives the official test pipeline's detections;
the training run draws each step's batch and then its bank from one legacy stream, as the
original; a short run resumes to the bit and its checkpoints test to its own detections; a class
too small for the bank is a one-line error.

The official side is the literal ports only: the network ``OriginalSTCL_THU``
(``tests/reference/original_stcl_model.py``), which draws its bank inside every forward from
numpy's **global** legacy stream; the test loop of ``S:test.py`` (``original_wtalc_test_loop``,
whose ``multiple_threshold_hamnet`` and Ambiguous filter are CO2-Net's); the training batch
``OriginalPairLoader.load_data`` (``tests/reference/original_co2_sampling.py``). Its dataset
is the W-TALC arrays: all features in array order, ``classwiseidx`` from ``labels_all.npy``
(``classwise_feature_mapping``), ``num_segments`` = ``--sample_segments_num`` (the original's
``--max-seqlen``). The original's test script seeds nothing (Q2); the comparison seeds the global
stream once, ``np.random.seed(S)``, before the first test video, which is what ``--seed S`` gives
the engine's test-time bank stream (``--bank_mode stream``, with ``--bank_seed`` left at
``--seed``) and its training stream (``--bank_mode original``).

The weights are a seeded ``OriginalSTCL_THU`` at the spec's small sizes (D = 16, CCM hidden 4,
key 4, M = 2 exemplars of each of the 20 classes, S = 20), perturbed so that many classes are
localized, some videos with two classes (:func:`official_weights`); the tests check this, and
that another bank changes the detections, so that the comparison cannot pass vacuously.

Float32: the engine computes the semantic branch slot by slot with the original's products
(``STCL.semantic``); with one batched einsum and one batched conv over the 21 exemplar sets
instead, the SCL head rounded differently (within about 3e-7 of its magnitude) and 2 % of the
scores, those near 0 where two close CAS means cancel, missed 1e-6 relative. Now every score is
the port's to the bit on this machine, and the test asks 1e-6 relative of each.
"""
from __future__ import annotations

import json
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator

import numpy as np
import pytest
import torch

from config import parse_config
from dataset.synthetic import WTALC_ANNOTATIONS, WTALC_FEATURES, generate
from engine.run import main
from engine.trainer import Trainer
from methods.stcl.bank import ExemplarBank
from methods.stcl.model import STCL
from tests.helpers import (one_torch_thread, within_rtol, wtalc_engine_rows, wtalc_port_rows,
                           wtalc_snippet)
from tests.reference.original_co2_sampling import OriginalPairLoader
from tests.reference.original_stcl_model import OriginalSTCL_THU
from tests.reference.original_wtalc_test_loop import eval_call, multihot, original_test_loop

DIM, HIDDEN, KEY, PER_CLASS, SEGMENTS, CLASSES = 16, 4, 4, 2, 20, 20
SEED = 11                        # --seed of the --test runs (not the default 3552)
BATCH = 10                       # the default --batch_size: 3 pairs + 4 random videos
TIME_TOL = 1e-6
BARE = "best_re_rank_THU_STCL_best.pkl"


# ----------------------------------------------------------------------------- data and weights

@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """90 THUMOS-like videos in the W-TALC layout: 44 training videos (every class has 2 to 4 of
    them in labels_all.npy), 46 test videos."""
    return generate(tmp_path_factory.mktemp("stcl_wtalc"), dataset="thumos", num_videos=90,
                    feature_dim=DIM, fmt="wtalc", seed=5)


@pytest.fixture(scope="module")
def arrays(data_dir) -> dict:
    folder = data_dir / WTALC_ANNOTATIONS
    out = dict(features=np.load(data_dir / WTALC_FEATURES, allow_pickle=True),
               videoname=np.load(folder / "videoname.npy"),
               subset=np.load(folder / "subset.npy"),
               labels_all=np.load(folder / "labels_all.npy", allow_pickle=True),
               classlist=np.load(folder / "classlist.npy"))
    return out


def pair_loader(arrays: dict) -> OriginalPairLoader:
    """The original's dataset bookkeeping: trainidx / testidx and ``classwiseidx`` (positions in
    the arrays) from ``labels_all.npy``."""
    labels = multihot(arrays["labels_all"], arrays["classlist"])
    return OriginalPairLoader(labels, [s.decode() for s in arrays["subset"]], BATCH, SEGMENTS)


def port_dataset(arrays: dict, features=None) -> SimpleNamespace:
    """What ``OriginalSTCL_THU`` reads from its ``dataset`` attribute."""
    return SimpleNamespace(features=arrays["features"] if features is None else features,
                           classwiseidx=pair_loader(arrays).classwiseidx,
                           num_segments=SEGMENTS)


@contextmanager
def global_stream(seed: int | None) -> Iterator[None]:
    """numpy's global legacy stream seeded with ``seed`` for the block (the original's
    ``np.random.seed``), the caller's state restored afterwards."""
    saved = np.random.get_state()
    try:
        if seed is not None:
            np.random.seed(seed)
        yield
    finally:
        np.random.set_state(saved)


def official_weights(arrays: dict) -> OriginalSTCL_THU:
    """A seeded ``OriginalSTCL_THU`` at the small sizes with every tensor moved by N(0, 0.05)
    noise; in each of the three heads (classifier, TCL, SCL) the class rows of the last conv are
    scaled by 0.3, tied in pairs (2c + 1 = 2c + a small difference, so that two classes often pass
    the 0.2 video score together) and made orthogonal to the mean input of that conv over the
    test snippets (so that the class ranking follows what differs between videos, not the
    direction all snippets share: many classes win somewhere)."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = OriginalSTCL_THU(port_dataset(arrays), DIM, CLASSES, HIDDEN, KEY,
                                 act_vid_num=PER_CLASS)
    gen = torch.Generator().manual_seed(1)
    heads = (model.classifier, model.intra_temp_classifier, model.inter_temp_classifier)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(0.05 * torch.randn(param.shape, generator=gen))
        for head in heads:
            weight = head[4].weight
            weight.mul_(0.3)
            for c in range(0, CLASSES, 2):
                weight[c + 1] = weight[c] + 0.006 * torch.randn(weight.shape[1:], generator=gen)
    model.eval()
    inputs: dict[int, list[torch.Tensor]] = {k: [] for k in range(len(heads))}
    hooks = [head[4].register_forward_pre_hook(
        lambda _m, args, k=k: inputs[k].append(args[0][0].T.clone())) for k, head in
        enumerate(heads)]
    testidx = pair_loader(arrays).testidx
    with torch.no_grad(), one_torch_thread(), global_stream(0):
        for i in testidx:
            model(torch.from_numpy(arrays["features"][i]).float()[None])
    for hook in hooks:
        hook.remove()
    with torch.no_grad():
        for k, head in enumerate(heads):
            mean = torch.cat(inputs[k]).mean(0)
            unit = mean / mean.norm()
            weight = head[4].weight[:CLASSES, :, 0]
            weight -= (weight @ unit)[:, None] * unit[None]
    return model


def stcl_test_args(data: Path, checkpoint: Path, out: Path, *extra: str) -> list[str]:
    return ["--method", "stcl", "--test", "--checkpoint", str(checkpoint), "--data_dir",
            str(data), "--seed", str(SEED), "--feature_dim", str(DIM), "--ccm_hidden",
            str(HIDDEN), "--key_dim", str(KEY), "--exemplars_per_class", str(PER_CLASS),
            "--sample_segments_num", str(SEGMENTS), "--output_dir", str(out),
            "--without_wandb", "--threads", "1", *extra]


def engine_test(data: Path, checkpoint: Path, out: Path, *extra: str
                ) -> tuple[dict, list[torch.Tensor]]:
    """One ``main_thu.py --method stcl --test`` run: its results JSON and the bank of every test
    video, in loop order (recorded from ``ExemplarBank.for_evaluation``)."""
    banks: list[torch.Tensor] = []
    original = ExemplarBank.for_evaluation

    def recording(self):
        bank = original(self)
        banks.append(bank.detach().cpu().clone())
        return bank

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ExemplarBank, "for_evaluation", recording)
        assert main("THUMOS", stcl_test_args(data, checkpoint, out, *extra)) == 0
    return json.loads((out / "THUMOS_results.json").read_text()), banks


def port_test(model: OriginalSTCL_THU, arrays: dict, ambiguous: Path, seed: int,
              reseed_every_video: bool = False) -> dict:
    """The official test loop over the arrays with the port network, the global stream seeded
    with ``seed`` before the first test video (or before every one: the same bank for all).
    Returns the loop's output and the bank each forward drew (from ``get_act_feat``)."""
    banks = []
    draw = model.get_act_feat
    call = eval_call(model)

    def recording_draw(n):
        bank = draw(n)
        banks.append(bank.clone())
        return bank

    def model_call(index, features):
        if reseed_every_video:
            np.random.seed(seed)
        return call(index, features)

    model.get_act_feat = recording_draw
    try:
        with one_torch_thread(), global_stream(seed):
            loop = original_test_loop(model_call=model_call, ambiguous_path=str(ambiguous),
                                      **arrays)
    finally:
        del model.get_act_feat
    return dict(loop=loop, banks=banks)


def differences(results: dict, port: dict, classes: list[str]) -> list:
    """The engine's detections against the port's as multisets: per (video, class, start
    snippet, end snippet), the same number of detections, and their sorted scores pairwise
    within :func:`tests.helpers.within_rtol` (the detections of one key differ only by score, so sorting is
    the best one-to-one matching). Returns the keys that differ (empty: the same detections)."""
    ours = wtalc_engine_rows(results, classes)
    theirs = wtalc_port_rows(port["loop"].proposals, port["loop"].video_names)
    if set(ours) != set(theirs):
        return [("videos", sorted(set(ours) ^ set(theirs))[:3])]
    groups: dict[tuple, list[list[float]]] = defaultdict(lambda: [[], []])
    for side, rows in enumerate((ours, theirs)):
        for video, dets in rows.items():
            for c, start, end, score in dets:
                groups[(video, c, wtalc_snippet(start), wtalc_snippet(end))][side].append(score)
    return [(key, a, b) for key, (a, b) in groups.items()
            if len(a) != len(b) or not all(within_rtol(x, y)
                                           for x, y in zip(sorted(a), sorted(b)))]


def order_differences(results: dict, port: dict, classes: list[str]) -> tuple[list, int]:
    """Row by row in each video's order (classes in selection order, each in soft-NMS output
    order, after the filter): the rows that differ, and how many adjacent pairs come swapped
    where the port's two scores are within :func:`tests.helpers.within_rtol` of each other (a float32 near-tie,
    whose order rounding may decide: spec Q20)."""
    ours = wtalc_engine_rows(results, classes)
    theirs = wtalc_port_rows(port["loop"].proposals, port["loop"].video_names)

    def same(a, b):
        return a[0] == b[0] and abs(a[1] - b[1]) <= TIME_TOL and abs(a[2] - b[2]) <= TIME_TOL \
            and within_rtol(a[3], b[3])

    bad, swaps = [], 0
    for video, want in theirs.items():
        got = ours.get(video, [])
        if len(got) != len(want):
            bad.append((video, "count", len(got), len(want)))
            continue
        k = 0
        while k < len(want):
            if same(got[k], want[k]):
                k += 1
            elif k + 1 < len(want) and same(got[k], want[k + 1]) \
                    and same(got[k + 1], want[k]) and within_rtol(want[k][3], want[k + 1][3]):
                swaps += 1
                k += 2
            else:
                bad.append((video, k, got[k], want[k]))
                k += 1
    return bad, swaps


@pytest.fixture(scope="module")
def parity(tmp_path_factory, data_dir, arrays):
    """The official-format checkpoint; engine ``--test`` runs (the default twice, --bank_mode
    original and pass, another --bank_seed); port test loops (seeded once with S, once with
    S + 1, and reseeded with S before every video)."""
    base = tmp_path_factory.mktemp("stcl_parity")
    folder = data_dir / WTALC_ANNOTATIONS
    model = official_weights(arrays)
    checkpoint = base / BARE
    torch.save(model.state_dict(), checkpoint)
    runs = {}
    for name, extra in (("stream", ()), ("again", ()), ("original", ("--bank_mode", "original")),
                        ("pass", ("--bank_mode", "pass")),
                        ("other_seed", ("--bank_seed", str(SEED + 1)))):
        runs[name] = engine_test(data_dir, checkpoint, base / name, *extra)
    ambiguous = folder / "Ambiguous_test.txt"
    ports = {"once": port_test(model, arrays, ambiguous, SEED),
             "other_seed": port_test(model, arrays, ambiguous, SEED + 1),
             "every_video": port_test(model, arrays, ambiguous, SEED, reseed_every_video=True)}
    return dict(checkpoint=checkpoint, model=model, runs=runs, ports=ports, folder=folder,
                classes=[c.decode() for c in arrays["classlist"]], base=base)


# ----------------------------------------------------------------------------- part 1: --test

def test_the_checkpoint_is_the_official_bare_state_dict(parity):
    """52 tensors in the original's names (no feat_encoder), as ``S:main.py`` saves them; the
    engine's STCL loads it strictly."""
    state = torch.load(parity["checkpoint"], weights_only=True)
    assert isinstance(state, dict) and len(state) == 52
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    assert "feat_encoder.0.weight" not in state
    assert state["inter_temp_classifier.1.weight"].shape == (DIM, 2 * DIM, 3)
    assert state["classifier.4.weight"].shape == (CLASSES + 1, DIM, 1)
    ours = STCL(feature_dim=DIM, num_classes=CLASSES, ccm_hidden=HIDDEN, key_dim=KEY,
                per_class=PER_CLASS)
    ours.load_state_dict(state, strict=True)


def test_the_detections_are_not_trivial(parity):
    """Many classes, two classes in some videos, many proposals in every video."""
    port = parity["ports"]["once"]["loop"]
    frame = port.proposals
    per_video = frame.groupby("video-id")
    assert sorted(per_video.groups) == sorted(port.video_names) and len(port.video_names) >= 40
    assert per_video.size().min() >= 5 and len(frame) > 5000
    assert frame["label"].nunique() >= 8
    assert (per_video["label"].nunique() >= 2).sum() >= 3


def test_the_bank_matters_at_these_sizes(parity):
    """Another bank stream changes the detections far beyond rounding (the SCL head weighs 0.09
    of the fused CAS, and the video scores pick the classes)."""
    port = parity["ports"]["once"]
    other = parity["ports"]["other_seed"]
    assert not torch.equal(port["banks"][0], other["banks"][0])
    bad = differences(parity["runs"]["other_seed"][0], port, parity["classes"])
    assert len(bad) >= 40, bad[:3]


@pytest.mark.parametrize("mode", ["stream", "original"])
def test_each_test_video_gets_the_originals_bank(parity, mode):
    """The engine's bank of every test video equals, tensor for tensor, what the port's forward
    drew from the global stream seeded once with --seed before the first video: one fresh bank
    per video (--bank_mode stream from its own stream seeded with --bank_seed = --seed, original
    from the training stream seeded with --seed)."""
    banks = parity["runs"][mode][1]
    want = parity["ports"]["once"]["banks"]
    assert len(banks) == len(want) == len(parity["ports"]["once"]["loop"].video_names)
    for k, (ours, theirs) in enumerate(zip(banks, want)):
        assert ours.shape == (CLASSES, PER_CLASS, SEGMENTS, DIM)
        assert torch.equal(ours, theirs), k
    assert not torch.equal(banks[0], banks[1])


@pytest.mark.parametrize("mode", ["stream", "original"])
def test_the_detections_are_the_official_pipelines(parity, mode):
    """Issue 25's must-hold: the same test videos in order and the same multiset of (video,
    class, start, end) detections, times within 1e-6 s, every score matched one to one within
    1e-6 relative (measured: equal to the bit). In each video's order too, but for adjacent rows whose scores tie within that tolerance
    (none here, at most 0.1 %)."""
    results = parity["runs"][mode][0]
    port = parity["ports"]["once"]
    assert list(results["results"]) == port["loop"].video_names
    assert differences(results, port, parity["classes"]) == []
    bad, swaps = order_differences(results, port, parity["classes"])
    rows = len(port["loop"].proposals)
    assert bad == [] and swaps <= rows // 1000
    ours = wtalc_engine_rows(results, parity["classes"])
    theirs = wtalc_port_rows(port["loop"].proposals, port["loop"].video_names)
    pairs = [(a[3], b[3]) for v in theirs for a, b in zip(sorted(ours[v]), sorted(theirs[v]))]
    assert len(pairs) == rows and all(within_rtol(a, b) for a, b in pairs)


def test_the_default_is_reproducible(parity):
    """Two runs of the default (--bank_mode stream) write the same results JSON."""
    assert parity["runs"]["stream"][0] == parity["runs"]["again"][0]
    assert (parity["base"] / "stream" / "THUMOS_results.json").read_bytes() == \
        (parity["base"] / "again" / "THUMOS_results.json").read_bytes()


def test_pass_mode_is_one_bank_per_pass(parity):
    """--bank_mode pass: every test video sees the same bank, the stream's first; so it is the
    port with the global stream reseeded before every video, not the original's pipeline."""
    results, banks = parity["runs"]["pass"]
    assert len(banks) == 1          # asked for once: the model keeps the pass's exemplars
    assert torch.equal(banks[0], parity["ports"]["once"]["banks"][0])
    assert differences(results, parity["ports"]["every_video"], parity["classes"]) == []
    assert len(differences(results, parity["ports"]["once"], parity["classes"])) >= 20
    bad, swaps = order_differences(results, parity["ports"]["every_video"], parity["classes"])
    assert bad == [] and swaps <= len(parity["ports"]["every_video"]["loop"].proposals) // 1000


def test_bank_seed_sets_the_test_stream(parity):
    """--bank_seed S + 1: the port pipeline seeded with S + 1; not the --seed S detections."""
    results, banks = parity["runs"]["other_seed"]
    want = parity["ports"]["other_seed"]["banks"]
    assert len(banks) == len(want) and all(torch.equal(a, b) for a, b in zip(banks, want))
    assert differences(results, parity["ports"]["other_seed"], parity["classes"]) == []
    assert results != parity["runs"]["stream"][0]


# ------------------------------------------------------------------------- part 2: training draws

TRAIN_SEED = 5


def train_args(data: Path, out: Path, *extra: str, per_class: int = PER_CLASS) -> list[str]:
    return ["--method", "stcl", "--data_dir", str(data), "--seed", str(TRAIN_SEED),
            "--feature_dim", str(DIM), "--ccm_hidden", str(HIDDEN), "--key_dim", str(KEY),
            "--exemplars_per_class", str(per_class), "--sample_segments_num", str(SEGMENTS),
            "--output_dir", str(out), "--without_wandb", "--threads", "1", *extra]


def recorded_fit(data: Path, out: Path, *extra: str) -> dict:
    """A Trainer built from ``parse_config`` for ``--method stcl``, fitted with every draw of its
    batch source and of its exemplar bank recorded in call order: ("batch", training-list
    positions, features), ("train-bank" | "test-bank" by the model's mode, BankDraw, whether it
    came from the batch sampler's RandomState); and each training bank's tensor."""
    cfg = parse_config("THUMOS", train_args(data, out, *extra))
    trainer = Trainer(cfg, torch.device("cpu"))
    source, bank, model = trainer.batch_source, trainer.model.bank_source, trainer.model
    events: list[tuple] = []
    tensors: list[torch.Tensor] = []
    draw_batch, draw_bank, for_training = source.draw, bank.draw, bank.for_training

    def batch():
        videos, out = draw_batch()
        events.append(("batch", [int(v) for v in videos], out["features"].clone()))
        return videos, out

    def bank_draw(rng):
        drawn = draw_bank(rng)
        events.append(("train-bank" if model.training else "test-bank", drawn,
                       rng is source.rng))
        return drawn

    def training_bank():
        tensor = for_training()
        tensors.append(tensor.detach().clone())
        return tensor

    source.draw, bank.draw, bank.for_training = batch, bank_draw, training_bank
    with one_torch_thread():
        trainer.fit()
    return dict(events=events, tensors=tensors, trainer=trainer)


def port_draws(arrays: dict, seed: int, steps: int, test_after: int | None = None,
               test_only: int = 0) -> list[tuple]:
    """The original's draws on its global stream after ``np.random.seed(seed)``: per step
    ``load_data(n_similar=3)`` then the bank of ``OriginalSTCL_THU.get_act_feat``, and after step
    ``test_after`` one bank per test video (its ``test()``); ``test_only`` > 0: just that many
    test banks. Events ("batch", array indices, rows) and ("train-bank" | "test-bank", videos
    (C, M) array indices, rows (C, M, S)). The bank's videos and rows are read back from the
    port's own gather on features that hold (video, row) in each row."""
    loader = pair_loader(arrays)
    lengths = [len(f) for f in arrays["features"]]
    code = [np.stack([np.full(t, v), np.arange(t)], 1).astype(np.float64)
            for v, t in enumerate(lengths)]
    with torch.random.fork_rng():
        port = OriginalSTCL_THU(port_dataset(arrays, code), DIM, CLASSES, HIDDEN, KEY,
                                act_vid_num=PER_CLASS)

    def bank(kind: str) -> tuple:
        drawn = port.get_act_feat(PER_CLASS).numpy()            # (C, M, S, 2)
        return kind, drawn[:, :, 0, 0].astype(np.int64), drawn[..., 1].astype(np.int64)

    events: list[tuple] = []
    with global_stream(seed):
        for _ in range(test_only):
            events.append(bank("test-bank"))
        for step in range(1, steps + 1):
            idx, rows, _ = loader.load_data(lengths, np.random, n_similar=3)
            events.append(("batch", list(idx), [np.asarray(r) for r in rows]))
            events.append(bank("train-bank"))
            if step == test_after:
                events.extend(bank("test-bank") for _ in loader.testidx)
    return events


def check_events(ours: list[tuple], want: list[tuple], arrays: dict) -> None:
    """The engine's draws (training-list positions) equal the port's (array indices): kinds in
    order, batch videos and their resampled features, bank videos (in draw order) and rows."""
    trainidx = pair_loader(arrays).trainidx
    assert [e[0] for e in ours] == [e[0] for e in want]
    for k, (a, b) in enumerate(zip(ours, want)):
        if a[0] == "batch":
            assert [trainidx[v] for v in a[1]] == b[1], k
            expect = np.stack([arrays["features"][i][r] for i, r in zip(b[1], b[2])])
            assert torch.equal(a[2], torch.from_numpy(expect.astype(np.float32))), k
        else:
            assert np.array_equal(np.asarray(trainidx)[a[1].videos], b[1]), k
            assert np.array_equal(a[1].rows, b[2]), k


def bank_tensor(arrays: dict, event: tuple) -> torch.Tensor:
    """The original's bank tensor of a port event: features[video][rows], float32."""
    _, videos, rows = event
    return torch.from_numpy(np.stack([
        np.stack([arrays["features"][v][r] for v, r in zip(vs, rs)])
        for vs, rs in zip(videos, rows)]).astype(np.float32))


EVAL_BETWEEN = ("--epochs", "2", "--steps_per_epoch", "3", "--eval_every_steps", "3")
"""Six steps, one evaluation after step 4 (the original's itr 3 % 3 == 0), then steps 5 and 6."""


@pytest.fixture(scope="module")
def fits(tmp_path_factory, data_dir):
    base = tmp_path_factory.mktemp("stcl_draws")
    return {mode: recorded_fit(data_dir, base / mode, "--bank_mode", mode, *EVAL_BETWEEN)
            for mode in ("original", "stream", "pass")}


def test_each_step_draws_its_batch_then_its_bank_from_one_stream(fits, arrays):
    """Per step the batch, then the bank, both from the batch sampler's RandomState(--seed), draw
    for draw the original's load_data then get_act_feat after np.random.seed(seed); the bank the
    model gets is the original's tensor. --bank_mode original: the evaluation after step 4 draws
    one bank per test video from that same stream, so steps 5 and 6 get the batches the original
    gets after its test()."""
    fit = fits["original"]
    want = port_draws(arrays, TRAIN_SEED, 6, test_after=4)
    check_events(fit["events"], want, arrays)
    assert all(from_sampler for _, _, from_sampler in
               (e for e in fit["events"] if e[0] != "batch"))
    banks = [e for e in want if e[0] == "train-bank"]
    assert len(fit["tensors"]) == len(banks) == 6
    for k, (tensor, event) in enumerate(zip(fit["tensors"], banks)):
        assert torch.equal(tensor, bank_tensor(arrays, event)), k
    assert sum(e[0] == "test-bank" for e in fit["events"]) == len(pair_loader(arrays).testidx)
    assert fit["trainer"].step == 6 and [r["step"] for r in fit["trainer"].state.history] == [4]


@pytest.mark.parametrize("mode", ["stream", "pass"])
def test_an_evaluation_leaves_the_training_stream_alone(fits, arrays, mode):
    """--bank_mode stream / pass: the six steps draw what the original draws with no test()
    between them (so steps 5 and 6 differ from --bank_mode original's); the evaluation's banks
    come from their own stream seeded with --bank_seed = --seed (stream: one per test video, the
    original's sequence after np.random.seed(seed); pass: its first bank only)."""
    events = fits[mode]["events"]
    training = [e for e in events if e[0] != "test-bank"]
    check_events(training, port_draws(arrays, TRAIN_SEED, 6), arrays)
    tests = [e for e in events if e[0] == "test-bank"]
    assert not any(from_sampler for _, _, from_sampler in tests)
    n_test = len(pair_loader(arrays).testidx)
    want = port_draws(arrays, TRAIN_SEED, 0, test_only=n_test if mode == "stream" else 1)
    check_events(tests, want, arrays)
    # the original mode's steps 5 and 6 are other batches: the evaluation shifted its stream
    original = [e[1] for e in fits["original"]["events"] if e[0] == "batch"]
    ours = [e[1] for e in training if e[0] == "batch"]
    assert ours[:4] == original[:4] and ours[4:] != original[4:]


# ----------------------------------------------------------------------------- part 3: a run

def test_train_resume_and_test_its_checkpoints(data_dir, arrays, tmp_path):
    """Six steps with an evaluation after step 4: resumed after the first epoch, the run ends
    with the same weights, history and sampler stream; it writes the original's bare
    ``best_re_rank_THU_STCL_best.pkl`` (the selected weights, 52 tensors, strict-loadable by the
    port); ``--test`` of ``THUMOS_best.pth`` and of the bare file give the run's own detections
    at that evaluation."""
    steps = ["--steps_per_epoch", "3", "--eval_every_steps", "3"]
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert main("THUMOS", train_args(data_dir, straight, "--epochs", "2", *steps)) == 0
    a = torch.load(straight / "THUMOS_latest.pth", weights_only=True)
    assert a["step"] == 6 and [r["step"] for r in a["history"]] == [4]
    assert main("THUMOS", train_args(data_dir, resumed, "--epochs", "1", *steps)) == 0
    assert main("THUMOS", train_args(data_dir, resumed, "--epochs", "2", "--resume",
                                     *steps)) == 0
    b = torch.load(resumed / "THUMOS_latest.pth", weights_only=True)
    assert a["step"] == b["step"] and a["history"] == b["history"]
    assert set(a["model_state_dict"]) == set(b["model_state_dict"])
    for key, value in a["model_state_dict"].items():
        assert torch.equal(value, b["model_state_dict"][key]), key
    rng_a, rng_b = a["batch_source"]["legacy_rng"], b["batch_source"]["legacy_rng"]
    assert torch.equal(rng_a[1], rng_b[1]) and rng_a[2:] == rng_b[2:]
    # the original's bare state dict of the selected weights
    best = torch.load(straight / "THUMOS_best.pth", weights_only=True)
    assert best["best_epoch"] == 1
    bare = torch.load(straight / BARE, weights_only=True)
    assert len(bare) == 52 and list(bare) == list(best["model_state_dict"])
    assert all(torch.equal(bare[k], best["model_state_dict"][k]) for k in bare)
    with torch.random.fork_rng():
        port = OriginalSTCL_THU(port_dataset(arrays), DIM, CLASSES, HIDDEN, KEY,
                                act_vid_num=PER_CLASS)
    port.load_state_dict(bare, strict=True)
    # --test of both files: the detections of the run's own evaluation
    during = json.loads((straight / "epoch_001" / "THUMOS_results.json").read_text())
    assert during["results"] and any(during["results"].values())
    for name in ("THUMOS_best.pth", BARE):
        out = tmp_path / f"test_{name}"
        assert main("THUMOS", train_args(data_dir, out, "--test", "--checkpoint",
                                         str(straight / name))) == 0
        assert json.loads((out / "THUMOS_results.json").read_text()) == during, name


# ------------------------------------------------------------------------- part 4: too few videos

def test_a_class_smaller_than_the_bank_is_a_one_line_error(data_dir, arrays, tmp_path, capsys):
    """--exemplars_per_class 3 where some classes have 2 training videos (labels_all.npy): main
    returns 1 with one ``error:`` line naming them, before any training step (no checkpoint),
    and --test refuses it the same way."""
    loader = pair_loader(arrays)
    short = [f"{c.decode()} (2)" for c, members in zip(arrays["classlist"], loader.classwiseidx)
             if len(members) == 2]
    assert short and min(len(m) for m in loader.classwiseidx) == 2
    out = tmp_path / "run"
    capsys.readouterr()
    assert main("THUMOS", train_args(data_dir, out, per_class=3)) == 1
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "--exemplars_per_class 3" in err[0]
    assert all(name in err[0] for name in short), err
    assert not (out / "THUMOS_latest.pth").exists() and not list(out.glob("epoch_*"))
    assert "epoch 0" not in captured.out
    weights = tmp_path / "weights.pkl"
    torch.save(STCL(feature_dim=DIM, num_classes=CLASSES, ccm_hidden=HIDDEN, key_dim=KEY,
                    per_class=3).state_dict(), weights)
    assert main("THUMOS", train_args(data_dir, tmp_path / "test", "--test", "--checkpoint",
                                     str(weights), per_class=3)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "--exemplars_per_class 3" in err[0]
