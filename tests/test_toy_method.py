"""A method added as a folder of its own (``tests/toy_method``: model, one loss term, a localizer,
defaults) trains, resumes exactly and tests through the normal command line, and nothing outside
its folder names it."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

import tests.toy_method  # noqa: F401  (the one line that lists the method)
from engine.run import main
from tests.helpers import DIM, REPO_ROOT, run_args


@pytest.fixture(scope="module")
def data_dir(synthetic_data) -> Path:
    return synthetic_data("thumos", num_videos=40, feature_dim=DIM, seed=5)


def args(data: Path, out: Path, *extra: str) -> list[str]:
    """The toy's own batch size (no --batch_size), untrained model evaluated."""
    return run_args(data, out, "--eval_untrained", *extra, method="toy", batch_size=None,
                    segments=64)


def weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["model_state_dict"]


def test_toy_trains_resumes_and_tests(data_dir, tmp_path):
    assert main("THUMOS", args(data_dir, tmp_path / "straight", "--epochs", "3")) == 0
    run = tmp_path / "straight"
    config = json.loads((run / "config.json").read_text())
    assert config["run"]["method"] == "toy"
    assert config["optimizer"]["lr"] == 1e-3 and config["train"]["batch_size"] == 8  # its defaults
    assert config["toy"] == {"toy_topk_seg": 4}       # its own section: its own setting only
    assert config["model"] == {}                      # no setting of another method
    state = weights(run / "THUMOS_latest.pth")
    assert set(state) == {"classifier.weight", "classifier.bias"}
    summary = json.loads((run / "summary.json").read_text())
    trained = summary["rules"]["test"]["test"]["average"]["0.1:0.7"]
    untrained = json.loads((run / "untrained" / "metrics.json").read_text())["average"]["0.1:0.7"]
    assert trained > untrained                       # it learns something on the synthetic data
    rows = (run / "metrics.csv").read_text().splitlines()
    assert "train_toy_mil_loss" in rows[0] and len(rows) == 4

    # Resume: two epochs, then the third from the latest checkpoint = the straight run, bit for bit.
    assert main("THUMOS", args(data_dir, tmp_path / "resumed", "--epochs", "2")) == 0
    assert main("THUMOS", args(data_dir, tmp_path / "resumed", "--epochs", "3", "--resume")) == 0
    resumed = weights(tmp_path / "resumed" / "THUMOS_latest.pth")
    assert all(torch.equal(state[k], resumed[k]) for k in state)

    # --test of the best checkpoint gives the table of the evaluation that selected it.
    best = summary["rules"]["test"]["epoch"]
    assert main("THUMOS", ["--method", "toy", "--data_dir", str(data_dir), "--feature_dim",
                           str(DIM), "--test", "--checkpoint", str(run / "THUMOS_best.pth"),
                           "--output_dir", str(tmp_path / "test"), "--without_wandb"]) == 0
    tested = json.loads((tmp_path / "test" / "metrics.json").read_text())
    selected = json.loads((run / f"epoch_{best:03d}" / "metrics.json").read_text())
    assert tested["mAP"] == selected["mAP"]


def test_no_file_outside_the_method_folder_names_it():
    """Adding the toy needed no edit elsewhere: no non-test module mentions it."""
    named = [str(p.relative_to(REPO_ROOT)) for p in REPO_ROOT.rglob("*.py")
             if ".venv" not in p.parts and p.parts[len(REPO_ROOT.parts)] != "tests"
             and re.search(r"[\"']toy[\"']|toy_mil|toy_method|ToyNet", p.read_text())]
    assert named == []
