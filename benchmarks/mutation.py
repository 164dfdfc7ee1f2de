"""Mutation testing: does the fast test suite catch a wrong number?

``python -m benchmarks.mutation [--jobs N] [--only PATTERN] [--rev REV] [--json OUT] [--list]``

Each mutant of ``benchmarks/mutants.py`` (one exact snippet of one file replaced) is applied to a
private COPY of the repository (the files ``git ls-files`` lists, tracked and untracked-unignored,
as they are in the working tree; or the tree of commit ``--rev``), never to the checkout itself.
The copy first runs the test selection unmutated: tests that fail there are deselected (and
listed), since they cannot tell a mutant apart. Then per mutant: write the mutated file, run the
likely killers (``FIRST_TESTS``) and, if they pass, the whole selection, both with ``-x``; restore
the file. A mutant is *killed* by the first failing test (or a timeout), *survived* when
everything passes, *stale* when its snippet is not in the file (after a refactor), *ambiguous*
when it occurs more than once. The table lists each mutant with its result; the score is killed
/ (killed + survived) over the mutants expected to be killed (the ones marked equivalent are
reported apart).

The default selection is ``tests`` without the slow ones (the quickstart, the end-to-end
training runs, the subprocess and benchmark smoke tests, anything marked ``slow``); change it with
``--paths``, ``-k``, ``--pytest-args``. A full run takes tens of minutes: not for CI.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import fnmatch
import json
import os
import platform
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from benchmarks.mutants import FIRST_TESTS, MUTANTS, Mutant

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PATHS = ("tests",)
SLOW_TESTS = ("quickstart", "test_train_then_ftcl_stage_then_test",
              "test_without_wandb_never_imports_wandb", "test_scripts_run_as_commands",
              "test_benchmark_runs", "test_mutation_script")
DEFAULT_K = " and ".join(f"not {name}" for name in SLOW_TESTS)
BASE_OPTIONS = ("-q", "-rfE", "-p", "no:cacheprovider", "-m", "not slow")
_SUMMARY = re.compile(r"^(FAILED|ERROR) (\S+?)(?: - .*)?$", re.MULTILINE)


@dataclass
class TestRun:
    """One pytest run: passed, the failing node ids of its summary, timed out, wall seconds."""

    passed: bool
    failures: list[str]
    timed_out: bool
    seconds: float
    output: str = field(default="", repr=False)


@dataclass
class Outcome:
    """What happened to one mutant."""

    mutant: Mutant
    status: str                  # killed | survived | stale | ambiguous
    killed_by: str = ""          # the first failing test, or "timeout"
    line: int = 0                # line of the snippet in the original file (1-based)
    seconds: float = 0.0


@dataclass
class Selection:
    """Which tests run: pytest ``paths`` and ``options`` (filters, flags)."""

    paths: list[str]
    options: list[str]

    @classmethod
    def build(cls, paths: Sequence[str] = DEFAULT_PATHS, k: str = DEFAULT_K,
              extra: Sequence[str] = ()) -> "Selection":
        """``paths`` with the base options, ``-k k`` (none when empty) and ``extra``."""
        return cls(list(paths), [*BASE_OPTIONS, *(["-k", k] if k else []), *extra])


# --------------------------------------------------------------------------- the copies

def _git(repo: Path, *args: str) -> bytes:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"{repo}: git {' '.join(args)} failed: "
                           f"{done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def copy_repository(repo: Path, dest: Path, rev: str | None = None) -> int:
    """Copy ``repo`` into the empty folder ``dest``: the tree of commit ``rev``, or (None) every
    file ``git ls-files`` lists, tracked or untracked-unignored, as it is in the working tree.
    Returns the number of files copied."""
    dest.mkdir(parents=True, exist_ok=True)
    if rev is not None:
        proc = subprocess.Popen(["git", "-C", str(repo), "archive", "--format=tar", rev],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            count = 0
            for member in tar:
                tar.extract(member, dest, filter="data")
                count += member.isfile()
        if proc.wait() != 0:
            raise RuntimeError(f"{repo}: git archive {rev} failed: "
                               f"{proc.stderr.read().decode(errors='replace').strip()}")
        return count
    listed = _git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    count = 0
    for name in sorted(set(listed.decode().split("\0")) - {""}):
        src = repo / name
        if not (src.is_file() or src.is_symlink()):   # deleted in the working tree
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target, follow_symlinks=False)
        count += 1
    return count


def snippet_status(text: str, mutant: Mutant) -> tuple[str, int]:
    """("ok" | "stale" | "ambiguous", 1-based line of the first occurrence or 0)."""
    count = text.count(mutant.original)
    if count == 0:
        return "stale", 0
    line = text[:text.index(mutant.original)].count("\n") + 1
    return ("ok" if count == 1 else "ambiguous"), line


# --------------------------------------------------------------------------- running pytest

def _environment(jobs: int) -> dict[str, str]:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTEST_ADDOPTS", None)
    threads = str(max(1, (os.cpu_count() or 1) // max(1, jobs)))
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, threads)
    return env


def run_pytest(root: Path, args: Sequence[str], timeout: float | None,
               env: dict[str, str] | None = None) -> TestRun:
    """``python -m pytest ARGS`` in ``root``; on timeout the whole process group is killed."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        timed_out = True
    failures = [m.group(2) for m in _SUMMARY.finditer(output or "")]
    # exit 5: nothing collected (e.g. a hint file deselected entirely) counts as passing
    passed = not timed_out and proc.returncode in (0, 5)
    return TestRun(passed, failures, timed_out, time.perf_counter() - start, output or "")


