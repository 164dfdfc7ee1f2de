"""Speed of the evaluation and of the proposal chain against the literal references.

``python -m benchmarks.bench_eval [--json OUT] [--repeats N] [--skip-anet-reference]``

- THUMOS'14: the AutoLoc results (20,763 detections) against their gt (tests/data/reference).
- ActivityNet scale: 4,400 videos of the real ActivityNet 1.3 val gt, 100 detections each
  (deterministic, seed 0): 440,000 detections.
- localize_video on a THUMOS-length video (750 snippets, 20 classes, 2 selected, x20 up-sampling).
- the official THUMOS'14 protocol (eval.thumos14) on the STPN submission text file (9,151
  detections) against the official test annotations, nine thresholds, from reading the text file
  to the mAP (the ground truth loaded once), checked against the toolkit's printed mAP.
The project's code runs ``--repeats`` times (median; localize_video at least 200 times); the
literal references run once (localize_video's three times). Targets: THUMOS'14 < 0.2 s, ActivityNet
scale < 3 s, both >= 20x their reference, localize_video < 5 ms ("a few milliseconds"), official
THUMOS'14 protocol < 0.2 s.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
from scipy.ndimage import gaussian_filter1d

from config import parse_args
from eval.detection import evaluate_detection
from eval.proposals import ProposalParams, localize_video
from eval.results import write_json_atomic
from eval.thumos14 import evaluate_official, load_official_ground_truth
from tests.reference.original_detection import ANETDetection
from tests.reference.original_proposals import original_localize

REPO = Path(__file__).resolve().parents[1]
TARGETS = {"thumos14_s": 0.2, "anet_scale_s": 3.0, "speedup": 20.0,
           "localize_ms": 5.0,  # the "a few milliseconds" for a THUMOS-length video
           "official_s": 0.2}


def timed(fn: Callable[[], Any], repeats: int) -> float:
    """Median wall time of ``repeats`` calls (seconds)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def anet_scale_case(num_videos: int = 4400, per_video: int = 100, seed: int = 0
                    ) -> tuple[dict, dict]:
    """Real ActivityNet val gt restricted to ``num_videos`` videos and a deterministic results
    dict: 60% of detections jitter a gt instance (label kept 80% of the time), 40% random."""
    database = json.loads((REPO / "data" / "ActivityNet13" / "gt.json").read_text())["database"]
    names = sorted({a["label"] for v in database.values() for a in v["annotations"]})
    videos = [v for v, info in database.items() if info["subset"] == "val"][:num_videos]
    rng = np.random.default_rng(seed)
    results = {}
    for vid in videos:
        info = database[vid]
        duration = float(info["duration"])
        anns = info["annotations"]
        dets = []
        for _ in range(per_video):
            if anns and rng.random() < 0.6:
                ann = anns[int(rng.integers(len(anns)))]
                length = ann["segment"][1] - ann["segment"][0]
                start = ann["segment"][0] + float(rng.normal(0, 0.15 * length + 0.1))
                end = ann["segment"][1] + float(rng.normal(0, 0.15 * length + 0.1))
                label = ann["label"] if rng.random() < 0.8 else names[int(rng.integers(200))]
            else:
                start = float(rng.uniform(0, duration))
                end = start + float(rng.uniform(0.5, duration / 2 + 1))
                label = names[int(rng.integers(200))]
            start, end = min(start, end), max(start, end)
            dets.append({"label": label, "score": float(rng.random()), "segment": [start, end]})
        results[vid] = dets
    gt = {"database": {v: database[v] for v in videos}}
    return gt, {"version": "synthetic", "results": results, "external_data": {}}


def bench_detection(name: str, gt: dict, results: dict, tiou: np.ndarray, subset: str,
                    repeats: int, with_reference: bool) -> dict[str, Any]:
    ours_fn = lambda: evaluate_detection(gt, results, subset, tiou)  # noqa: E731
    ours = ours_fn()
    row = {"case": name, "detections": sum(map(len, results["results"].values())),
           "ours_s": timed(ours_fn, repeats), "ours_repeats": repeats}
    if with_reference:
        ref = ANETDetection(gt["database"], results["results"], tiou, subset)
        start = time.perf_counter()
        ref.evaluate()
        row["reference_s"] = time.perf_counter() - start
        row["reference_repeats"] = 1
        row["speedup"] = row["reference_s"] / row["ours_s"]
        ref_ap = {n: ref.ap[:, c] for n, c in ref.activity_index.items()}
        row["max_abs_ap_diff"] = float(max(np.abs(ours.ap[:, c] - ref_ap[n]).max()
                                           for c, n in enumerate(ours.class_names)))
    row["mAP_avg"] = float(ours.mAP.mean())
    return row


