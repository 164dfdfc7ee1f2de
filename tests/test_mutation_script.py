"""Smoke test of benchmarks/mutation.py on a throwaway repository: one killed, one surviving
(equivalent) and one stale mutant, a test failing and a file failing to import without any
mutation, and the checkout left untouched."""
from __future__ import annotations

import subprocess
from pathlib import Path

from benchmarks.mutants import MUTANTS, Mutant
from tests.helpers import REPO_ROOT
from benchmarks.mutation import (Selection, check_snippets, copy_repository, format_table,
                                 run_mutants, score, select_mutants)

CALC = "def add(a, b):\n    return a + b\n"


def throwaway_repository(root: Path) -> Path:
    (root / "tests").mkdir(parents=True)
    (root / "calc.py").write_text(CALC)
    (root / "tests" / "test_calc.py").write_text(
        "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n")
    (root / "tests" / "test_broken.py").write_text("def test_fails():\n    assert False\n")
    (root / "tests" / "test_unimportable.py").write_text("import a_module_that_is_missing\n")
    (root / ".gitignore").write_text("ignored.txt\n")
    (root / "ignored.txt").write_text("not copied\n")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def test_copy_takes_listed_files_only(tmp_path: Path) -> None:
    repo = throwaway_repository(tmp_path / "repo")
    assert copy_repository(repo, tmp_path / "copy") == 5
    assert (tmp_path / "copy" / "calc.py").read_text() == CALC
    assert not (tmp_path / "copy" / "ignored.txt").exists()


def test_killed_survived_stale_and_the_checkout_untouched(tmp_path: Path) -> None:
    repo = throwaway_repository(tmp_path / "repo")
    mutants = [Mutant("minus", "calc.py", "a + b", "a - b", "subtracts"),
               Mutant("swap", "calc.py", "a + b", "b + a", "swaps the operands",
                      "equivalent: addition commutes"),
               Mutant("gone", "calc.py", "a * b", "a / b", "a snippet that is not there")]
    assert [o.status for o in check_snippets(repo, mutants)] == ["ok", "ok", "stale"]
    logged: list[str] = []
    outcomes, base = run_mutants(repo, mutants, Selection.build(k=""), jobs=2,
                                 log=logged.append)
    # a collection error first (ignored, then the selection runs again), then a failing test
    assert base.failures == ["tests/test_unimportable.py", "tests/test_broken.py::test_fails"]
    assert any("deselected" in line and "test_fails" in line for line in logged)
    assert [(o.mutant.id, o.status) for o in outcomes] == [
        ("minus", "killed"), ("swap", "survived"), ("gone", "stale")]
    assert outcomes[0].killed_by == "tests/test_calc.py::test_add" and outcomes[0].line == 2
    assert (repo / "calc.py").read_text() == CALC
    counts = score(outcomes)
    assert (counts["killed"], counts["survived"], counts["equivalent"], counts["stale"]) == (
        1, 0, 1, 1)
    table = format_table(outcomes)
    assert "calc.py:2" in table and "1 of 1 mutants killed (100.0 %)" in table
    assert "equivalent: addition commutes" in table


def test_the_shipped_list_is_well_formed() -> None:
    ids = [m.id for m in MUTANTS]
    assert len(ids) == len(set(ids)) and len(MUTANTS) >= 43
    assert all(m.original != m.replacement and m.description for m in MUTANTS)
    assert all(m.expect == "kills expected" or m.expect.startswith("equivalent: ")
               for m in MUTANTS)
    assert [m.id for m in select_mutants(MUTANTS, ["eval/proposals.py"])] == [
        m.id for m in MUTANTS if m.file == "eval/proposals.py"]
    assert select_mutants(MUTANTS, ["prop-n*"]) == [
        m for m in MUTANTS if m.id.startswith("prop-n")]


def test_every_shipped_mutant_applies_to_the_current_code() -> None:
    """Each mutant's original text stands exactly once in its file (a refactor that moves or
    rewrites the code must update the list, or the mutant silently tests nothing)."""
    stale = [(o.mutant.id, o.status) for o in check_snippets(REPO_ROOT, MUTANTS)
             if o.status != "ok"]
    assert stale == []
