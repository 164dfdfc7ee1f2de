"""Seed sweeps: one ordinary training run per seed, then mean ± std over the seeds.

Run a sweep (from the repository root)::

    python -m tools.sweep --seeds 0:5 --jobs 2 --out runs/sweeps/quick -- main_thu.py --synthetic

Seed K runs ``python <script> <args...> --seed K --output_dir OUT/seed_K`` with its stdout and
stderr appended to ``OUT/seed_K/log.txt``. Each run gets an equal share of the cores (the usable
cores, or ``SLURM_CPUS_PER_TASK``, divided by ``--jobs``) as its torch thread count, through the
environment variable ``FTCL_SWEEP_THREADS`` (``utils.threads``; a ``--threads`` among the training
arguments wins). A seed whose ``summary.json`` says complete is skipped;
one with a ``<dataset>_latest.pth`` but no complete summary gets ``--resume``; so rerunning an
interrupted sweep continues it. A failing seed is reported (exit code, last line of its log) and
does not stop the others. At the end the sweep's runs are summarized as by ``summarize``.

``--print-commands`` prints, one line per seed, the command the sweep would run now (a complete
seed prints as a ``#`` comment line) and exits, for a cluster scheduler to run.

Summarize runs made anywhere (a sweep, a Slurm array, a wandb agent)::

    python -m tools.sweep summarize RUN_DIR... [--out DIR]

A RUN_DIR is a folder holding ``summary.json``, or a folder whose sub-folders hold one (a sweep's
``OUT``). It writes ``summary.md`` and ``sweep.csv`` into ``--out`` (default: the runs' common
parent) and prints the summary: for each selection rule and metric, mean ± sample std (ddof=1),
min, max and the value of each run.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from tqdm import tqdm

from engine.selection import RULES, SUMMARY_FILE, read_summary, tiou_name
from utils.io import atomic_write
from utils.threads import SWEEP_THREADS_ENV, sweep_share

LOG_FILE = "log.txt"
SWEEP_FILE = "sweep.json"
SUMMARY_MD, SUMMARY_CSV = "summary.md", "sweep.csv"
# Flags the sweep sets itself for each seed.
OWN_FLAGS = ("--seed", "--output_dir", "--resume")
# Config keys that legitimately differ between the runs of one sweep.
PER_RUN_KEYS = {"seed", "output_dir", "resume", "overwrite"}
RULE_TITLES = {
    "test": "epoch with the best test mAP (the original's choice of <dataset>_best.pth; "
            "optimistic, the test set picks the epoch)",
    "last": "last tested epoch",
    "heldout": "epoch with the best mAP on the held-out part of the training split",
}


# ---------------------------------------------------------------------------------------------
# Seeds, run folders and commands


def parse_seeds(spec: str) -> list[int]:
    """"0:5" -> [0, 1, 2, 3, 4] (end excluded); "0,3,7" -> [0, 3, 7]; items may mix ("0:3,7").
    ValueError for anything else, a negative seed, an empty range or a repeated seed."""
    seeds: list[int] = []
    try:
        for item in spec.split(","):
            if ":" in item:
                first, end = (int(x) for x in item.split(":"))
                if end <= first:
                    raise ValueError
                seeds.extend(range(first, end))
            else:
                seeds.append(int(item))
    except ValueError:
        raise ValueError(f"--seeds {spec!r}: expected FIRST:END (END excluded, e.g. 0:5) or a "
                         "comma-separated list (e.g. 0,3,7)") from None
    if any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds {spec!r}: seeds must be non-negative and distinct")
    return seeds


def is_complete(summary: Mapping[str, Any] | None) -> bool:
    """Whether a run's summary says the run finished."""
    return summary is not None and summary.get("complete") is True


@dataclass(frozen=True)
class SeedRun:
    """One seed of a sweep: its folder, its state when planned ("complete", "interrupted" with a
    latest checkpoint, or "new") and the command that runs it."""
    seed: int
    run_dir: Path
    state: str
    command: tuple[str, ...]


