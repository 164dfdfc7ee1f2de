"""Every command and relative link of README.md and docs/**/*.md still works.

Commands: each line of a fenced code block (and each inline code span) that runs
``python main_thu.py`` / ``main_act.py``, ``python -m <module of this repository>``, ``make
<target>`` or ``bash <file>`` (also after ``.venv/bin/python``, a ``$ `` prompt or ``VAR=value``
assignments; ``\\`` continuations joined, ``# comments`` dropped) is checked without doing any work:

- ``main_thu.py`` / ``main_act.py ARGS``: ``parse_config(dataset, ARGS + ["--print_config"])``
  (what ``python main_thu.py ARGS --print_config`` runs: it resolves every flag and the
  ``--config`` file, range checks included, and exits 0 without touching data or folders). A
  training command after ``--`` (``tools.sweep``) or inside an ``sbatch`` line is checked the same
  way.
- ``python -m MODULE ARGS``: the module's own ``main(ARGS)`` with ``argparse`` stopped right after
  its top-level ``parse_args`` succeeded, so every flag, value, choice, sub-command and positional
  argument is checked by the real parser and nothing runs. ``-m pytest``: its paths exist.
- ``make TARGET``: TARGET is a rule of the Makefile. ``bash FILE``: FILE exists.

Placeholders, allowed in the docs and said so in docs/README.md: ``<...>`` (e.g. ``<stage-1
best>``) becomes a dummy path; ``[--flag VALUE]`` (optional parts) is checked with the part;
``a|b`` (alternatives) is checked with ``a``; ``...`` and ``WORD...`` are dropped; shell
redirections and pipes end the command. Paths (``DIR``, ``OUT``, ``results.json``) need not exist.

Links: every ``[text](target)`` outside code, relative (not ``http(s):``/``mailto:``), points to
an existing file or folder, and a ``#anchor`` (same page or another .md page) to a heading of
that page (GitHub's heading ids).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from config import parse_config
from tests.helpers import REPO_ROOT

PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").rglob("*.md"))]
SCRIPTS = {"main_thu.py": "THUMOS", "main_act.py": "ActivityNet"}
PYTHONS = {"python", "python3", ".venv/bin/python", "$(BIN)/python"}
PLACEHOLDER = "placeholder_path"
LAUNCHERS = {"sbatch", "srun"}          # their training command is checked too
# Commands the docs show failing on purpose: the start of the error they must still give.
EXPECTED_ERRORS = {
    ("python", "main_act.py", "--method", "aicl"): "error: --method aicl: no ActivityNet recipe",
}
FENCE = re.compile(r"^\s*```")
INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")


def rel(path: Path) -> str:
    return path.relative_to(REPO_ROOT).as_posix()


# ---- reading the pages ---------------------------------------------------------------------

def split_code(text: str) -> tuple[list[tuple[int, str]], str]:
    """(line number, logical line) of every fenced code block, and the text outside them (code
    lines blanked, so that line numbers still hold)."""
    lines, prose, inside, pending, start = [], [], False, "", 0
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            inside = not inside
            prose.append("")
            continue
        if not inside:
            prose.append(line)
            continue
        prose.append("")
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        lines.append((start, pending + line))
        pending = ""
    return lines, "\n".join(prose)


def inline_commands(prose: str) -> list[tuple[int, str]]:
    found = []
    for number, line in enumerate(prose.splitlines(), 1):
        for span in INLINE.findall(line):
            if re.match(r"(python|\.venv/bin/python) (main_\w+\.py|-m )", span.strip()):
                found.append((number, span))
    return found


def tokens_of(line: str) -> list[str] | None:
    """The command of one line as tokens, placeholders replaced; None for a line that runs none
    of the commands checked here."""
    line = line.strip()
    if line.startswith("$ "):
        line = line[2:]
    line = re.sub(r"^[A-Za-z_]\w*=\$\((.*)\)$", r"\1", line)      # jobid=$(sbatch ...)
    line = re.sub(r"<[^<>]*>", PLACEHOLDER, line)                  # <stage-1 best>
    line = re.sub(r"\[(--?[^\[\]]*)\]", r"\1", line)                 # [--split FILE]
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        return None
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=\S*", words[0]):
        words = words[1:]                                           # VAR=value python ...
    if not words:
        return None
    head = words[0]
    if head not in PYTHONS | {"make", "bash"} and not (
            head in LAUNCHERS and any(w in SCRIPTS for w in words)):
        return None
    out = []
    for word in words:
        if word in ("|", ">", ">>", "&&", ";", "2>&1") or word.startswith(">"):
            break
        if word.endswith("..."):
            continue
        if "|" in word and not word.startswith("-"):
            word = word.split("|")[0]                               # thumos14|activitynet13
        if re.fullmatch(r"[A-Z]", word):
            word = "1"                                              # --seed K
        out.append(word.rstrip(";"))
        if word.endswith(";"):
            break
    return out


@dataclass(frozen=True)
class Command:
    page: str
    line: int
    text: str
    words: tuple[str, ...]
    inline: bool = False

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def collect_commands() -> list[Command]:
    commands = []
    for page in PAGES:
        blocks, prose = split_code(page.read_text(encoding="utf-8"))
        spans = inline_commands(prose)
        for number, line in [*blocks, *spans]:
            words = tokens_of(line)
            if words:
                inline = (number, line) in spans
                commands.append(Command(rel(page), number, line.strip(), tuple(words), inline))
    return commands


COMMANDS = collect_commands()


# ---- checking one command ------------------------------------------------------------------

class _Parsed(Exception):
    """Raised by the patched ``ArgumentParser.parse_args`` once parsing has succeeded."""


def check_training(script: str, argv: list[str], error: str | None = None) -> None:
    """``python SCRIPT ARGV --print_config`` in-process: exits 0 (or fails with ``error``)."""
    if "toy" in argv:       # the toy method of the tests (docs/adding-a-method.md) registers here
        importlib.import_module("tests.toy_method")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        with pytest.raises(SystemExit) as stop:
            parse_config(SCRIPTS[script], [*argv, "--print_config"])
    if error:
        assert stop.value.code not in (0, None) and err.getvalue().startswith(error), \
            f"{script} {shlex.join(argv)}: expected {error!r}, got {err.getvalue()[-500:]!r}"
        return
    assert stop.value.code in (0, None), f"{script} {shlex.join(argv)}: {err.getvalue()[-2000:]}"


def check_module(module: str, argv: list[str], monkeypatch) -> None:
    """``python -m MODULE ARGV``: the module's parser accepts ARGV (nothing else runs)."""
    if module == "pytest":      # its paths exist (a file name may be a placeholder: its folder)
        paths = [a for i, a in enumerate(argv) if not a.startswith("-") and argv[i - 1] != "-m"]
        for path in (REPO_ROOT / p.split("::")[0] for p in paths):
            assert path.exists() or path.parent.is_dir() and path.suffix == ".py", path
        return
    assert (REPO_ROOT / module.split(".")[0]).is_dir(), f"{module}: not a module of this repository"
    try:
        main = importlib.import_module(f"{module}.__main__").main
    except ModuleNotFoundError:
        main = importlib.import_module(module).main
    original = argparse.ArgumentParser.parse_args

    def parse_then_stop(self, args=None, namespace=None):
        original(self, args, namespace)
        raise _Parsed

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            monkeypatch.context() as patch:
        patch.setattr(argparse.ArgumentParser, "parse_args", parse_then_stop)
        try:
            main(list(argv))
        except _Parsed:
            pass
        except SystemExit as stop:     # --help exits 0; a parse error 2
            assert stop.code in (0, None), f"python -m {module} {shlex.join(argv)}: " \
                                           f"{err.getvalue()[-2000:]}"
        else:
            pytest.fail(f"python -m {module}: main() returned without parsing its arguments")