def _deselect_options(failures: Iterable[str]) -> list[str]:
    options = []
    for node in failures:
        options.append(f"--deselect={node}" if "::" in node else f"--ignore={node}")
    return options


def baseline(root: Path, selection: Selection, timeout: float | None,
             env: dict[str, str], rounds: int = 3) -> TestRun:
    """The unmutated selection, without ``-x``. A collection error stops pytest before any
    test runs, so the failing files are ignored and the selection run again (``rounds`` times
    at most); the returned run lists every failure found on the way."""
    failures: list[str] = []
    for _ in range(rounds):
        run = run_pytest(root, [*selection.options, *_deselect_options(failures),
                                *selection.paths], timeout, env)
        new = [f for f in run.failures if f not in failures]
        failures += new
        if all("::" in f for f in new):   # no collection error: every test has run
            break
    run.failures = failures
    return run


def _apply_and_test(root: Path, mutant: Mutant, selection: Selection, timeout: float | None,
                    env: dict[str, str]) -> Outcome:
    path = root / mutant.file
    if not path.is_file():
        return Outcome(mutant, "stale")
    text = path.read_text(encoding="utf-8")
    status, line = snippet_status(text, mutant)
    if status != "ok":
        return Outcome(mutant, status, line=line)
    start = time.perf_counter()
    stat = path.stat()
    try:
        path.write_text(text.replace(mutant.original, mutant.replacement), encoding="utf-8")
        # A new mtime even within the same second, so no stale bytecode can be picked up.
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        firsts = [t for t in FIRST_TESTS.get(mutant.file, ()) if (root / t).exists()]
        runs = ([firsts] if firsts else []) + [selection.paths]
        for paths in runs:
            result = run_pytest(root, [*selection.options, "-x", *paths], timeout, env)
            if not result.passed:
                killer = "timeout" if result.timed_out else (
                    result.failures[0] if result.failures else "pytest exit status")
                return Outcome(mutant, "killed", killer, line, time.perf_counter() - start)
        return Outcome(mutant, "survived", "", line, time.perf_counter() - start)
    finally:
        path.write_text(text, encoding="utf-8")
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def run_mutants(repo: Path, mutants: Sequence[Mutant], selection: Selection, *, jobs: int = 1,
                rev: str | None = None, timeout: float | None = None,
                progress: Callable[[Outcome, int, int], None] | None = None,
                log: Callable[[str], None] = print) -> tuple[list[Outcome], TestRun]:
    """Run ``mutants`` on ``jobs`` private copies of ``repo``; returns the outcomes (in the order
    of ``mutants``) and the baseline run. Raises RuntimeError when the baseline collects nothing
    or every test fails there. ``timeout`` (seconds per pytest run) defaults to 3x the
    baseline plus 60 s."""
    env = _environment(jobs)
    workdir = Path(tempfile.mkdtemp(prefix="mutation-"))
    try:
        first = workdir / "copy0"
        files = copy_repository(repo, first, rev)
        log(f"copied {files} files of {repo}{f' at {rev}' if rev else ' (working tree)'} "
            f"into {workdir}")
        base = baseline(first, selection, None, env)
        summary = (base.output.strip().splitlines() or ["(no output)"])[-1]
        log(f"baseline: {summary}")
        if base.failures:
            log(f"deselected, failing without any mutation ({len(base.failures)}): "
                + ", ".join(base.failures))
        elif not base.passed:
            raise RuntimeError(f"the unmutated test selection fails:\n{base.output[-3000:]}")
        if "passed" not in summary:
            raise RuntimeError(f"the unmutated test selection passes no test: {summary}")
        chosen = Selection(selection.paths, [*selection.options,
                                             *_deselect_options(base.failures)])
        limit = timeout if timeout is not None else 3 * base.seconds + 60
        copies: queue.Queue[Path] = queue.Queue()
        copies.put(first)
        for k in range(1, min(jobs, len(mutants))):
            dest = workdir / f"copy{k}"
            shutil.copytree(first, dest, symlinks=True)
            copies.put(dest)
        outcomes: list[Outcome | None] = [None] * len(mutants)
        done = [0]
        lock = threading.Lock()

        def task(index: int) -> None:
            root = copies.get()
            try:
                outcome = _apply_and_test(root, mutants[index], chosen, limit, env)
            finally:
                copies.put(root)
            outcomes[index] = outcome
            with lock:
                done[0] += 1
                if progress:
                    progress(outcome, done[0], len(mutants))

        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            for future in [pool.submit(task, i) for i in range(len(mutants))]:
                future.result()
        return [o for o in outcomes if o is not None], base
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# --------------------------------------------------------------------------- reporting

