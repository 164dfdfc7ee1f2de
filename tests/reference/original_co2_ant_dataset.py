"""Literal port of the lists of the official CO2-Net ActivityNet 1.2 dataset (``AntSampleDataset``
of ``wsad_dataset.py``: ``train_test_idx``, ``classwise_feature_mapping`` and ``filter``, in the
order ``__init__`` calls them), written from the behaviour spec (``co2-stcl-behaviour.md`` sec.
1.6, Q25). Its ``load_data`` is the THUMOS class's, line for line, so the port's is
:class:`OriginalPairLoader`'s.

The only changes: the labels come as the multi-hot rows of ``strlist2multihot`` (``labels_all``)
instead of their names, and ``features`` is any sequence of (T, D) arrays. Used only by the tests.
"""
from __future__ import annotations

from tests.reference.original_co2_sampling import OriginalPairLoader


class OriginalAntLoader(OriginalPairLoader):
    def __init__(self, features, labels_multihot, subset, batch_size: int,
                 num_segments: int) -> None:
        self.labels_multihot = labels_multihot
        self.batch_size = batch_size
        self.num_segments = num_segments
        self.trainidx = []
        self.testidx = []
        # train_test_idx
        for i, s in enumerate(subset):
            if s == "training":
                self.trainidx.append(i)
            elif s == "validation":
                self.testidx.append(i)
        # classwise_feature_mapping: zero-sum videos skipped, before filter()
        self.classwiseidx = []
        for category in range(len(labels_multihot[0])):
            idx = []
            for i in self.trainidx:
                if features[i].sum() == 0:
                    continue
                if labels_multihot[i][category]:
                    idx.append(i)
            self.classwiseidx.append(idx)
        # filter(): more than 10 rows, both lists
        new_testidx = []
        for idx in self.testidx:
            if len(features[idx]) > 10:
                new_testidx.append(idx)
        self.testidx = new_testidx
        new_trainidx = []
        for idx in self.trainidx:
            if len(features[idx]) > 10:
                new_trainidx.append(idx)
        self.trainidx = new_trainidx
