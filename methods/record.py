"""What a method is to the rest of the repository: one :class:`Method` record, registered by the
method's own folder (``methods/<name>/__init__.py``) in :data:`METHODS`.

The engine, the data and evaluation code and the config read a method only through its record:
how to build its model, which loss terms each stage sums, how its output becomes detections and
the video-accuracy rule (:class:`Localizer`), its defaults per dataset and its quickstart recipe,
the settings that fix a checkpoint's shape, and the original's bare state-dict file. None of them
names a method.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable, Iterable, Mapping, Protocol

import numpy as np
import torch
from torch import nn

from utils.registry import Registry
from utils.settings import Setting

ModelBuilder = Callable[[SimpleNamespace, SimpleNamespace, int], nn.Module]
"""(model section, data section, number of classes) -> the method's ``nn.Module``."""
Recipe = Callable[[SimpleNamespace, str], list[tuple[str, float]]]
"""(loss settings, stage) -> [(registered loss term, weight), ...]; the first term has weight 1."""
BatchSourceBuilder = Callable[[Any, Any], "BatchSource"]
"""(training split ``engine.data.Split``, run config ``RunConfig``) -> the method's
:class:`BatchSource`."""
SplitIds = Callable[[Any, str], list[str]]
"""(run config, "train" | "test") -> the split's video ids, in the method's order."""
ModelContext = Callable[[nn.Module, Any, Any, Any], None]
"""(model on its device, training split ``engine.data.Split``, run config, the method's
:class:`BatchSource` or None in ``--test``) -> None: gives the model what it reads besides its
input (STCL-Net's exemplar bank of training videos). A model given such a context may define
``start_pass()``, which the test loop calls before every evaluation pass."""


class BatchSource(Protocol):
    """A method's own training batches, in place of the engine's shuffled DataLoader over the
    training dataset (``Method.train_batches``).

    steps_per_epoch: the batches of one epoch (an epoch is then a bookkeeping unit: one
        ``metrics.csv`` row and one ``<dataset>_latest.pth`` per epoch);
    epoch_batches(epoch): an iterable of ``steps_per_epoch`` batch dicts (``features`` (B, T, D)
        float32, ``label`` (B, C) float32), drawn when iterated;
    state_dict() / load_state_dict(state): its random stream, saved in every checkpoint under
        ``"batch_source"`` (at the end of an epoch) and restored by ``--resume``, so a resumed run
        draws the batches of the straight run.
    """

    steps_per_epoch: int

    def epoch_batches(self, epoch: int) -> Iterable[dict[str, Any]]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class SavedOutputs:
    """How a method's saved test outputs (``outputs.npz``, :mod:`eval.outputs`) are written and
    read back.

    classes: (video scores (C,), params) -> the class indices the localizer cuts proposals for
        (the writer keeps their CAS columns, with the ground-truth classes');
    thresholds: params -> the thresholds the file's meta names: ``cls_threshold``,
        ``cas_thresholds`` (on the saved CAS), ``att_thresholds`` (on the saved ``att`` channel 0;
        [] when the method has none) and ``class_rule`` (">" or ">=", how ``cls_threshold``
        selects classes);
    relocalize: (one saved video, an ``eval.outputs.VideoOutputs``, params) -> its detections,
        the test loop's to the bit.
    """

    classes: Callable[[np.ndarray, Any], np.ndarray]
    thresholds: Callable[[Any], dict[str, Any]]
    relocalize: Callable[[Any, Any], list[Any]]


@dataclass(frozen=True)
class Localizer:
    """A method's test-time reading of its model output.

    params: post-processing settings (``engine.evaluator.proposal_params``) -> the method's
        parameter object, built once per evaluation;
    localize: (one video's named output, its batch, params) -> (detections, the arrays of
        ``outputs.npz``: att (T_in, 3), cas (T_in, C), video_scores (C,));
    correct: (one view's output, labels (B, C), class threshold, params) -> (B,) bool, the
        video-accuracy rule of training and test;
    saved: how its ``outputs.npz`` is written and re-localized (None: the writer keeps the
        classes above ``cls_threshold`` and the file cannot be re-localized).
    """

    params: Callable[[SimpleNamespace], Any]
    localize: Callable[[Any, dict[str, Any], Any], tuple[list[Any], dict[str, np.ndarray]]]
    correct: Callable[[Any, torch.Tensor, float, Any], torch.Tensor]
    saved: SavedOutputs | None = None