def run_state(run_dir: Path, seed: int) -> str:
    """"complete", "interrupted" or "new" (see ``SeedRun``). ValueError for a summary.json of
    another seed or one that is not JSON."""
    summary = read_summary(run_dir)
    if summary is not None and summary.get("seed", seed) != seed:
        raise ValueError(f"{run_dir / SUMMARY_FILE}: written by seed {summary['seed']}, not "
                         f"{seed}")
    if is_complete(summary):
        return "complete"
    return "interrupted" if any(run_dir.glob("*_latest.pth")) else "new"


def plan(out: Path, script: str, args: Sequence[str], seeds: Sequence[int]) -> list[SeedRun]:
    """The ``SeedRun`` of each seed, in the order given."""
    runs = []
    for seed in seeds:
        run_dir = out / f"seed_{seed}"
        state = run_state(run_dir, seed)
        command = [sys.executable, script, *args, "--seed", str(seed), "--output_dir",
                   str(run_dir)]
        if state == "interrupted":
            command.append("--resume")
        runs.append(SeedRun(seed, run_dir, state, tuple(command)))
    return runs


def check_training_args(script: str, args: Sequence[str]) -> None:
    """ValueError when the script is missing or ``args`` set a flag the sweep sets per seed."""
    if not Path(script).is_file():
        raise ValueError(f"{script}: no such training script")
    for arg in args:
        for flag in OWN_FLAGS:
            if arg == flag or arg.startswith(flag + "="):
                raise ValueError(f"training arguments: {flag} is set by the sweep for each "
                                 "seed; remove it")


def check_sweep_record(out: Path, script: str, args: Sequence[str], write: bool) -> None:
    """``OUT/sweep.json`` records the training command of the sweep in ``out``: ValueError when
    it holds another command (the seeds would not be comparable); written when ``write`` and
    missing."""
    path = out / SWEEP_FILE
    record = {"script": script, "args": list(args)}
    if path.is_file():
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"{path}: not valid JSON ({err})") from None
        if saved != record:
            theirs = shlex.join([str(saved.get("script")), *map(str, saved.get("args", []))])
            raise ValueError(f"{path}: this folder holds a sweep of `{theirs}`, not of "
                             f"`{shlex.join([script, *args])}`; use another --out")
    elif write:
        _write_text(path, json.dumps(record, indent=1) + "\n")


def _write_text(path: Path, text: str) -> None:
    atomic_write(path, text.encode("utf-8"))


# ---------------------------------------------------------------------------------------------
# Running the seeds


@dataclass(frozen=True)
class SeedResult:
    """How one seed's run ended: ``problem`` is "" for a success (exit 0 and a complete
    summary.json), else what went wrong; with the last line of its log and the wall time."""
    seed: int
    problem: str
    last_line: str
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.problem


