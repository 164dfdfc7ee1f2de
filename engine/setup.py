"""Run set-up that must succeed before any work: the output folder, the synthetic data, the
evaluation set-ups of the test split and of the held-out part."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from config.defaults import SYNTHETIC, classes_from_data, data_class_names
from config.run_config import RunConfig
from engine.data import Split
from engine.evaluator import EvalSetup, proposal_params
from methods import method_entry
from utils.run_log import RunLogger

REPO_ROOT = Path(__file__).resolve().parents[1]


def prepare_output_dir(path: str | os.PathLike) -> Path:
    """Create the run folder and check that a file can be written there (one-line error)."""
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-check-"):
            pass
    except OSError as err:
        raise OSError(f"--output_dir {out}: not writable ({err.strerror or err})") from None
    return out


def prepare_synthetic(cfg: RunConfig) -> None:
    """Generate (once; concurrent runs share one complete copy) the synthetic dataset into
    ``--data_dir`` (default ``data/synthetic_<dataset>`` in the repository; a method's quickstart
    may name another) in the layout of ``--feature_format`` (wtalc: the W-TALC layout, with the
    dataset's ``wtalc`` set when it names one: ActivityNet 1.2 for ActivityNet; else npy) and
    take its feature width, and its class list when the run's classes are the data's."""
    from dataset.synthetic import ensure_synthetic

    spec = SYNTHETIC[cfg.dataset]
    root = Path(cfg.data.data_dir)
    if not root.is_absolute() and "data_dir" not in cfg.given:
        root = REPO_ROOT / root
    # --feature_format wtalc (CO2-Net's default) gets the W-TALC layout, every other the npy one
    fmt = "wtalc" if cfg.data.feature_format == "wtalc" else "npy"
    if fmt == "wtalc":
        spec = {**spec, **spec.get("wtalc", {})}
    meta = ensure_synthetic(root, dataset=spec["name"], num_videos=spec["num_videos"],
                            feature_dim=spec["feature_dim"], seed=0, fmt=fmt)
    cfg.data.data_dir = str(root)
    cfg.data.feature_dim = int(meta["feature_dim"])
    if classes_from_data(cfg.run.method, cfg.dataset):
        cfg.class_names = data_class_names(cfg.dataset, root, cfg.eval.wtalc_annotations)


def _outputs_meta(cfg: RunConfig, checkpoint: str | None) -> dict:
    """The meta of ``outputs.npz``: the method, its own thresholds (its record's
    ``Localizer.saved``) and every post-processing setting, so that ``tools.relocalize`` gives
    the run's detections again."""
    post, data = cfg.postprocess, cfg.data
    settings = proposal_params(post, data, _wtalc_folder(cfg))
    meta = {"dataset": cfg.dataset, "method": cfg.run.method,
            "class_names": list(cfg.class_names),
            "frames_per_sec": data.frames_per_sec, "segment_frames_num": data.segment_frames_num,
            "cls_threshold": post.cls_threshold, "cas_thresholds": [], "att_thresholds": [],
            "test_upgrade_scale": post.test_upgrade_scale, "epoch": None,
            "checkpoint": checkpoint, "postprocess": vars(settings)}
    localizer = method_entry(cfg.run.method, cfg.dataset).localizer
    if localizer.saved is not None:     # the method's own thresholds (none named otherwise)
        meta.update(localizer.saved.thresholds(localizer.params(settings)))
    return meta


def _official_ground_truth(cfg: RunConfig):
    """The official THUMOS'14 ground truth for ``--eval_protocol thumos14|both``: the official
    annotation folder when there is one, else the gt.json (no Ambiguous segments; said once)."""
    if cfg.eval.eval_protocol not in ("thumos14", "both", "all"):
        return None
    if cfg.dataset != "THUMOS":
        raise ValueError("--eval_protocol thumos14 is the THUMOS'14 toolkit's protocol; "
                         "ActivityNet has the ActivityNet one only")
    from eval.thumos14 import ground_truth_from_gt_json, load_official_ground_truth

    folder = cfg.eval.official_annotations
    default = Path(cfg.data.data_dir) / "official" / "annotations_test"
    if folder is None and default.is_dir():
        folder = default
    if folder is not None:
        return load_official_ground_truth(folder, cfg.class_names, subset="test")
    print(f"--eval_protocol {cfg.eval.eval_protocol}: no official annotation folder under "
          f"{cfg.data.data_dir}, using gt.json (Ambiguous segments unavailable)")
    return ground_truth_from_gt_json(Path(cfg.data.data_dir) / "gt.json", cfg.class_names,
                                     subset=cfg.data.eval_subset)


def _wtalc_folder(cfg: RunConfig) -> str | None:
    """The W-TALC annotation folder of the run (``--wtalc_annotations``, else
    ``<data_dir>/<name>-Annotations`` of the dataset's layout when it exists), for localizers
    that read its Ambiguous file; None when there is none."""
    from eval.wtalc import find_annotations

    folder = find_annotations(cfg.data.data_dir, cfg.eval.wtalc_annotations, cfg.dataset)
    return None if folder is None else str(folder)


def _wtalc_ground_truth(cfg: RunConfig):
    """The W-TALC ground truth for ``--eval_protocol wtalc|all``: the arrays of
    ``--wtalc_annotations``, default ``<data_dir>/<name>-Annotations`` (THUMOS:
    ``Thumos14reduced``, its test videos and Ambiguous file; ActivityNet: ``ActivityNet1.2``, its
    validation videos, no Ambiguous file, ``eval.wtalc.LAYOUTS``); a one-line error when they
    are missing."""
    if cfg.eval.eval_protocol not in ("wtalc", "all"):
        return None
    from eval.wtalc import LAYOUTS, find_annotations, load_wtalc_ground_truth

    layout = LAYOUTS[cfg.dataset]
    folder = find_annotations(cfg.data.data_dir, cfg.eval.wtalc_annotations, cfg.dataset)
    if folder is None or not folder.is_dir():
        where = (f"--wtalc_annotations {cfg.eval.wtalc_annotations}" if folder is not None else
                 f"no {Path(cfg.data.data_dir) / layout.annotations_folder}")
        shipped = "data/THUMOS14/" if cfg.dataset == "THUMOS" else "<data>/"
        raise FileNotFoundError(f"--eval_protocol {cfg.eval.eval_protocol} needs the W-TALC "
                                f"annotation arrays: {where} (pass --wtalc_annotations DIR, e.g. "
                                f"{shipped}{layout.annotations_folder})")
    return load_wtalc_ground_truth(folder, subset=layout.test_subset, ambiguous=layout.ambiguous)


def _ground_truth(cfg: RunConfig) -> Path | dict:
    """The ground truth of the ActivityNet-style evaluation: ``<data_dir>/gt.json``, or, for a
    data folder in the W-TALC layout alone (no gt.json), its annotation arrays as a gt.json
    object (``eval.wtalc.wtalc_database``)."""
    gt_path = Path(cfg.data.data_dir) / "gt.json"
    folder = _wtalc_folder(cfg)
    if gt_path.is_file() or folder is None:
        return gt_path
    from eval.wtalc import wtalc_database

    return wtalc_database(folder)


def eval_setup(cfg: RunConfig, test: Split, checkpoint: str | None = None,
               with_extras: bool = True) -> EvalSetup:
    """The evaluation of the test split (gt.json subset ``eval_subset``); ``with_extras``: the
    official protocol, the W-TALC convention and saved outputs when the config asks for them."""
    localizer = method_entry(cfg.run.method, cfg.dataset).localizer
    return EvalSetup(dataset=cfg.dataset, class_names=list(cfg.class_names),
                     gt_path=_ground_truth(cfg), subset=cfg.data.eval_subset,
                     split_ids=test.ids, tiou_thresholds=list(cfg.eval.tiou_thresholds),
                     gt_videos=cfg.eval.gt_videos,
                     params=proposal_params(cfg.postprocess, cfg.data, _wtalc_folder(cfg)),
                     localizer=localizer, protocol=cfg.eval.eval_protocol,
                     official_gt=_official_ground_truth(cfg) if with_extras else None,
                     wtalc_gt=_wtalc_ground_truth(cfg) if with_extras else None,
                     outputs_meta=_outputs_meta(cfg, checkpoint)
                     if with_extras and cfg.run.save_outputs else None)


def heldout_setup(cfg: RunConfig, held: Split) -> EvalSetup:
    """The evaluation of the held-out training videos: their own gt.json subset, only them."""
    base = eval_setup(cfg, held, with_extras=False)
    base.subset = held.videos[0].subset
    base.gt_videos = "split"
    base.both_conventions = False
    return base


def open_logger(cfg: RunConfig, out_dir: Path) -> RunLogger:
    """The run's logger: ``metrics.csv`` in ``out_dir``, and wandb (project ``FTCL_<dataset>``,
    the original's) unless ``--without_wandb``."""
    return RunLogger(out_dir, use_wandb=not cfg.run.without_wandb, project=f"FTCL_{cfg.dataset}",
                     name=cfg.run.model_name, group=cfg.run.group, config=cfg.to_dict())