def thumos_video(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A smooth random THUMOS-length video: scores (20,), CAS (750, 20), attention (750,)."""
    rng = np.random.default_rng(seed)
    logits = gaussian_filter1d(rng.normal(size=(750, 21)), 3, axis=0) * 9
    cas = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    att = 1 / (1 + np.exp(-gaussian_filter1d(rng.normal(size=750), 3) * 12))
    scores = np.full(20, 0.05)
    scores[[3, 11]] = 0.6
    return scores.astype(np.float32), cas[:, :20].astype(np.float32), att.astype(np.float32)


def bench_localize(repeats: int) -> dict[str, Any]:
    params = ProposalParams.from_args(parse_args("THUMOS", []))
    scores, cas, att = thumos_video()
    run = lambda: localize_video(scores, cas, att, 2000, 85.0, params)  # noqa: E731
    dets = run()
    ref = timed(lambda: original_localize("THUMOS", scores, cas, att, 2000), 3)
    ours = timed(run, repeats)
    return {"case": "localize_video THUMOS (750 snippets x20, 2 classes)", "detections": len(dets),
            "ours_ms": ours * 1e3, "ours_repeats": repeats, "reference_ms": ref * 1e3,
            "reference_repeats": 3, "speedup": ref / ours}


def bench_official(repeats: int) -> dict[str, Any]:
    """The official protocol on the STPN text file, and whether its nine mAPs printed with %f
    are the toolkit's print."""
    folder = REPO / "tests" / "data" / "reference" / "stpn_thumos14_official"
    gt = load_official_ground_truth(REPO / "data" / "THUMOS14" / "official" / "annotations_test")
    tiou = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    run = lambda: evaluate_official(folder / "stpn_det.txt", gt, tiou)  # noqa: E731
    printed = [line.split()[1] for line in (folder / "expected_map.tbl").read_text()
               .splitlines() if line[:1].isdigit()]
    result = run()
    return {"case": "official THUMOS'14 protocol, STPN text file (9 tIoU)",
            "detections": result.num_predictions, "ours_s": timed(run, repeats),
            "ours_repeats": repeats,
            "printed_equal": [f"{m:f}" for m in result.mAP] == printed}


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"numpy {np.__version__}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_eval")
    parser.add_argument("--repeats", type=int, default=5, help="runs of our code (median)")
    parser.add_argument("--skip-anet-reference", action="store_true",
                        help="do not run the (minutes-long) literal reference at ActivityNet "
                             "scale")
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", UserWarning)  # the AutoLoc file has 3 videos without gt

    print(f"machine: {machine()}")
    print(f"date: {datetime.datetime.now().isoformat(timespec='seconds')}")
    autoloc = REPO / "tests" / "data" / "reference" / "autoloc_thumos14"
    thumos = bench_detection("THUMOS'14 AutoLoc", json.loads((autoloc / "gt.json").read_text()),
                             json.loads((autoloc / "results.json").read_text()),
                             np.arange(0.1, 1.0, 0.1), "test", args.repeats, True)
    gt, results = anet_scale_case()
    anet = bench_detection("ActivityNet scale (4400 videos x 100)", gt, results,
                           np.arange(0.5, 1.0, 0.05), "val", args.repeats,
                           not args.skip_anet_reference)
    local = bench_localize(max(args.repeats, 200))
    official = bench_official(args.repeats)

    checks = [("THUMOS'14 < 0.2 s", thumos["ours_s"] < TARGETS["thumos14_s"]),
              ("ActivityNet scale < 3 s", anet["ours_s"] < TARGETS["anet_scale_s"]),
              ("THUMOS'14 >= 20x reference", thumos["speedup"] >= TARGETS["speedup"])]
    checks.append(("localize_video < 5 ms", local["ours_ms"] < TARGETS["localize_ms"]))
    checks.append(("official THUMOS'14 protocol < 0.2 s",
                   official["ours_s"] < TARGETS["official_s"]))
    checks.append(("official THUMOS'14 protocol = printed mAP", official["printed_equal"]))
    if "speedup" in anet:
        checks.append(("ActivityNet scale >= 20x reference", anet["speedup"] >= TARGETS["speedup"]))
    for row in (thumos, anet):
        ref = (f"reference {row['reference_s']:.2f} s (1 run), x{row['speedup']:.0f}, "
               f"max |AP diff| {row['max_abs_ap_diff']:.1e}" if "reference_s" in row
               else "reference skipped")
        print(f"{row['case']}: {row['detections']} detections, ours {row['ours_s']:.3f} s "
              f"(median of {row['ours_repeats']}), {ref}")
    print(f"{local['case']}: {local['detections']} detections, ours {local['ours_ms']:.2f} ms "
          f"(median of {local['ours_repeats']}), literal original loop "
          f"{local['reference_ms']:.1f} ms (median of 3), x{local['speedup']:.1f}")
    parity = "reproduced" if official["printed_equal"] else "NOT reproduced"
    print(f"{official['case']}: {official['detections']} detections, ours "
          f"{official['ours_s'] * 1e3:.1f} ms (median of {official['ours_repeats']}), the "
          f"toolkit's printed mAP {parity}")
    for name, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    if args.json:
        write_json_atomic(args.json, {"machine": machine(), "date": datetime.datetime.now()
                                      .isoformat(timespec="seconds"), "thumos14": thumos,
                                      "anet_scale": anet, "localize_video": local,
                                      "official_thumos14": official,
                                      "checks": dict(checks)})
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
