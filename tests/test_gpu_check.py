"""tools.gpu_check on the CPU: the comparisons (a perturbation beyond the tolerance FAILs, ties
are told apart from real differences), the report writer, the no-CUDA path, and the whole
agreement run of the CPU against itself (every method passes; perturbed weights fail)."""
from __future__ import annotations

import json
import os

import pytest
import torch

from tools.gpu_check.__main__ import SMALL, cuda_test_cases, main
from tools.gpu_check.agreement import run_agreement, tensors_of
from tools.gpu_check.compare import (Tolerance, compare_detections, compare_maps,
                                     compare_tensors, match_video)
from tools.gpu_check.report import Check, environment, markdown, write_report

TOL = Tolerance(rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------------------ tensors

def test_same_tensors_pass_and_a_perturbation_beyond_the_tolerance_fails():
    gen = torch.Generator().manual_seed(0)
    a = {"x": torch.randn(100, 30, generator=gen), "y": torch.randn(5, generator=gen)}
    assert compare_tensors("same", a, {k: v.clone() for k, v in a.items()}, TOL).passed
    within = {"x": a["x"] * (1 + 5e-5), "y": a["y"]}
    assert compare_tensors("within", a, within, TOL).passed
    beyond = {"x": a["x"].clone(), "y": a["y"] + 1e-3}
    check = compare_tensors("beyond", a, beyond, TOL)
    assert not check.passed and "failing: y" in check.detail and "(y)" in check.detail
    assert check.figures["y"]["max_abs_diff"] == pytest.approx(1e-3, rel=1e-3)


def test_min_fraction_tolerates_a_few_elements_only():
    a = {"g": torch.zeros(10_000)}
    b = {"g": torch.zeros(10_000)}
    b["g"][:5] = 1.0                                   # 0.05 % off: a top-k near-tie
    assert compare_tensors("few", a, b, Tolerance(1e-3, 1e-6, min_fraction=0.999)).passed
    assert not compare_tensors("all", a, b, Tolerance(1e-3, 1e-6)).passed
    b["g"][:20] = 1.0                                  # 0.2 % off
    assert not compare_tensors("many", a, b, Tolerance(1e-3, 1e-6, min_fraction=0.999)).passed


@pytest.mark.parametrize("other, message", [
    ({"x": torch.zeros(3)}, "entries only on one side"),
    ({"x": torch.zeros(3), "y": torch.zeros(4)}, "shape"),
    ({"x": torch.zeros(3), "y": torch.full((3,), float("nan"))}, "NaN or inf"),
])
def test_tensor_mismatches_fail_and_say_why(other, message):
    reference = {"x": torch.zeros(3), "y": torch.zeros(3)}
    check = compare_tensors("c", reference, other, TOL)
    assert not check.passed and message in check.detail
    assert not compare_tensors("empty", {}, {}, TOL).passed


def test_tensors_of_flattens_outputs():
    from dataclasses import dataclass

    @dataclass
    class Out:
        a: torch.Tensor
        parts: dict
        note: str = "x"

    found = tensors_of([Out(torch.ones(2), {"b": torch.zeros(1), "c": [torch.ones(3)]})])
    assert sorted(found) == ["0.a", "0.parts.b", "0.parts.c.0"]


# --------------------------------------------------------------------- detections

DETS = {"v1": [(0, 0.9, 1.0, 2.0), (0, 0.5, 4.0, 6.0), (3, 0.7, 0.0, 1.5)],
        "v2": [(1, 0.8, 10.0, 12.0)]}


def test_same_detections_pass_and_a_changed_score_or_segment_fails():
    noisy = {v: [(c, s + 1e-6, a, b) for c, s, a, b in d] for v, d in DETS.items()}
    assert compare_detections("same", DETS, noisy).passed
    moved = {**DETS, "v2": [(1, 0.8, 10.5, 12.0)]}                 # start 0.5 s off, tIoU 0.75
    check = compare_detections("moved", DETS, moved)
    assert check.figures["near"] == 1 and not check.passed          # 1 of 4 > 1 % allowed
    scored = {**DETS, "v2": [(1, 0.7, 10.0, 12.0)]}
    check = compare_detections("scored", DETS, scored)
    assert not check.passed and check.figures["unexplained"] == 2
    assert not compare_detections("lost video", DETS, {"v1": DETS["v1"]}).passed
    assert not compare_detections("nothing", {"v": []}, {"v": []}).passed


def test_a_swap_between_tied_detections_is_a_tie_not_a_difference():
    """Two detections of one class 5e-5 apart in score: NMS may keep either; the other side
    kept the second one. Counted as ties (allowed up to 1 % of the detections)."""
    tied = [(2, 0.60000, 0.0, 3.0), (2, 0.60005, 1.0, 3.5)]
    # one each side, overlapping (tIoU 0.57): the same proposal with a moved boundary
    assert match_video(tied[:1], tied[1:], 1e-4, 1e-6) == {"same": 0, "near": 1, "tie": 0,
                                                          "unexplained": 0}
    ref = {"v": [tied[0], tied[1], (2, 0.1, 20.0, 21.0)]}
    other = {"v": [tied[1], (2, 0.1, 20.0, 21.0)]}          # the first of the tie suppressed
    counts = match_video(ref["v"], other["v"], 1e-4, 1e-6)
    assert counts == {"same": 2, "near": 0, "tie": 1, "unexplained": 0}
    many = {f"v{i}": [(0, 0.5, float(i), i + 1.0)] for i in range(200)}
    assert compare_detections("1 tie in 203", {**many, **ref}, {**many, **other}).passed


def test_maps_within_the_tolerance():
    assert compare_maps("m", [0.1, 0.5], [0.4, 0.2], [0.4005, 0.2]).passed
    check = compare_maps("m", [0.1, 0.5], [0.4, 0.2], [0.4, 0.21])
    assert not check.passed and "tIoU 0.5" in check.detail
    assert not compare_maps("shape", [0.1], [0.4, 0.2], [0.4, 0.2]).passed


# ------------------------------------------------------------------------ report

def test_report_markdown_and_json(tmp_path):
    checks = [Check("a: outputs", True, "fine"), Check("b | c", False, "max 1e-3", {"x": 1})]
    env = environment()
    text = markdown(checks, env, 12.0)
    assert text.startswith("# GPU check: FAIL\n") and "1 of 2 checks passed" in text
    assert "| a: outputs | PASS | fine |" in text and "| b \\| c | FAIL | max 1e-3 |" in text
    assert f"- torch: {torch.__version__}" in text
    path = write_report(tmp_path / "r.md", checks[:1], env, 1.0)
    assert path.read_text().startswith("# GPU check: PASS")
    data = json.loads(write_report(tmp_path / "r.json", checks, env, 1.0).read_text())
    assert data["passed"] is False and data["checks"][1]["figures"] == {"x": 1}
    assert sorted(os.listdir(tmp_path)) == ["r.json", "r.md"]
    with pytest.raises(OSError, match="cannot write"):
        write_report(tmp_path / "no" / "r.md", checks, env, 1.0)


def test_without_cuda_one_line_and_exit_0(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["--out", str(tmp_path / "r.md")]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("gpu-check: CUDA is not available")
    assert not (tmp_path / "r.md").exists()


def test_test_suite_part_fails_when_no_cuda_case_is_collected():
    check = cuda_test_cases(("tests/test_eval_layering.py",))
    assert not check.passed and "no CUDA case collected" in check.detail


# ----------------------------------------------------------- the whole agreement run

@pytest.mark.slow
def test_cpu_against_itself_passes_every_check_and_writes_the_report(tmp_path, capsys):
    """The checker's own run (``--device cpu --small``): every method, every check, PASS."""
    out = tmp_path / "r.json"
    assert main(["--device", "cpu", "--small", "--only", "agreement", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    names = [c["name"] for c in report["checks"]]
    assert report["passed"] and len(names) == 6 * 7
    for case in ("acmnet", "ftcl_single", "ftcl_pair", "aicl", "co2net", "stcl"):
        assert f"{case} cpu: test pass, detections" in names
    assert "42 of 42 checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("case", ["acmnet", "stcl"])
def test_perturbed_weights_fail_the_agreement(case):
    checks = {c.name: c for c in run_agreement(torch.device("cpu"), SMALL, cases=(case,),
                                               perturb=1e-3)}
    for part in ("model outputs", "loss terms", "gradients", "2 training steps, losses",
                 "test pass, detections"):
        assert not checks[f"{case} cpu: {part}"].passed, part
