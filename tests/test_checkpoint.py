"""utils.checkpoint: every unreadable checkpoint is one line "<path>: <problem>", in the library
and through the command line (exit code 1, no traceback); good checkpoints load."""
from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

from dataset.synthetic import generate
from tests.helpers import REPO_ROOT
from utils.checkpoint import load_checkpoint, save_checkpoint

STATE = {"layer.weight": torch.arange(6.0).reshape(2, 3), "layer.bias": torch.zeros(2)}


def _good(path: Path) -> Path:
    save_checkpoint(path, {"model_state_dict": STATE, "epoch": 3})
    return path


def _write(path: Path, data: bytes | str) -> Path:
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_bytes(data)
    return path


def _bad_files(root: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, expected part of the message)."""
    good = _good(root / "good.pth").read_bytes()
    other_zip = root / "other.zip"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("notes.txt", "not a checkpoint")
    torch.save({"model_state_dict": STATE, "args": argparse.Namespace(lr=1e-4)},
               root / "namespace.pth")
    np.save(root / "array.npy", np.zeros(3))
    torch.save([STATE["layer.bias"]], root / "list.pth")
    torch.save({"model_state_dict": [1, 2]}, root / "sd_list.pth")
    torch.save({"model_state_dict": {"w": 1.5}}, root / "sd_float.pth")
    torch.save({"epoch": 3, "lr": 0.1}, root / "no_sd.pth")
    (root / "folder.pth").mkdir()
    return {
        "missing": (root / "missing.pth", "checkpoint file not found"),
        "folder": (root / "folder.pth", "is a folder"),
        "empty": (_write(root / "empty.pth", b""), "empty file"),
        "hello": (_write(root / "hello.pth", "hello world\n"), "a text file"),
        "abc": (_write(root / "abc.pth", "abc"), "a text file"),
        "readme": (_write(root / "README.md", "# FTCL\n\nSee the docs.\n" * 50), "a text file"),
        "truncated": (_write(root / "truncated.pth", good[:len(good) // 2]), "truncated"),
        "truncated_head": (_write(root / "head.pth", good[:64]), "truncated"),
        "other_zip": (other_zip, "a zip archive that is not a PyTorch checkpoint"),
        "refused_objects": (root / "namespace.pth", "safe loader (weights_only=True) refuses"),
        "plain_pickle": (_write(root / "plain.pkl", pickle.dumps({"a": 1})), "a Python pickle"),
        "npy": (root / "array.npy", "a NumPy .npy array"),
        "binary": (_write(root / "noise.bin", bytes(range(256)) * 8), "not a PyTorch checkpoint"),
        "list_payload": (root / "list.pth", "holds a list"),
        "state_dict_list": (root / "sd_list.pth", "'model_state_dict' is a list"),
        "state_dict_float": (root / "sd_float.pth", "entry 'w' is a float, not a tensor"),
        "no_state_dict": (root / "no_sd.pth", "no 'model_state_dict' entry"),
    }


def test_every_kind_of_bad_file_is_one_line(tmp_path: Path) -> None:
    for name, (path, problem) in _bad_files(tmp_path).items():
        kind = FileNotFoundError if name == "missing" else ValueError
        with pytest.raises(kind) as err:
            load_checkpoint(path)
        message = str(err.value)
        assert message.startswith(f"{path}: ") and problem in message, (name, message)
        assert "\n" not in message, name
        # no chained torch error under it (a CLI that prints a traceback would show it)
        assert err.value.__context__ is None or err.value.__suppress_context__, name


def test_text_file_message_shows_its_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="starts with 'hello world'"):
        load_checkpoint(_write(tmp_path / "x.pth", "hello world\nsecond line\n"))


def test_good_checkpoints_load(tmp_path: Path) -> None:
    ckpt = load_checkpoint(_good(tmp_path / "good.pth"))
    assert ckpt["epoch"] == 3 and torch.equal(ckpt["model_state_dict"]["layer.weight"],
                                              STATE["layer.weight"])
    torch.save(OrderedDict(STATE), tmp_path / "bare.pth")  # a bare state dict is wrapped
    assert list(load_checkpoint(tmp_path / "bare.pth")) == ["model_state_dict"]
    torch.save({"model_state_dict": STATE}, tmp_path / "legacy.pth",
               _use_new_zipfile_serialization=False)
    assert load_checkpoint(tmp_path / "legacy.pth")["model_state_dict"].keys() == STATE.keys()


def test_required_entries(tmp_path: Path) -> None:
    path = _good(tmp_path / "good.pth")
    assert load_checkpoint(path, required=("epoch",))["epoch"] == 3
    with pytest.raises(ValueError, match=r"good.pth: checkpoint lacks 'optimizer_state_dict' "
                                         r"\(entries: 'model_state_dict', 'epoch'\)"):
        load_checkpoint(path, required=("epoch", "optimizer_state_dict"))


def test_command_line_prints_one_error_line(tmp_path: Path) -> None:
    """``main_thu.py --test --checkpoint X`` with a text file and with the state dict of another
    model: exit code 1 and a single ``error: X: ...`` line, never a traceback."""
    data = generate(tmp_path / "data", dataset="thumos", num_videos=4, feature_dim=16)
    text = _write(tmp_path / "notes.pth", "hello, this is not a checkpoint\n")
    other = tmp_path / "other_model.pth"
    save_checkpoint(other, {"model_state_dict": STATE})
    runs = {path: subprocess.Popen(
        [sys.executable, "main_thu.py", "--test", "--checkpoint", str(path), "--data_dir",
         str(data), "--feature_dim", "16", "--without_wandb", "--device", "cpu",
         "--output_dir", str(tmp_path / f"out_{path.stem}")],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for path in (text, other)}
    errors = {}
    for path, run in runs.items():
        _, errors[path] = run.communicate()
        assert run.returncode == 1, errors[path]
        assert "Traceback" not in errors[path]
        lines = [line for line in errors[path].splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith(f"error: {path}: "), errors[path]
    assert "a text file, not a PyTorch checkpoint" in errors[text]
    assert "layer.weight" in errors[other]  # the foreign key is named
