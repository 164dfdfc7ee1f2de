"""A run stopped between an epoch's metrics.csv row and its checkpoint resumes to one row per
epoch, the same file as a straight run."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

import engine.trainer as trainer_module
from engine.run import main
from tests.helpers import DIM, run_args


@pytest.fixture(scope="module")
def data_dir(synthetic_data) -> Path:
    return synthetic_data("thumos", num_videos=40, feature_dim=DIM, seed=4)


def args(data: Path, out: Path, *extra: str) -> list[str]:
    return run_args(data, out, "--threads", "1", *extra, batch_size=8, segments=64)


def test_stop_after_the_row_before_the_checkpoint(data_dir, tmp_path, monkeypatch):
    assert main("THUMOS", args(data_dir, tmp_path / "straight", "--epochs", "3")) == 0

    real_save = trainer_module.checkpoints.save

    class Stopped(Exception):
        pass

    def save(path, content):
        if Path(path).name.endswith("_latest.pth") and content["epoch"] == 1:
            raise Stopped          # killed after epoch 1's row, before its checkpoint
        real_save(path, content)

    monkeypatch.setattr(trainer_module.checkpoints, "save", save)
    with pytest.raises(Stopped):
        main("THUMOS", args(data_dir, tmp_path / "stopped", "--epochs", "3"))
    rows = list(csv.DictReader((tmp_path / "stopped" / "metrics.csv").open()))
    assert [r["epoch"] for r in rows] == ["0", "1"]
    monkeypatch.setattr(trainer_module.checkpoints, "save", real_save)

    assert main("THUMOS", args(data_dir, tmp_path / "stopped", "--epochs", "3", "--resume")) == 0
    straight = (tmp_path / "straight" / "metrics.csv").read_text()
    assert (tmp_path / "stopped" / "metrics.csv").read_text() == straight
    a = torch.load(tmp_path / "straight" / "THUMOS_latest.pth", weights_only=True)
    b = torch.load(tmp_path / "stopped" / "THUMOS_latest.pth", weights_only=True)
    assert all(torch.equal(a["model_state_dict"][k], b["model_state_dict"][k])
               for k in a["model_state_dict"])
