"""Layering of eval/, read from the source with ``ast`` (nothing is imported):

1. no import circle among the modules of eval/ (imports inside functions count too);
2. no name starting with "_" is imported from another project module, in any non-test Python file
   of the repository (a private helper that two modules need gets a public name and one home);
3. eval/ imports no higher layer: the training engine, the configuration, the tools, the methods,
   the benchmarks, the tests or the entry scripts.

The checks are plain functions of a folder, so the first test runs them on a small made-up tree
with one violation of each kind: a check that finds nothing there is broken, not passed.
"""
from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import REPO_ROOT

# Packages whose non-test modules may not import a private name of another project module.
SCANNED = ("benchmarks", "config", "dataset", "engine", "eval", "losses", "methods", "models",
           "tools", "utils")
# What eval/ sits below: it may use utils and dataset, never these.
HIGHER = ("engine", "config", "tools", "methods", "benchmarks", "tests", "main_act", "main_thu")


def module_name(root: Path, path: Path) -> str:
    """Dotted name of a .py file under ``root`` (a package's __init__.py is the package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules(root: Path) -> dict[str, Path]:
    """Every importable module of the project: top-level scripts, and the modules of each package
    (every folder between ``root`` and the file has an __init__.py)."""
    out = {module_name(root, p): p for p in root.glob("*.py")}
    for pkg in sorted(p.parent for p in root.glob("*/__init__.py")):
        for path in pkg.rglob("*.py"):
            parts = path.relative_to(root).parts
            if all((root.joinpath(*parts[:i]) / "__init__.py").is_file()
                   for i in range(1, len(parts))):
                out[module_name(root, path)] = path
    return out


def _absolute(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    """The absolute module named by ``from <node.module> import ...`` inside ``module``."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(root: Path, module: str, path: Path, known: dict[str, Path]
            ) -> list[tuple[int, str, str | None]]:
    """Imports of project modules in one file, anywhere in it: (line, module, name), name None
    for ``import a.b`` and for ``from a import b`` where a.b is a module (then module is a.b)."""
    tops = {name.split(".")[0] for name in known}
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name, None) for a in node.names
                    if a.name.split(".")[0] in tops]
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node, path.name == "__init__.py")
            if source.split(".")[0] not in tops:
                continue
            for a in node.names:
                sub = f"{source}.{a.name}"
                out.append((node.lineno, sub, None) if sub in known
                           else (node.lineno, source, a.name))
    return out


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_imports(root: Path, packages: tuple[str, ...]) -> list[str]:
    """"file:line: name from module" for each private name imported from another project module
    by a non-test file of ``packages`` (``from m import _x``, ``import m._x``, and ``m._x`` where
    m is a name bound to a project module by an import)."""
    known = project_modules(root)
    found = []
    for module, path in sorted(known.items()):
        if module.split(".")[0] not in packages or "tests" in path.relative_to(root).parts:
            continue
        where = path.relative_to(root)
        for line, source, name in imports(root, module, path, known):
            if source == module:
                continue
            if name is not None and _is_private(name):
                found.append(f"{where}:{line}: {name} from {source}")
            elif name is None and any(map(_is_private, source.split("."))):
                found.append(f"{where}:{line}: module {source}")
        found += _private_attributes(root, module, path, known)
    return found


def _private_attributes(root: Path, module: str, path: Path, known: dict[str, Path]) -> list[str]:
    """``alias._name`` where alias is bound to another project module by an import."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases.update({a.asname: a.name for a in node.names if a.asname and a.name in known})
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node, path.name == "__init__.py")
            aliases.update({a.asname or a.name: f"{source}.{a.name}" for a in node.names
                            if f"{source}.{a.name}" in known})
    return [f"{path.relative_to(root)}:{node.lineno}: {node.attr} from {aliases[node.value.id]}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id in aliases and aliases[node.value.id] != module
            and _is_private(node.attr)]


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module of ``package`` -> the modules of ``package`` it imports."""
    known = project_modules(root)
    mine = {m: p for m, p in known.items() if m.split(".")[0] == package}
    return {m: {source for _, source, _ in imports(root, m, p, known)
                if source in mine and source != m} for m, p in mine.items()}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (a -> b -> ... -> a) through each circle of the graph (Tarjan's strongly
    connected components of more than one module, plus self-imports)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while not component or component[-1] != v:
                component.append(stack.pop())
            if len(component) > 1 or v in graph.get(v, ()):
                components.append(set(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    cycles = []
    for component in components:
        start = min(component)
        path, seen = [start], {start}
        while True:  # walk inside the component until the path closes
            nxt = sorted(w for w in graph[path[-1]] if w in component)
            back = [w for w in nxt if w in seen]
            if back:
                path.append(back[0])
                cycles.append(path[path.index(back[0]):])
                break
            path.append(nxt[0])
            seen.add(nxt[0])
    return cycles


def higher_imports(root: Path, package: str, higher: tuple[str, ...]) -> list[str]:
    """"file:line: module" for each import of a ``higher`` layer by a module of ``package``."""
    known = project_modules(root)
    return [f"{path.relative_to(root)}:{line}: {source}"
            for module, path in sorted(known.items()) if module.split(".")[0] == package
            for line, source, _ in imports(root, module, path, known)
            if source.split(".")[0] in higher]


# ---------------------------------------------------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_the_checks_find_each_kind_of_violation(tmp_path):
    _write(tmp_path, {
        "eval/__init__.py": "",
        "eval/a.py": "from eval.b import public\n",
        "eval/b.py": "def public():\n    from eval import a  # inside a function: counts\n",
        "eval/c.py": "from .b import _hidden\nimport engine.run\n",
        "eval/d.py": "from eval import c as cc\nx = cc._helper\nfrom eval.d import _own\n",
        "engine/__init__.py": "",
        "engine/run.py": "from eval.c import _helper\nfrom config import thing\n",
        "config/__init__.py": "thing = 1\n",
        "tools/__init__.py": "", "tools/t.py": "import os._private_stdlib_is_not_ours\n",
        "tests/__init__.py": "", "tests/test_x.py": "from eval.c import _tests_may\n",
    })
    graph = import_graph(tmp_path, "eval")
    assert graph["eval.a"] == {"eval.b"} and graph["eval.b"] == {"eval.a"}
    assert import_cycles(graph) == [["eval.a", "eval.b", "eval.a"]]
    assert private_imports(tmp_path, ("eval", "engine", "tools")) == [
        "engine/run.py:1: _helper from eval.c", "eval/c.py:1: _hidden from eval.b",
        "eval/d.py:2: _helper from eval.c"]
    assert higher_imports(tmp_path, "eval", HIGHER) == ["eval/c.py:2: engine.run"]


def test_the_scan_sees_the_project():
    graph = import_graph(REPO_ROOT, "eval")
    assert {"eval.detection", "eval.thumos14", "eval.pr", "eval.plot", "eval.inputs"} <= set(graph)
    assert "eval.inputs" in graph["eval.detection"] and "eval.inputs" in graph["eval.thumos14"]


def test_no_import_circle_in_eval():
    assert import_cycles(import_graph(REPO_ROOT, "eval")) == []


def test_no_private_name_crosses_a_module():
    assert private_imports(REPO_ROOT, SCANNED) == []


def test_eval_imports_no_higher_layer():
    assert higher_imports(REPO_ROOT, "eval", HIGHER) == []

