"""The README's quickstart, run exactly as written (plus an --output_dir): it trains and tests on
the synthetic THUMOS'14-shaped data; the untrained model scores nothing and the trained one lands
in the band measured over seeds (README: the 5-seed sweep). No wall-clock limit: a busy machine is
slower, not wrong."""
from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT

# avg mAP 0.1:0.7 of the last epoch over the README's 5-seed sweep (min, max), widened by 5 points
# for other machines: 65.10 - 70.83 % measured on 2026-12-02.
TRAINED_BAND = (0.60, 0.76)


def quickstart_command() -> list[str]:
    """The first ``python main_thu.py --synthetic ...`` line of the README's Quickstart section."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"^python (main_thu\.py --synthetic[^\n]*)$", section, re.MULTILINE)
    assert match, "the README's Quickstart has no `python main_thu.py --synthetic ...` line"
    return shlex.split(match.group(1))


@pytest.mark.slow
def test_quickstart_trains_into_the_measured_band(tmp_path: Path) -> None:
    command = [sys.executable, *quickstart_command(), "--output_dir", str(tmp_path)]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(r"0\.1:0\.7 mAP \(%\): untrained [\d.]+ -> trained [\d.]+", done.stdout)
    untrained = json.loads((tmp_path / "untrained" / "metrics.json").read_text())
    assert untrained["average"]["0.1:0.7"] < 0.01
    summary = json.loads((tmp_path / "summary.json").read_text())
    last = summary["rules"]["last"]["test"]["average"]["0.1:0.7"]
    low, high = TRAINED_BAND
    assert low <= last <= high, f"trained avg mAP 0.1:0.7 {last:.4f} outside {TRAINED_BAND}"