def makefile_targets() -> set[str]:
    text = (REPO_ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", text, re.MULTILINE))


def test_commands_were_found():
    """The collection itself works: the README's quickstart and a module CLI are among them."""
    texts = {c.words for c in COMMANDS if c.page == "README.md"}
    assert ("python", "main_thu.py", "--synthetic") in texts
    assert any(c.words[:3] == ("python", "-m", "eval.detection") for c in COMMANDS)
    assert any(c.words[0] == "make" for c in COMMANDS)
    assert tokens_of("python -m x --a <stage-1 best> [--b c|d] ARGS... > out.txt # note") == \
        ["python", "-m", "x", "--a", PLACEHOLDER, "--b", "c"]


@pytest.mark.parametrize("command", COMMANDS, ids=[c.id for c in COMMANDS])
def test_documented_command_parses(command: Command, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    words = list(command.words)
    head = words[0]
    if head == "make":
        targets = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        missing = set(targets) - makefile_targets()
        assert not missing, f"{command.id}: no Makefile target {sorted(missing)}: {command.text}"
        return
    if head == "bash":
        assert (REPO_ROOT / words[1]).is_file(), f"{command.id}: no file {words[1]}"
        return
    checked = False
    if head in PYTHONS and words[1:2] == ["-m"]:
        module, argv = words[2], words[3:]
        own = argv[:argv.index("--")] if "--" in argv else argv
        if module in ("venv", "pip"):
            return
        if command.inline and not argv:     # a module named in prose: `python -m eval.plot`
            importlib.import_module(module)
            return
        check_module(module, own, monkeypatch)
        checked = True
    for i, word in enumerate(words):        # a training command, alone or after -- / in sbatch
        if word in SCRIPTS:
            check_training(word, words[i + 1:], EXPECTED_ERRORS.get(command.words))
            checked = True
            break
    assert checked, f"{command.id}: nothing checked in {command.text}"


# ---- links ---------------------------------------------------------------------------------

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def slug(heading: str) -> str:
    """GitHub's id of a heading: lower case, markup and punctuation dropped, spaces -> '-'."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", heading.strip())
    text = text.lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    _, prose = split_code(page.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    ids = set()
    for line in prose.splitlines():
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            base = slug(match.group(1))
            n = seen.get(base, 0)
            ids.add(base if n == 0 else f"{base}-{n}")
            seen[base] = n + 1
    return ids


def links(page: Path) -> list[tuple[int, str]]:
    _, prose = split_code(page.read_text(encoding="utf-8"))
    found = []
    for number, line in enumerate(prose.splitlines(), 1):
        line = INLINE.sub("", line)
        found += [(number, target) for target in LINK.findall(line)]
    return found


@pytest.mark.parametrize("page", PAGES, ids=[rel(p) for p in PAGES])
def test_relative_links_resolve(page: Path):
    dead = []
    for number, target in links(page):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):            # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            dead.append(f"{rel(page)}:{number}: {target} (no such file)")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            dead.append(f"{rel(page)}:{number}: {target} (no heading #{anchor})")
    assert not dead, "\n".join(dead)


def test_every_docs_page_is_listed_in_the_readme():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    listed = {(REPO_ROOT / t.partition("#")[0]).resolve() for _, t in links(REPO_ROOT / "README.md")}
    missing = [rel(p) for p in PAGES[1:] if p.resolve() not in listed]
    assert not missing, f"docs pages not linked from README.md: {missing}"
    assert len(readme.encode("utf-8")) <= 16384, "README.md over 16 KB: move detail to docs/"