def score(outcomes: Sequence[Outcome]) -> dict[str, int | float]:
    """Counts, and the score killed / (killed + survived) of the mutants expected to be killed."""
    expected = [o for o in outcomes if not o.mutant.equivalent]
    killed = sum(o.status == "killed" for o in expected)
    survived = sum(o.status == "survived" for o in expected)
    equivalent = [o for o in outcomes if o.mutant.equivalent]
    return {"killed": killed, "survived": survived,
            "score": killed / (killed + survived) if killed + survived else float("nan"),
            "equivalent": len(equivalent),
            "equivalent_killed": sum(o.status == "killed" for o in equivalent),
            "stale": sum(o.status == "stale" for o in outcomes),
            "ambiguous": sum(o.status == "ambiguous" for o in outcomes)}


def format_table(outcomes: Sequence[Outcome]) -> str:
    """One line per mutant: id, file:line, result, killing test or what the mutant does."""
    rows = [("mutant", "where", "result", "killed by / mutation")]
    for o in outcomes:
        where = f"{o.mutant.file}:{o.line}" if o.line else o.mutant.file
        result = o.status + (" (equivalent)" if o.mutant.equivalent else "")
        note = o.killed_by if o.status == "killed" else o.mutant.description
        if o.status == "survived" and o.mutant.equivalent:
            note = o.mutant.expect
        rows.append((o.mutant.id, where, result, note))
    widths = [max(len(r[c]) for r in rows) for c in range(3)]
    lines = ["  ".join(r[c].ljust(widths[c]) for c in range(3)) + "  " + r[3] for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    s = score(outcomes)
    lines.append("")
    lines.append(f"score: {s['killed']} of {s['killed'] + s['survived']} mutants killed "
                 f"({100 * s['score']:.1f} %), {s['survived']} survived; {s['equivalent']} "
                 f"marked equivalent ({s['equivalent_killed']} killed anyway); "
                 f"{s['stale']} stale, {s['ambiguous']} ambiguous (not counted)")
    return "\n".join(lines)


def select_mutants(mutants: Sequence[Mutant], patterns: Sequence[str]) -> list[Mutant]:
    """Mutants whose id or file matches any glob (or contains any substring) of ``patterns``."""
    if not patterns:
        return list(mutants)
    return [m for m in mutants
            if any(fnmatch.fnmatch(m.id, p) or fnmatch.fnmatch(m.file, p) or p in m.id
                   or p in m.file for p in patterns)]


def check_snippets(repo: Path, mutants: Sequence[Mutant], rev: str | None = None
                   ) -> list[Outcome]:
    """Where each snippet is found (no test run): status ok / stale / ambiguous."""
    outcomes = []
    for m in mutants:
        if rev is not None:
            try:
                text = _git(repo, "show", f"{rev}:{m.file}").decode()
            except RuntimeError:
                outcomes.append(Outcome(m, "stale"))
                continue
        else:
            path = repo / m.file
            if not path.is_file():
                outcomes.append(Outcome(m, "stale"))
                continue
            text = path.read_text(encoding="utf-8")
        status, line = snippet_status(text, m)
        outcomes.append(Outcome(m, status, line=line))
    return outcomes


def _write_json(path: Path, obj: object) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mutation",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1, help="mutants run in parallel (copies)")
    parser.add_argument("--only", action="append", default=[], metavar="PATTERN",
                        help="mutants whose id or file matches (glob or substring); repeatable")
    parser.add_argument("--rev", default=None,
                        help="test this commit's tree (default: the working tree's files)")
    parser.add_argument("--paths", nargs="+", default=list(DEFAULT_PATHS),
                        help="pytest paths of the selection (default: tests)")
    parser.add_argument("-k", dest="k", default=DEFAULT_K,
                        help="pytest -k expression (default: leave out the slow tests)")
    parser.add_argument("--pytest-args", default="", help="more pytest arguments, one string")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds per pytest run (default: 3x the baseline + 60)")
    parser.add_argument("--json", type=Path, default=None, help="write the outcomes here")
    parser.add_argument("--list", action="store_true",
                        help="only check where each snippet is (stale / ambiguous), run nothing")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be >= 1")
    mutants = select_mutants(MUTANTS, args.only)
    if not mutants:
        parser.error(f"--only {args.only}: no mutant matches")
    if args.list:
        print(format_table(check_snippets(REPO_ROOT, mutants, args.rev)).rsplit("\n\n", 1)[0])
        return 0
    selection = Selection.build(args.paths, args.k, shlex.split(args.pytest_args))
    started = datetime.datetime.now().astimezone()
    print(f"mutation run {started:%Y-%m-%d %H:%M %Z} on {platform.node()} "
          f"({platform.processor() or platform.machine()}, {os.cpu_count()} CPUs), "
          f"python {platform.python_version()}; {len(mutants)} mutants, --jobs {args.jobs}")
    print(f"selection: pytest {shlex.join([*selection.options, *selection.paths])}")

    def progress(o: Outcome, k: int, n: int) -> None:
        print(f"[{k}/{n}] {o.mutant.id}: {o.status} {o.killed_by} ({o.seconds:.0f} s)",
              flush=True)

    try:
        outcomes, base = run_mutants(REPO_ROOT, mutants, selection, jobs=args.jobs,
                                     rev=args.rev, timeout=args.timeout, progress=progress)
    except RuntimeError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print()
    print(format_table(outcomes))
    elapsed = (datetime.datetime.now().astimezone() - started).total_seconds()
    print(f"({elapsed / 60:.1f} min)")
    if args.json:
        _write_json(args.json, {
            "date": started.isoformat(timespec="seconds"), "machine": platform.node(),
            "rev": args.rev, "selection": [*selection.options, *selection.paths],
            "baseline_failures": base.failures, "score": score(outcomes),
            "outcomes": [{**asdict(o), "mutant": asdict(o.mutant)} for o in outcomes]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
