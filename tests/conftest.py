"""Shared pytest fixtures: the real annotation files that ship with the repository, and the
small synthetic data sets of the training-run tests.

``data/THUMOS14`` and ``data/ActivityNet13`` hold the released ``gt.json`` and split files (as the
original repositories ship them); ``tests/data/reference`` holds published detection files with
their published tables (provenance in ``tests/data/README.md``). No test reads outside the clone.
Shared helpers that are not fixtures (``REPO_ROOT``, the run command line) are in
``tests/helpers.py``; the ``slow`` marker is registered in ``pytest.ini``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from tests.helpers import REPO_ROOT

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


@pytest.fixture(scope="session")
def synthetic_data(tmp_path_factory) -> Callable[..., Path]:
    """``synthetic_data(dataset, num_videos, feature_dim, seed)``: the folder of
    ``dataset.synthetic.generate`` with those arguments, generated once per session and shared by
    every module that asks for the same set (a module fixture picks its own sizes). Shared, so
    read-only: a test that changes files copies the folder first."""
    from dataset.synthetic import generate

    made: dict[tuple[str, int, int, int], Path] = {}

    def get(dataset: str, num_videos: int, feature_dim: int, seed: int) -> Path:
        key = (dataset, num_videos, feature_dim, seed)
        if key not in made:
            folder = tmp_path_factory.mktemp("anet" if dataset == "activitynet" else dataset)
            made[key] = generate(folder, dataset=dataset, num_videos=num_videos,
                                 feature_dim=feature_dim, seed=seed)
        return made[key]

    return get