def last_log_line(path: Path, tail_bytes: int = 8192) -> str:
    """The last non-empty line of a log (progress-bar carriage returns count as line ends)."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - tail_bytes))
            tail = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line.strip() for line in tail.replace("\r", "\n").split("\n") if line.strip()]
    return lines[-1] if lines else ""


def run_seed(run: SeedRun, threads: int) -> SeedResult:
    """Run one seed's command, with ``FTCL_SWEEP_THREADS=threads`` in its environment and its
    output appended to ``<run_dir>/log.txt``."""
    run.run_dir.mkdir(parents=True, exist_ok=True)
    log_path = run.run_dir / LOG_FILE
    env = {**os.environ, SWEEP_THREADS_ENV: str(threads)}
    start = time.monotonic()
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"== {time.strftime('%Y-%m-%d %H:%M:%S')} {SWEEP_THREADS_ENV}={threads} "
                  f"{shlex.join(run.command)}\n")
        log.flush()
        returncode = subprocess.run(run.command, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=env).returncode
    seconds = time.monotonic() - start
    problem = f"exit {returncode}" if returncode != 0 else ""
    if not problem:
        try:
            if not is_complete(read_summary(run.run_dir)):
                problem = f"exit 0 but no complete {SUMMARY_FILE}"
        except ValueError as err:
            problem = f"exit 0 but {err}"
    return SeedResult(run.seed, problem, last_log_line(log_path), seconds)


def describe(result: SeedResult, run_dir: Path) -> str:
    """One line for a finished seed."""
    if result.ok:
        return f"seed {result.seed}: ok ({result.seconds:.0f} s)"
    return (f"seed {result.seed}: FAILED, {result.problem} after {result.seconds:.0f} s: "
            f"{result.last_line} (log: {run_dir / LOG_FILE})")


def run_all(runs: Sequence[SeedRun], jobs: int, threads: int) -> list[SeedResult]:
    """Run the seeds, ``jobs`` at a time with ``threads`` torch threads each, reporting each as it
    finishes (a progress bar on a terminal, else one line per seed). KeyboardInterrupt stops
    starting new seeds and is re-raised once the running ones have ended."""
    bar = tqdm(total=len(runs), desc="seeds", unit="seed", file=sys.stderr,
               dynamic_ncols=True) if sys.stderr.isatty() else None
    say = bar.write if bar is not None else (lambda line: print(line, flush=True))
    results = []
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = {pool.submit(run_seed, run, threads): run for run in runs}
        for future in as_completed(futures):
            result = future.result()
            results.append(result)
            say(describe(result, futures[future].run_dir))
            if bar is not None:
                bar.update()
    finally:  # on KeyboardInterrupt: start no new seed, wait for the running ones
        pool.shutdown(wait=True, cancel_futures=True)
        if bar is not None:
            bar.close()
    return sorted(results, key=lambda r: r.seed)


# ---------------------------------------------------------------------------------------------
# Summaries over runs


@dataclass(frozen=True)
class Run:
    """A finished run: a display label, its folder and its summary.json."""
    label: str
    run_dir: Path
    summary: dict[str, Any]


def find_runs(paths: Sequence[str | os.PathLike]) -> tuple[list[Run], list[str]]:
    """The complete runs under ``paths`` (a run folder, or a folder of run folders), in the
    order given (sub-folders by seed, then name), and one note per path left out."""
    found: list[tuple[Path, dict[str, Any]]] = []
    notes: list[str] = []

    def consider(run_dir: Path, summary: dict[str, Any]) -> None:
        if not is_complete(summary):
            notes.append(f"{run_dir}: left out, {SUMMARY_FILE} does not say complete")
        elif all(run_dir.resolve() != seen.resolve() for seen, _ in found):
            found.append((run_dir, summary))

    def readable(run_dir: Path) -> dict[str, Any] | None:
        try:
            return read_summary(run_dir)
        except ValueError as err:
            notes.append(f"left out: {err}")
            return None

    for path in map(Path, paths):
        if not path.is_dir():
            notes.append(f"{path}: left out, not a folder")
            continue
        if (path / SUMMARY_FILE).is_file():
            summary = readable(path)
            if summary is not None:
                consider(path, summary)
            continue
        children = [(child, readable(child)) for child in sorted(path.iterdir())
                    if child.is_dir() and (child / SUMMARY_FILE).is_file()]
        if not children:
            notes.append(f"{path}: left out, no {SUMMARY_FILE} in it or in its sub-folders")
        children = [(child, summary) for child, summary in children if summary is not None]
        for child, summary in sorted(children, key=lambda c: (_seed_of(c[1]), c[0].name)):
            consider(child, summary)

    names = [run_dir.name for run_dir, _ in found]
    unique = len(set(names)) == len(names)
    return ([Run(run_dir.name if unique else str(run_dir), run_dir, summary)
             for run_dir, summary in found], notes)


def _seed_of(summary: Mapping[str, Any] | None) -> float:
    seed = (summary or {}).get("seed")
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else float("inf")


def run_metrics(run: Run, rule: str) -> dict[str, float] | None:
    """{"mAP@0.5": ..., "avg 0.1:0.7": ...} in % of the test metrics ``rule`` selected in
    ``run``, or None when the run has no tested epoch for that rule."""
    chosen = run.summary.get("rules", {}).get(rule)
    test = chosen.get("test") if isinstance(chosen, Mapping) else None
    if test is None:
        return None
    try:
        values = {f"mAP@{tiou_name(t)}": 100 * float(m) for t, m in zip(test["tiou"],
                                                                          test["mAP"])}
        values.update({f"avg {name}": 100 * float(v) for name, v in test["average"].items()})
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ValueError(f"{run.run_dir / SUMMARY_FILE}: rule {rule!r}: malformed test metrics "
                         "(expected tiou, mAP and average)") from None
    return values


@dataclass(frozen=True)
class RuleTable:
    """One selection rule over the runs that have it: the selected epoch and the metric values
    (%) of each run, keyed by run label, metrics in the order of the first run."""
    rule: str
    labels: list[str]
    epochs: list[int]
    metrics: dict[str, list[float]]


def rule_tables(runs: Sequence[Run]) -> list[RuleTable]:
    """A ``RuleTable`` for each rule of ``RULES`` that at least one run has. ValueError when runs
    do not share the same metrics (e.g. THUMOS'14 and ActivityNet runs mixed)."""
    tables = []
    reference: tuple[str, list[str]] | None = None
    for rule in RULES:
        labels, epochs, rows = [], [], []
        for run in runs:
            values = run_metrics(run, rule)
            if values is None:
                continue
            if reference is None:
                reference = (run.label, list(values))
            elif list(values) != reference[1]:
                raise ValueError(f"{run.run_dir / SUMMARY_FILE}: metrics {list(values)} differ "
                                 f"from those of {reference[0]} {reference[1]}; summarize runs "
                                 "of one setup together")
            labels.append(run.label)
            epochs.append(int(run.summary["rules"][rule]["epoch"]))
            rows.append(values)
        if rows:
            metrics = {name: [row[name] for row in rows] for name in rows[0]}
            tables.append(RuleTable(rule, labels, epochs, metrics))
    return tables


def stats(values: Sequence[float]) -> dict[str, float]:
    """n, mean, sample std (ddof=1; NaN for one value), min and max of ``values``."""
    array = np.asarray(values, dtype=np.float64)
    return {"n": len(array), "mean": float(array.mean()),
            "std": float(array.std(ddof=1)) if len(array) > 1 else float("nan"),
            "min": float(array.min()), "max": float(array.max())}


def _flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"train": {"lr": 1e-4}} -> {"train.lr": 1e-4}."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def config_notes(runs: Sequence[Run]) -> list[str]:
    """One note per setting of the runs' "config" (nested sections flattened to "section.key")
    that differs between runs, besides the per-run ones (seed, output_dir, resume); and one when
    runs selected on different metrics."""
    notes = []
    configs = [_flatten(run.summary["config"]) for run in runs
               if isinstance(run.summary.get("config"), Mapping)]
    for key in sorted({k for c in configs for k in c}):
        if key.rsplit(".", 1)[-1] in PER_RUN_KEYS:
            continue
        values = {json.dumps(c.get(key), sort_keys=True) for c in configs}
        if len(values) > 1:
            notes.append(f"runs differ in config {key!r}: {', '.join(sorted(values))}")
    selected = {str(run.summary.get("select_metric")) for run in runs}
    if len(selected) > 1:
        notes.append(f"runs selected epochs on different metrics: {', '.join(sorted(selected))}")
    return notes


