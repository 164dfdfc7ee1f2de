"""Literal port of the official CO2-Net test loop (``test()`` of ``C:test.py:23-113``), written from
the behaviour spec (``co2-stcl-behaviour.md`` sec. 1.2-1.5, 2.4, 6.1): the part that turns the
W-TALC arrays and a network into the proposal frame the original hands to its evaluator, and the
per-video classification scores it stacks beside it. Test oracle only.

What it does, as the original: under ``no_grad``, for each test video in ``testidx`` order (the
positions of ``subset == "test"`` in the arrays, array order), take the stored (T, D) features at
their full native length, cast to float32 and add the batch dimension, (1, T, D); call the network
(eval mode); build the proposals with ``multiple_threshold_hamnet(vn, outputs)`` (the literal port
of ``tests/reference/original_co2_proposals.py``, the default ``--proposal_method``); stack the
classification score of ``C:test.py:63`` and the video's multi-hot label (``labels_all``); after
the last video, concatenate the per-video frames (``pd.concat(...).reset_index(drop=True)``).
Times stay in snippet units, as the original never converts them.

Not literal:
- the network call is a parameter ``model_call(index, features) -> outputs dict`` (``index``: the
  video's position in the W-TALC arrays; ``features``: the (1, T, D) float32 tensor), so that the
  same loop serves a model that needs more than the features (STCL-Net, whose test forward draws
  an exemplar bank from numpy's global stream before each video: its caller seeds and draws in
  its callable). :func:`eval_call` wraps a CO2-like module: ``model.eval()`` once, then
  ``model(x, is_training=False)``;
- the arrays are passed in (the original's ``SampleDataset`` loads them from
  ``--path-dataset``), and the Ambiguous file is a path (the original reads
  ``./Thumos14reduced-Annotations/Ambiguous_test.txt`` from its working directory);
- the device is the CPU; the progress print every ``len(testidx) // 5`` videos, which divides by
  zero below five test videos (``C:test.py:38``), is left out; so are the mAP computations after
  the loop (``eval.classificationMAP`` and ``ANETdetection``: see
  ``tests/reference/original_wtalc_eval.py`` for the latter).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from tests.reference.original_co2_proposals import classification_score, multiple_threshold_hamnet

ModelCall = Callable[[int, torch.Tensor], Mapping[str, torch.Tensor]]
"""(index of the video in the W-TALC arrays, (1, T, D) float32 features) -> the network's outputs
dict; the proposal function reads its ``cas`` (1, T, C + 1) and ``attn`` (1, T, 1)."""


@dataclass
class TestLoopOutput:
    """What the loop leaves for the evaluation after the last video.

    proposals: the concatenated proposal frame (video-id, t-start, t-end, label, score; snippet
        units, end exclusive), the ``prediction`` the original's ``ANETdetection`` is given;
    video_names: the test videos in loop order (str);
    cls_scores: (N, C + 1) float32, the classification score of each video (``C:test.py:63``);
        the classification mAP reads its first C columns;
    labels: (N, C) float64, the multi-hot ``labels_all`` of each video.
    """

    proposals: pd.DataFrame
    video_names: list[str]
    cls_scores: np.ndarray
    labels: np.ndarray


def eval_call(model: torch.nn.Module) -> ModelCall:
    """The original's call of a CO2-like network in its test loop: eval mode (no dropout), then
    ``model(features, is_training=False)`` (the index is not used)."""
    model.eval()

    def call(index: int, features: torch.Tensor) -> Mapping[str, torch.Tensor]:
        return model(features, is_training=False)

    return call


def _decode(x: Any) -> str:
    return x.decode("utf-8") if isinstance(x, bytes) else str(x)


def multihot(labels_all: Sequence[Sequence[Any]], classlist: Sequence[Any]) -> np.ndarray:
    """``strlist2multihot``: per video, the sum of the one-hot rows of its class names (float64;
    a video without a label gets zeros)."""
    names = [_decode(c) for c in classlist]
    out = np.zeros((len(labels_all), len(names)), dtype=np.float64)
    for i, labs in enumerate(labels_all):
        for lab in labs:
            out[i] += np.eye(len(names))[names.index(_decode(lab))]
    return out


@torch.no_grad()
def original_test_loop(features: Sequence[np.ndarray], videoname: Sequence[bytes],
                       subset: Sequence[Any], model_call: ModelCall, ambiguous_path: str,
                       labels_all: Sequence[Sequence[Any]] | None = None,
                       classlist: Sequence[Any] | None = None,
                       proposal_function: Callable[..., pd.DataFrame] = multiple_threshold_hamnet,
                       **proposal_kwargs: Any) -> TestLoopOutput:
    """Run the official test loop over the test videos of the W-TALC arrays.

    features: the feature file's object array ((T, D) arrays, array order); videoname, subset:
    ``videoname.npy`` (byte strings, as the proposal function decodes them) and ``subset.npy``;
    model_call: see :data:`ModelCall`; ambiguous_path: the Ambiguous file of the proposal
    function's filter; labels_all and classlist (optional): for the stacked multi-hot labels
    (zeros (N, 0) without them); proposal_kwargs: passed on to the proposal function (e.g.
    ``numpy1=False``).
    """
    testidx = [i for i, s in enumerate(subset) if _decode(s) == "test"]
    label_rows = (multihot(labels_all, classlist) if labels_all is not None
                  else np.zeros((len(subset), 0)))
    proposals, names, instance_logits_stack, labels_stack = [], [], [], []
    for idx in testidx:                      # load_data(is_training=False): one video at a time
        feat = np.asarray(features[idx])
        labels = label_rows[idx]
        vn = videoname[idx]
        x = torch.from_numpy(feat).float().unsqueeze(0)          # (1, T, D) float32
        outputs = model_call(idx, x)
        proposals.append(proposal_function(vn, outputs, ambiguous_path, **proposal_kwargs))
        # C:test.py:63: len(features) of the (1, T, D) tensor is 1, hence k = 1
        instance_logits_stack.append(classification_score(outputs["cas"], features_len=len(x)))
        labels_stack.append(labels)
        names.append(_decode(vn))
    frame = pd.concat(proposals).reset_index(drop=True)
    return TestLoopOutput(proposals=frame, video_names=names,
                          cls_scores=np.array(instance_logits_stack),
                          labels=np.array(labels_stack))
