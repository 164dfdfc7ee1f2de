"""utils.io.atomic_write (permissions from the umask, no partial files) and the results-file I/O
built on it (eval.results: atomic JSON, AICL's ``score300`` key, one-line read errors)."""
from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest
import torch

from eval.results import load_results, results_arrays, validate_results, write_json_atomic
from utils.checkpoint import save_checkpoint
from utils.io import atomic_write, current_umask


@pytest.fixture
def umask():
    """Set the process umask for one test, restoring it afterwards."""
    saved = os.umask(0o022)
    os.umask(saved)
    yield lambda mask: os.umask(mask)
    os.umask(saved)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_every_writer_gives_the_umask_permissions(tmp_path: Path, umask, mask: int,
                                                  mode: int) -> None:
    umask(mask)
    assert current_umask() == mask
    atomic_write(tmp_path / "bytes.bin", b"abc")
    atomic_write(tmp_path / "callable.bin", lambda f: f.write(b"xyz"))
    write_json_atomic(tmp_path / "results.json", {"results": {}})
    save_checkpoint(tmp_path / "ckpt.pth", {"model_state_dict": {"w": torch.zeros(2)}})
    for name in ("bytes.bin", "callable.bin", "results.json", "ckpt.pth"):
        assert _mode(tmp_path / name) == mode, name
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bytes.bin", "callable.bin", "ckpt.pth", "results.json"]  # no temporary file left


def test_current_umask_leaves_the_umask_unchanged(umask) -> None:
    umask(0o027)
    assert current_umask() == 0o027
    assert os.umask(0o027) == 0o027


def test_replaces_the_whole_file_and_keeps_it_on_failure(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    atomic_write(path, b"old content that is longer")
    atomic_write(path, b"new")
    assert path.read_bytes() == b"new"

    def failing(handle) -> None:
        handle.write(b"partial")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        atomic_write(path, failing)
    assert path.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_missing_folder_is_one_line_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(OSError) as err:
        atomic_write(tmp_path / "nope" / "f.bin", b"x")
    assert str(err.value).startswith(f"{tmp_path / 'nope' / 'f.bin'}: cannot write")
    assert "\n" not in str(err.value)


# ----------------------------------------------------------------------------- results files

def _aicl_entry(score: float, start: float = 0.0) -> dict:
    return {"label": "A", "score300": score, "segment": [start, start + 1.0]}


def test_score300_is_read_as_the_score(tmp_path: Path) -> None:
    obj = {"results": {"v1": [_aicl_entry(0.75), {"label": "A", "score": 0.5,
                                                  "segment": [2.0, 3.0]}],
                       "v2": [_aicl_entry(0.25, 4.0)]}}
    videos, labels, scores, segments = results_arrays(obj, "src", labels={"A"})
    assert videos == ["v1", "v1", "v2"] and labels == ["A", "A", "A"]
    assert scores.tolist() == [0.75, 0.5, 0.25]
    assert segments.tolist() == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    path = tmp_path / "aicl.json"
    path.write_text(json.dumps(obj))
    loaded = load_results(path)
    assert [e["score"] for e in loaded["results"]["v1"]] == [0.75, 0.5]
    assert loaded["results"]["v2"][0] == {"label": "A", "score300": 0.25, "score": 0.25,
                                          "segment": [4.0, 5.0]}


def test_score_wins_over_score300() -> None:
    obj = {"results": {"v": [{"label": "A", "score": 0.9, "score300": 0.1,
                              "segment": [0.0, 1.0]}]}}
    assert results_arrays(obj, "src")[2].tolist() == [0.9]


@pytest.mark.parametrize("entry,problem", [
    ({"label": "A", "segment": [0.0, 1.0]}, "'score' (or 'score300')"),
    ({"label": "A", "score300": float("nan"), "segment": [0.0, 1.0]}, "score nan"),
    ({"label": "A", "score300": "high", "segment": [0.0, 1.0]}, "score 'high'"),
])
def test_bad_score300_entries_are_named(entry: dict, problem: str) -> None:
    obj = {"results": {"vid": [_aicl_entry(0.5), entry]}}
    with pytest.raises(ValueError, match=rf"src: video 'vid' entry 1: .*{re.escape(problem)}"):
        validate_results(obj, "src")
    with pytest.raises(ValueError, match=r"src: video 'vid' entry 1"):
        results_arrays(obj, "src")


def test_unreadable_results_files_are_one_line(tmp_path: Path) -> None:
    cases = {
        "missing.json": (FileNotFoundError, "results file not found"),
        "folder.json": (ValueError, "is a folder"),
        "binary.json": (ValueError, "not a text"),
        "broken.json": (ValueError, "not valid JSON"),
        "list.json": (ValueError, "not a results file"),
    }
    (tmp_path / "folder.json").mkdir()
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "broken.json").write_text('{"results": {')
    (tmp_path / "list.json").write_text("[1, 2]")
    for name, (kind, problem) in cases.items():
        with pytest.raises(kind) as err:
            load_results(tmp_path / name)
        message = str(err.value)
        assert message.startswith(f"{tmp_path / name}: ") and problem in message, message
        assert "\n" not in message
