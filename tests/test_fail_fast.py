"""Bad input is found before any work and reported in one line; --help documents every flag;
progress bars stay out of log files; a clone needs nothing beside it."""
from __future__ import annotations

import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from config import build_parser
from config.schema import SETTINGS
from engine.run import main
from tests.helpers import DIM, REPO_ROOT, run_args


@pytest.fixture(scope="module")
def data_dir(synthetic_data) -> Path:
    return synthetic_data("thumos", num_videos=40, feature_dim=DIM, seed=2)


common = partial(run_args, batch_size=4, segments=60)


@pytest.mark.parametrize("flag,value", [("--batch_size", "0"), ("--epochs", "-1"),
                                        ("--nms_thresh", "1.5"), ("--lr", "0"),
                                        ("--device", "gpu7"), ("--cas_thresholds", "-0.1")])
def test_out_of_range_flags_stop_at_parse_time(flag, value, capsys):
    with pytest.raises(SystemExit) as stop:
        main("THUMOS", [flag, value, "--synthetic"])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("usage:") and flag in err[-1] and "error" in err[-1]


def test_a_bad_flag_run_ends_at_once():
    """As a user runs it: the process ends in seconds, not after an evaluation (a generous bound:
    what is measured is that no work starts, i.e. no data generation or model evaluation)."""
    start = time.monotonic()
    done = subprocess.run([sys.executable, "main_thu.py", "--synthetic", "--batch_size", "0"],
                          cwd=REPO_ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "--batch_size" in done.stderr
    assert "untrained" not in done.stdout and time.monotonic() - start < 60


@pytest.mark.parametrize("where", ["/proc", "/proc/x/y"])
def test_unwritable_output_dir_fails_before_work(data_dir, where, capsys):
    assert main("THUMOS", common(data_dir, Path(where), "--eval_untrained")) == 1
    captured = capsys.readouterr()
    assert "untrained model" not in captured.out
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --output_dir") and where in err[0]


def test_corrupt_test_feature_file_is_found_before_the_first_step(data_dir, tmp_path, capsys):
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    victim = sorted((copy / "test").glob("*.npy"))[0]
    array = np.load(victim)
    victim.write_bytes(victim.read_bytes()[: len(victim.read_bytes()) - array.nbytes // 2])
    assert main("THUMOS", common(copy, tmp_path / "o", "--epochs", "1")) == 1
    captured = capsys.readouterr()
    assert "epoch 0" not in captured.out
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and victim.name in err[0]


def test_help_gives_every_flag_a_line_and_its_default():
    text = build_parser("THUMOS").format_help()
    for key, setting in SETTINGS.items():
        assert f"--{key}" in text, key
        assert setting.help, key
    assert text.count("(default:") >= len(SETTINGS)
    original = text.split("flags of the original FTCL command line:")[1].split("\n\n")[0]
    for key in ("--seed", "--batch_size", "--epochs", "--ftcl", "--thres", "--without_wandb"):
        assert key in original


def test_no_progress_bar_frames_in_a_log_file(data_dir, tmp_path):
    log = tmp_path / "log.txt"
    with log.open("w") as handle:
        done = subprocess.run([sys.executable, "main_thu.py",
                               *common(data_dir, tmp_path / "o", "--epochs", "2")],
                              cwd=REPO_ROOT, stdout=handle, stderr=subprocess.STDOUT)
    assert done.returncode == 0
    text = log.read_text()
    assert "\r" not in text
    assert text.count("epoch 0:") == 1 and text.count("epoch 1:") == 1


def test_a_clone_passes_its_tests_with_nothing_beside_it(tmp_path):
    """The committed tree alone: annotations and reference files ship with it."""
    clone = tmp_path / "alone" / "repo"
    subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(clone)], check=True)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/test_annotations.py", "tests/test_config_pins.py",
                           "tests/test_detection.py::test_reproduces_published_autoloc_table"],
                          cwd=clone, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]
    assert not (clone.parent / "shared").exists()