@dataclass(frozen=True)
class Method:
    """Everything the engine needs to train and test one method.

    name: the ``--method`` value; summary: one line for ``--help``.
    datasets: the datasets with a recipe from a source; stages: "single" and, for a method with
        a pair stage (FTCL, ``--ftcl``), "pair".
    build_model, recipe, localizer: see :data:`ModelBuilder`, :data:`Recipe`, :class:`Localizer`.
    settings: the settings only this method reads (``utils.settings.Setting`` by key, each a
        ``--<key>`` flag of this method and a field of its runs' ``config.json``; the run-wide
        ones are ``config/schema.py``'s).
    defaults: dataset -> the method's values of settings (flags not given take them).
    synthetic: the ``--synthetic`` quickstart's settings on top of the dataset's: one mapping
        for every dataset, or one per dataset (keyed by dataset name). A ``class_names`` of None
        in ``defaults`` means the class list of the data (the W-TALC ``classlist.npy``).
    shape_keys: settings that fix the model's shape (a ``--test`` flag contradicting the
        checkpoint's value is an error, not a silent rebuild).
    tolerated_missing: state-dict key prefixes a checkpoint may lack (they keep their fresh
        initialisation) and the line printed when they are missing.
    state_dict_file: a bare state dict of the selected weights written beside the project's
        checkpoints, in the original's format: one file name, or one per dataset (None: none;
        :meth:`bare_file`).
    train_batches: a method-provided training batch sampler (:data:`BatchSourceBuilder`, e.g.
        CO2-Net's class-pair batches); None: the engine's shuffled DataLoader over the training
        dataset (``--train_sampler``).
    split_ids: the video ids of each split (:data:`SplitIds`, e.g. the W-TALC arrays' order);
        None: ``<data_dir>/split_{train,test}.txt``.
    eval_step_offset: with ``--eval_every_steps N``, evaluate after steps N + offset,
        2N + offset, ... (CO2-Net: 1, its iteration counter starts at 0 and evaluates at
        itr % N == 0, itr != 0, i.e. after 201, 401, ... steps); 0: after N, 2N, ...
    select_protocol: the evaluation table model selection and the history read: "primary" (the
        ActivityNet-style result of ``--gt_videos``) or "wtalc" (the W-TALC convention's, when
        ``--eval_protocol`` computes it; else the primary).
    model_context: what the model reads besides its input, set up after it is built in training
        and in ``--test`` (:data:`ModelContext`; the training split is loaded for ``--test``
        too); None: nothing.
    """

    name: str
    summary: str
    datasets: tuple[str, ...]
    stages: tuple[str, ...]
    build_model: ModelBuilder
    recipe: Recipe
    localizer: Localizer
    settings: Mapping[str, Setting] = field(default_factory=dict)
    defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    synthetic: Mapping[str, Any] = field(default_factory=dict)
    shape_keys: tuple[str, ...] = ()
    tolerated_missing: tuple[tuple[str, ...], str] = ((), "")
    state_dict_file: str | Mapping[str, str | None] | None = None
    train_batches: BatchSourceBuilder | None = None
    split_ids: SplitIds | None = None
    eval_step_offset: int = 0
    select_protocol: str = "primary"
    model_context: ModelContext | None = None

    def bare_file(self, dataset: str) -> str | None:
        """The name of the bare state dict a run on ``dataset`` writes (None: none)."""
        if isinstance(self.state_dict_file, Mapping):
            return self.state_dict_file.get(dataset)
        return self.state_dict_file


METHODS: Registry[Method] = Registry("method")


def register(method: Method) -> Method:
    """Add ``method`` to :data:`METHODS` under its name (called by the method's own folder)."""
    return METHODS.register(method.name)(method)


def method_entry(method: str, dataset: str) -> Method:
    """The record of ``method``; a one-line ValueError for an unknown method or a dataset the
    method has no recipe for."""
    if method not in METHODS:
        raise ValueError(f"--method {method!r}: unknown; known: {', '.join(METHODS.names())}")
    record = METHODS.get(method)
    if dataset not in record.datasets:
        raise ValueError(f"--method {method}: no {dataset} recipe with a source exists (the "
                         f"original code covers {', '.join(record.datasets)} only)")
    return record
