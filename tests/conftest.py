"""Shared pytest fixtures: the real annotation files that ship with the repository.

``data/THUMOS14`` and ``data/ActivityNet13`` hold the released ``gt.json`` and split files (as the
original repositories ship them); ``tests/data/reference`` holds published detection files with
their published tables (provenance in ``tests/data/README.md``). No test reads outside the clone.
"""
from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
THUMOS_DIR = REPO_ROOT / "data" / "THUMOS14"
ANET_DIR = REPO_ROOT / "data" / "ActivityNet13"
REFERENCE_DIR = REPO_ROOT / "tests" / "data" / "reference"


def _folder(path: Path) -> Path:
    if not (path / "gt.json").is_file() and not path.name == "reference":
        raise FileNotFoundError(f"{path}: the shipped annotation folder is missing (a broken "
                                "clone?)")
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: the shipped reference folder is missing")
    return path


@pytest.fixture(scope="session")
def real_thumos() -> Path:
    """``data/THUMOS14``: the real THUMOS'14 gt.json, split files and official annotations."""
    return _folder(THUMOS_DIR)


@pytest.fixture(scope="session")
def real_anet() -> Path:
    """``data/ActivityNet13``: the real ActivityNet 1.3 gt.json and split files."""
    return _folder(ANET_DIR)


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """``tests/data/reference``: published detection files and the tables printed for them."""
    return _folder(REFERENCE_DIR)
