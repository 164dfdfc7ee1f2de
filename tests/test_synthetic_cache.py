"""dataset.synthetic.ensure_synthetic: one complete cache under concurrency, partial folders
regenerated, replacement without a partial window and never under a process using the cache."""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from dataset.synthetic import ensure_synthetic, generate, release_synthetic
from tests.helpers import REPO_ROOT

N, D = 12, 16
GENERATING = "generating the synthetic thumos dataset"


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[int, dict[str, str]]:
    """Digests of single, uncontended generations of N and N + 4 videos."""
    root = tmp_path_factory.mktemp("reference")
    return {n: _digest(generate(root / f"n{n}", dataset="thumos", num_videos=n, feature_dim=D))
            for n in (N, N + 4)}


def _start(root: Path, num_videos: int) -> subprocess.Popen:
    """A process that calls ensure_synthetic on ``root`` and prints the meta as JSON."""
    code = ("import json, sys; from pathlib import Path; "
            "from dataset.synthetic import ensure_synthetic; "
            f"print(json.dumps(ensure_synthetic(Path(sys.argv[1]), 'thumos', {num_videos}, {D})))")
    return subprocess.Popen([sys.executable, "-c", code, str(root)], cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(process: subprocess.Popen, text: str) -> list[str]:
    """Read ``process``'s stderr up to a line containing ``text`` (fails if it exits first)."""
    lines = []
    while True:
        line = process.stderr.readline()
        assert line, f"process ended before saying {text!r}: {''.join(lines)}"
        lines.append(line)
        if text in line:
            return lines


def _siblings(root: Path) -> list[str]:
    return sorted(p.name for p in root.parent.iterdir())


def test_concurrent_generators_make_one_complete_copy(tmp_path: Path, reference) -> None:
    root = tmp_path / "cache"
    # Hold the generation lock so that both processes are provably waiting at the same time.
    with open(tmp_path / "cache.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        runs = [_start(root, N) for _ in range(2)]
        for run in runs:
            _wait_for(run, "waiting for another process generating")
        assert not root.exists()
    outputs = [run.communicate() for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert sum(err.count(GENERATING) for _, err in outputs) == 1  # the second found the copy
    metas = [json.loads(out) for out, _ in outputs]
    assert metas[0] == metas[1] and metas[0]["num_videos"] == N
    assert _digest(root) == reference[N]
    assert _siblings(root) == ["cache", "cache.lock", "cache.readers.lock"]


def test_partial_folder_is_regenerated_not_read(tmp_path: Path, reference, capsys) -> None:
    root = tmp_path / "cache"
    generate(root, dataset="thumos", num_videos=N, feature_dim=D)
    (root / "meta.json").unlink()  # as a generator killed before its last write leaves it
    next((root / "train").glob("*.npy")).write_bytes(b"half")
    ensure_synthetic(root, "thumos", N, D)
    assert GENERATING in capsys.readouterr().err
    assert _digest(root) == reference[N]
    release_synthetic(root)

    next((root / "test").glob("*.npy")).unlink()  # meta.json there, a feature file missing
    ensure_synthetic(root, "thumos", N, D)
    assert GENERATING in capsys.readouterr().err
    assert _digest(root) == reference[N]
    ensure_synthetic(root, "thumos", N, D)  # complete now: used as it is
    assert GENERATING not in capsys.readouterr().err
    release_synthetic(root)


def test_other_settings_are_replaced_whole(tmp_path: Path, reference) -> None:
    root = tmp_path / "cache"
    assert ensure_synthetic(root, "thumos", N, D)["num_videos"] == N
    leftover = tmp_path / ".cache.tmp-killed"  # from a generator killed mid-way
    leftover.mkdir()
    (leftover / "gt.json").write_text("{}")
    meta = ensure_synthetic(root, "thumos", N + 4, D)  # same process: its own lock is no obstacle
    assert meta["num_videos"] == N + 4
    assert _digest(root) == reference[N + 4]
    assert _siblings(root) == ["cache", "cache.lock", "cache.readers.lock"]
    release_synthetic(root)


def test_a_cache_in_use_is_not_replaced_until_released(tmp_path: Path, reference) -> None:
    root = tmp_path / "cache"
    ensure_synthetic(root, "thumos", N, D)  # this process now uses the cache
    try:
        other = _start(root, N + 4)
        _wait_for(other, "waiting for the other processes using")
        assert _digest(root) == reference[N]  # untouched while in use
    finally:
        release_synthetic(root)
    out, err = other.communicate()
    assert other.returncode == 0, err
    assert json.loads(out)["num_videos"] == N + 4
    assert _digest(root) == reference[N + 4]


def test_same_settings_do_not_wait_for_users(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    ensure_synthetic(root, "thumos", N, D)
    try:
        out, err = _start(root, N).communicate()
    finally:
        release_synthetic(root)
    assert "waiting" not in err and GENERATING not in err
    assert json.loads(out)["num_videos"] == N


def test_foreign_folder_is_refused_untouched(tmp_path: Path, real_thumos: Path) -> None:
    root = tmp_path / "THUMOS14"
    shutil.copytree(real_thumos, root)
    before = _digest(root)
    for attempt in (lambda: ensure_synthetic(root, "thumos", N, D),
                    lambda: generate(root, dataset="thumos", num_videos=N, feature_dim=D)):
        with pytest.raises(ValueError, match=rf"{root}: exists and is not a synthetic dataset"):
            attempt()
    assert _digest(root) == before
    file_root = tmp_path / "a_file"
    file_root.write_text("x")
    with pytest.raises(ValueError, match="not a synthetic dataset"):
        ensure_synthetic(file_root, "thumos", N, D)


def test_generated_files_get_the_umask_permissions(tmp_path: Path) -> None:
    saved = os.umask(0o022)
    try:
        root = generate(tmp_path / "cache", dataset="thumos", num_videos=N, feature_dim=D)
    finally:
        os.umask(saved)
    modes = {stat.S_IMODE(p.stat().st_mode) for p in root.rglob("*") if p.is_file()}
    folders = {stat.S_IMODE(p.stat().st_mode) for p in [root, *root.rglob("*")] if p.is_dir()}
    assert modes == {0o644} and folders == {0o755}
