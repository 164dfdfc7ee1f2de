"""Literal port of the official CO2-Net training batch (``SampleDataset.load_data`` with
``sampling='random'``, ``random_perturb``, ``classwise_feature_mapping``), written from the
behaviour spec (``co2-stcl-behaviour.md`` sec. 1.3, 2.1, 2.2), returning indices.

The only change: the global ``np.random`` becomes an argument ``rnd``: pass the ``np.random``
module itself for the original's global legacy stream, a ``RandomState`` or a ``Generator`` (all
three have ``choice``). The loops, the in-place overwrite of the float boundaries and the
persistent raise of the batch size are kept. Used only by the tests.
"""
from __future__ import annotations

import numpy as np


class OriginalPairLoader:
    def __init__(self, labels_multihot, subset, batch_size: int, num_segments: int) -> None:
        self.labels_multihot = labels_multihot
        self.batch_size = batch_size
        self.num_segments = num_segments
        self.trainidx = []
        self.testidx = []
        for i, s in enumerate(subset):
            if s == "validation":
                self.trainidx.append(i)
            elif s == "test":
                self.testidx.append(i)
        # classwise_feature_mapping: per class, the training videos carrying it, in order
        self.classwiseidx = []
        for category in range(len(labels_multihot[0])):
            idx = []
            for i in self.trainidx:
                if labels_multihot[i][category]:
                    idx.append(i)
            self.classwiseidx.append(idx)

    def random_perturb(self, length, rnd):
        if self.num_segments == length:
            return np.arange(self.num_segments).astype(int)
        samples = np.arange(self.num_segments) * length / self.num_segments
        for i in range(self.num_segments):
            if i < self.num_segments - 1:
                if int(samples[i]) != int(samples[i + 1]):
                    samples[i] = rnd.choice(range(int(samples[i]), int(samples[i + 1]) + 1))
                else:
                    samples[i] = int(samples[i])
            else:
                if int(samples[i]) < length - 1:
                    samples[i] = rnd.choice(range(int(samples[i]), length))
                else:
                    samples[i] = int(samples[i])
        return samples.astype(int)

    def load_data(self, lengths, rnd, n_similar=0, similar_size=2):
        """Training branch: (video indices in batch order, per-video row indices, the random
        positions ``rand_sampleid``). ``lengths[i]`` stands for ``features[i].shape[0]``."""
        idx = []
        if n_similar != 0:
            rand_classid = rnd.choice(len(self.classwiseidx), size=n_similar)
            for rid in rand_classid:
                rand_sampleid = rnd.choice(len(self.classwiseidx[rid]), size=similar_size,
                                           replace=False)
                for k in rand_sampleid:
                    idx.append(self.classwiseidx[rid][k])
        if self.batch_size - similar_size * n_similar < 0:
            self.batch_size = similar_size * n_similar
        rand_sampleid = rnd.choice(len(self.trainidx),
                                   size=self.batch_size - similar_size * n_similar)
        for r in rand_sampleid:
            idx.append(self.trainidx[r])
        rows = []
        for i in idx:
            rows.append(self.random_perturb(lengths[i], rnd))
        return idx, rows, rand_sampleid