def _pct(value: float) -> str:
    return "n/a" if np.isnan(value) else f"{value:.2f}"


def summary_markdown(runs: Sequence[Run], tables: Sequence[RuleTable],
                     notes: Sequence[str]) -> str:
    """The sweep summary as Markdown (also what ``summarize`` prints)."""
    select = sorted({str(run.summary.get("select_metric")) for run in runs})
    lines = [f"# Sweep summary: {len(runs)} run{'s' if len(runs) > 1 else ''}", "",
             f"Runs: {', '.join(run.label for run in runs)}. Selection metric: "
             f"{', '.join(select)}.", "",
             "Test mAP in %. mean ± std over runs, std = sample standard deviation (ddof=1, "
             "n - 1 in the denominator; n/a for a single run); min and max over runs; then the "
             "value of each run.", ""]
    for table in tables:
        lines += [f"## Rule `{table.rule}`: {RULE_TITLES[table.rule]}", "",
                  f"{len(table.labels)} run{'s' if len(table.labels) > 1 else ''}; selected epochs: " + ", ".join(
                      f"{label} {epoch}" for label, epoch in zip(table.labels, table.epochs)), "",
                  "| metric | mean ± std | min | max | " + " | ".join(table.labels) + " |",
                  "|---" * (4 + len(table.labels)) + "|"]
        for name, values in table.metrics.items():
            s = stats(values)
            lines.append(f"| {name} | {_pct(s['mean'])} ± {_pct(s['std'])} | {_pct(s['min'])} | "
                         f"{_pct(s['max'])} | " + " | ".join(_pct(v) for v in values) + " |")
        lines.append("")
    missing = [rule for rule in RULES if rule not in {t.rule for t in tables}]
    if missing:
        lines += [f"No run has the rule(s) {', '.join(missing)} (e.g. no held-out metrics).", ""]
    if notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in notes] + [""]
    return "\n".join(lines)


