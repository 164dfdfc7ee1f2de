"""Shared pytest fixtures: paths to the real annotation files beside the repository."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``: real THUMOS'14 / ActivityNet 1.3 annotations (never copied in)."""
    if not SHARED_DATA.is_dir():
        raise FileNotFoundError(f"{SHARED_DATA}: the real annotation folder beside the repository "
                                "is missing; the tests need it")
    return SHARED_DATA
