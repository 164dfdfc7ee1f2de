"""The README's quickstart, run exactly as written (plus an --output_dir): it trains and tests on
the synthetic THUMOS'14-shaped data, and the trained model scores far above the untrained one."""
from __future__ import annotations

import csv
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def quickstart_command() -> list[str]:
    """The first ``python main_thu.py --synthetic ...`` line of the README's Quickstart section."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"^python (main_thu\.py --synthetic[^\n]*)$", section, re.MULTILINE)
    assert match, "the README's Quickstart has no `python main_thu.py --synthetic ...` line"
    return shlex.split(match.group(1))


def test_quickstart_trains_far_above_untrained(tmp_path: Path) -> None:
    command = [sys.executable, *quickstart_command(), "--output_dir", str(tmp_path)]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(r"0\.1:0\.7 mAP \(%\): untrained [\d.]+ -> trained [\d.]+", done.stdout)

    untrained = json.loads((tmp_path / "untrained" / "metrics.json").read_text())
    rows = [r for r in csv.DictReader((tmp_path / "metrics.csv").open()) if r["test_mAP@0.10"]]
    assert rows, "the quickstart never tested the trained model"
    trained = float(rows[-1]["test_avg_mAP_0.1:0.7_subset"])
    assert untrained["average"]["0.1:0.7"] < 0.01
    assert trained > 0.4, f"trained avg mAP 0.1:0.7 is only {trained:.4f}"