def summary_csv(tables: Sequence[RuleTable], labels: Sequence[str]) -> str:
    """One row per rule and metric (plus the selected epoch): rule, metric, unit, n, mean, std
    (sample, ddof=1; empty for one run), min, max, then one column per run (empty where the run
    lacks the rule)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["rule", "metric", "unit", "n", "mean", "std", "min", "max", *labels])

    def number(value: float) -> str:
        return "" if np.isnan(value) else format(value, ".10g")

    for table in tables:
        rows = [("epoch", "epoch", [float(e) for e in table.epochs])]
        rows += [(name, "%", values) for name, values in table.metrics.items()]
        for name, unit, values in rows:
            s = stats(values)
            by_label = dict(zip(table.labels, values))
            writer.writerow([table.rule, name, unit, s["n"], number(s["mean"]), number(s["std"]),
                             number(s["min"]), number(s["max"]),
                             *(number(by_label[l]) if l in by_label else "" for l in labels)])
    return buffer.getvalue()


def summarize(paths: Sequence[str | os.PathLike], out: str | os.PathLike | None = None
              ) -> tuple[str, Path]:
    """Summarize the runs under ``paths`` into ``out`` (default: their common parent): writes
    summary.md and sweep.csv; returns (the Markdown text, the output folder). ValueError when no
    complete run is found."""
    runs, notes = find_runs(paths)
    if not runs:
        raise ValueError("no complete run to summarize: " + "; ".join(notes))
    tables = rule_tables(runs)
    if not tables:
        raise ValueError(f"{runs[0].run_dir / SUMMARY_FILE}: no run has a tested epoch")
    text = summary_markdown(runs, tables, [*notes, *config_notes(runs)])
    out_dir = Path(out) if out is not None else Path(os.path.commonpath(
        [str(run.run_dir.resolve().parent) for run in runs]))
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_text(out_dir / SUMMARY_MD, text)
    _write_text(out_dir / SUMMARY_CSV, summary_csv(tables, [run.label for run in runs]))
    return text, out_dir


# ---------------------------------------------------------------------------------------------
# Command line


def _summarize_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.sweep summarize",
                                     description="Mean ± std over finished runs.")
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                        help="a run folder (with summary.json) or a folder of run folders")
    parser.add_argument("--out", default=None,
                        help="where summary.md and sweep.csv go (default: the runs' common "
                             "parent)")
    args = parser.parse_args(argv)
    try:
        text, out_dir = summarize(args.run_dirs, args.out)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(text)
    print(f"wrote {out_dir / SUMMARY_MD} and {out_dir / SUMMARY_CSV}")
    return 0


def _sweep_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.sweep",
        usage="python -m tools.sweep --seeds SEEDS --out DIR [--jobs N] [--print-commands] -- "
              "SCRIPT [ARGS...]\n       python -m tools.sweep summarize RUN_DIR... [--out DIR]",
        description="Run one training per seed (each in OUT/seed_K, resumable), then summarize "
                    "mean ± std over the seeds.",
        epilog="Each run gets the usable cores (SLURM_CPUS_PER_TASK when set) divided by --jobs "
               "as its torch thread count (FTCL_SWEEP_THREADS; --threads among the training "
               "arguments wins). `python -m tools.sweep summarize --help` describes the "
               "summaries.")
    parser.add_argument("--seeds", "--seed", required=True,
                        help="FIRST:END (END excluded, e.g. 0:5) or a list (e.g. 0,3,7); "
                             "--seed=K (as a wandb agent passes it) runs one seed")
    parser.add_argument("--out", required=True, help="sweep folder: OUT/seed_K per seed")
    parser.add_argument("--jobs", type=int, default=1,
                        help="runs at the same time (default 1), each with its share of the cores")
    parser.add_argument("--print-commands", action="store_true",
                        help="print each seed's command line (one per line) and exit")
    return parser


def _sweep_main(argv: Sequence[str]) -> int:
    parser = _sweep_parser()
    split = list(argv).index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])      # --help prints the help and exits 0 here
    training = list(argv[split + 1:])
    if not training:
        parser.error("give the training command after --, e.g. -- main_thu.py --synthetic")
    script, script_args = training[0], training[1:]
    out = Path(args.out)
    try:
        seeds = parse_seeds(args.seeds)
        if args.jobs < 1:
            raise ValueError(f"--jobs {args.jobs}: must be at least 1")
        check_training_args(script, script_args)
        check_sweep_record(out, script, script_args, write=False)
        runs = plan(out, script, script_args, seeds)
        threads, reckoning = sweep_share(args.jobs)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.print_commands:
        for run in runs:
            print(f"# seed {run.seed}: complete ({run.run_dir / SUMMARY_FILE})"
                  if run.state == "complete" else shlex.join(run.command))
        return 0

    try:
        out.mkdir(parents=True, exist_ok=True)
        check_sweep_record(out, script, script_args, write=True)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    todo = [run for run in runs if run.state != "complete"]
    if todo:
        given = any(a == "--threads" or a.startswith("--threads=") for a in script_args)
        print(f"torch threads per run: {threads} ({reckoning})" + (
            "; the training arguments' --threads wins" if given else ""), flush=True)
    for run in runs:
        if run.state == "complete":
            print(f"seed {run.seed}: already complete, skipped ({run.run_dir / SUMMARY_FILE})")
        elif run.state == "interrupted":
            print(f"seed {run.seed}: resuming from its latest checkpoint")
    try:
        results = run_all(todo, args.jobs, threads)
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume the unfinished seeds",
              file=sys.stderr)
        return 130
    failed = [r for r in results if not r.ok]
    if failed:
        print(f"{len(failed)} of {len(runs)} seeds failed:")
        by_seed = {run.seed: run for run in runs}
        for result in failed:
            print("  " + describe(result, by_seed[result.seed].run_dir))
    started = [run.run_dir for run in runs if run.run_dir.is_dir()]
    if started:
        try:
            text, out_dir = summarize(started, out)
        except (OSError, ValueError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        print(text)
        print(f"wrote {out_dir / SUMMARY_MD} and {out_dir / SUMMARY_CSV}")
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tools.sweep``: run a sweep, or ``summarize`` runs; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["summarize"]:
        return _summarize_main(argv[1:])
    return _sweep_main(argv)


if __name__ == "__main__":
    sys.exit(main())
