"""Detections again from a run's saved test outputs (``outputs.npz``), by the run's own method.

``python -m tools.relocalize OUTPUTS.npz --out RESULTS.json`` reads the file's meta (the method
and every post-processing setting, written by ``engine.setup``), rebuilds the method's parameters
through its record (``methods.METHODS[meta["method"]].localizer``) and runs the method's
``SavedOutputs.relocalize`` on every saved video: the results JSON of the test that wrote the
file, for any registered method whose localizer can read its saved outputs back. Change a
post-processing setting with ``--set KEY=VALUE`` (a JSON value) to see its effect without the
model. Lives in tools/ because eval/ does not import methods/.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from types import SimpleNamespace
from typing import Any, Mapping, Sequence

from eval.outputs import Outputs, load_outputs
from eval.proposals import Detection
from eval.results import results_dict, write_json_atomic
from methods import METHODS


def relocalize(outputs: Outputs, overrides: Mapping[str, Any] | None = None
               ) -> dict[str, list[Detection]]:
    """video id -> detections of every saved video, by the method the meta names, with its
    post-processing settings (``overrides`` replacing some). ValueError "<path>: ..." for a file
    without them, an unknown method or one whose localizer cannot read its saved outputs."""
    meta, path = outputs.meta, outputs.path
    if "method" not in meta or not isinstance(meta.get("postprocess"), dict):
        raise ValueError(f"{path}: the meta names no method and post-processing settings (saved "
                         "before they were recorded); test the checkpoint again with "
                         "--save_outputs")
    name = meta["method"]
    if name not in METHODS:
        raise ValueError(f"{path}: method {name!r} is not registered (known: "
                         f"{', '.join(METHODS.names())})")
    localizer = METHODS.get(name).localizer
    if localizer.saved is None:
        raise ValueError(f"{path}: method {name!r} cannot re-localize saved outputs (its record's "
                         "Localizer.saved is None)")
    unknown = sorted(set(overrides or {}) - set(meta["postprocess"]))
    if unknown:
        raise ValueError(f"{path}: --set {unknown[0]}: not a post-processing setting of this "
                         f"file (known: {', '.join(sorted(meta['postprocess']))})")
    params = localizer.params(SimpleNamespace(**{**meta["postprocess"], **(overrides or {})}))
    return {video.video_id: localizer.saved.relocalize(video, params) for video in outputs.videos}


def _override(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r}: expected KEY=VALUE")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def main(argv: Sequence[str] | None = None) -> int:
    """CLI; returns 0, or 1 with one ``error:`` line."""
    parser = argparse.ArgumentParser(prog="python -m tools.relocalize",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("outputs", help="outputs.npz of a test (--save_outputs)")
    parser.add_argument("--out", required=True, help="write the results JSON here")
    parser.add_argument("--set", dest="overrides", type=_override, action="append", default=[],
                        metavar="KEY=VALUE", help="change a post-processing setting (JSON value)")
    args = parser.parse_args(argv)
    try:
        outputs = load_outputs(args.outputs)
        detections = relocalize(outputs, dict(args.overrides))
        write_json_atomic(args.out, results_dict(detections, outputs.class_names))
    except (ValueError, OSError) as err:
        print(f"error: {str(err).splitlines()[0]}", file=sys.stderr)
        return 1
    total = sum(len(d) for d in detections.values())
    print(f"{os.fspath(args.out)}: {total} detections of {len(detections)} videos "
          f"({outputs.meta['method']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
