"""The layout of the test suite, read from the source with ``ast`` (nothing is imported):

1. no test module imports another test module: what several share lives in a helpers module
   (``tests/helpers.py``, ``tests/fake_outputs.py``; fixtures in ``tests/conftest.py``), so each
   test file runs, and reads, on its own;
2. a helpers module under ``tests/`` defines no ``test_*`` function: pytest collects only
   ``test_*.py``, so a test written there would never run;
3. the ``slow`` marker is registered and ``--strict-markers`` is on, so a misspelt marker stops the
   run instead of leaving a training run in ``-m "not slow"``.

The import check runs first on a made-up file holding each form of such an import: a check that
finds nothing there is broken, not passed.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT

TESTS = REPO_ROOT / "tests"


def imported_modules(source: str, package: str) -> set[str]:
    """Every module that ``source`` (a module of ``package``) imports, anywhere in the file
    (inside functions too), relative imports made absolute; ``from P import N`` counts both ``P``
    and ``P.N`` (N may be a module)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[:len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def imported_test_modules(source: str, package: str = "tests") -> list[str]:
    """The ``tests.test_*`` modules among the imports of ``source``."""
    return sorted(m for m in imported_modules(source, package)
                  if m.startswith("tests.test_") and m.count(".") == 1)


def test_the_import_check_finds_each_form() -> None:
    source = ("import tests.test_a\n"
              "from tests.test_b import x\n"
              "from tests import test_c\n"
              "from .test_d import y\n"
              "from . import test_e\n"
              "def f():\n"
              "    import tests.test_f as f\n"
              "from tests.helpers import REPO_ROOT\n"
              "from tests.reference.original_losses import generate_pairs\n"
              "import tests.toy_method\n")
    assert imported_test_modules(source) == [f"tests.test_{c}" for c in "abcdef"]


def test_no_test_module_imports_another() -> None:
    offenders = {}
    for path in sorted(TESTS.glob("test_*.py")):
        imported = imported_test_modules(path.read_text(encoding="utf-8"))
        if imported:
            offenders[path.name] = imported
    assert offenders == {}, ("test modules importing test modules (move the shared piece to "
                             f"tests/helpers.py): {offenders}")


def test_helpers_modules_hold_no_tests() -> None:
    helpers = [p for p in TESTS.rglob("*.py")
               if not p.name.startswith("test_") and "reference" not in p.parts]
    assert TESTS / "helpers.py" in helpers and TESTS / "conftest.py" in helpers
    tests = {str(p.relative_to(REPO_ROOT)): [n.name for n in ast.walk(ast.parse(p.read_text()))
                                            if isinstance(n, ast.FunctionDef)
                                            and n.name.startswith("test")]
             for p in helpers}
    assert {path: names for path, names in tests.items() if names} == {}


def test_slow_marker_is_registered_and_markers_are_strict(pytestconfig: pytest.Config) -> None:
    markers = {line.split(":", 1)[0].strip() for line in pytestconfig.getini("markers")}
    assert "slow" in markers
    assert pytestconfig.inipath == REPO_ROOT / "pytest.ini"
    assert "--strict-markers" in pytestconfig.getini("addopts")
    assert pytestconfig.option.strict_markers
