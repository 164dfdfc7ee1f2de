"""Literal port of the official STCL-Net ``STCL_THU`` network (PHDJieFu/STCL-Net ``model.py:42-378``),
written from the behaviour spec (``co2-stcl-behaviour.md`` sec. 3.4), in the original's style: the
exemplar bank is drawn inside ``forward`` from numpy's global legacy stream (``np.random.choice``
of 10 videos per class without replacement, then the model's own ``random_perturb`` of each
picked video), features read from a ``dataset`` attribute (``features``, ``classwiseidx``,
``num_segments``); the TCL correlation is computed video by video, the exemplars class by class
and video by video, the SCL correlation one exemplar set at a time in a loop over the literal
21 slots.

Changes that cannot be literal: no CUDA default tensor type and no ``.cuda()`` (the SCL buffer is
made on the input's device and dtype); the sizes the original fixes (2048, CCM hidden 512, key
512, 20 classes = 21 slots, 10 exemplars) are arguments with those defaults, so that the tests
run small; ``rnd`` (default: the ``np.random`` module, the original's global stream) may be
replaced for a test. The CCM block is the CO2 port's (the same code in both repositories). Used
only by the tests.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from tests.reference.original_co2_model import OriginalBWA, weights_init


class OriginalSTCL_THU(nn.Module):  # noqa: N801
    def __init__(self, dataset, n_feature: int = 2048, n_class: int = 20, hidden: int = 512,
                 key_dim: int = 512, act_vid_num: int = 10, dropout_ratio: float = 0.7,
                 rnd=np.random) -> None:
        super().__init__()
        embed_dim = n_feature
        self.dataset = dataset
        self.num_segments = dataset.num_segments
        self.n_class = n_class
        self.act_vid_num = act_vid_num
        self.rnd = rnd
        self.half = n_feature // 2
        self.vAttn = OriginalBWA(self.half, hidden)
        self.fAttn = OriginalBWA(self.half, hidden)
        self.fusion = nn.Sequential(
            nn.Conv1d(n_feature, n_feature, 1, padding=0), nn.LeakyReLU(0.2),
            nn.Dropout(dropout_ratio))
        self.intra_temp_conv1_k = nn.Conv1d(embed_dim, key_dim, 1)
        self.intra_temp_conv1_v = nn.Conv1d(embed_dim, embed_dim, 1)
        self.intra_temp_conv2_k = nn.Conv1d(embed_dim, key_dim, 3, padding=1)
        self.intra_temp_conv2_v = nn.Conv1d(embed_dim, embed_dim, 3, padding=1)
        self.inter_vid_conv1_k = nn.Conv1d(embed_dim, key_dim, 1)
        self.inter_vid_conv1_v = nn.Conv1d(embed_dim, embed_dim, 1)
        self.inter_exem_conv1_k = nn.Conv1d(embed_dim, key_dim, 1)
        self.inter_exem_conv1_v = nn.Conv1d(embed_dim, embed_dim, 1)
        self.clswise_atn_conv = nn.Conv1d(embed_dim, 1, 1)
        self.intra_temp_classifier = nn.Sequential(
            nn.Dropout(dropout_ratio), nn.Conv1d(embed_dim, embed_dim, 3, padding=1),
            nn.LeakyReLU(0.2), nn.Dropout(0.7), nn.Conv1d(embed_dim, n_class + 1, 1))
        self.inter_temp_classifier = nn.Sequential(
            nn.Dropout(dropout_ratio), nn.Conv1d(2 * embed_dim, embed_dim, 3, padding=1),
            nn.LeakyReLU(0.2), nn.Dropout(0.7), nn.Conv1d(embed_dim, n_class + 1, 1))
        self.classifier = nn.Sequential(
            nn.Dropout(dropout_ratio), nn.Conv1d(embed_dim, embed_dim, 3, padding=1),
            nn.LeakyReLU(0.2), nn.Dropout(0.7), nn.Conv1d(embed_dim, n_class + 1, 1))
        self.opt = nn.ReLU()
        self.kl_criterion = nn.KLDivLoss(reduction="mean")
        self.apply(weights_init)

    def random_perturb(self, length):
        if self.num_segments == length:
            return np.arange(self.num_segments).astype(int)
        samples = np.arange(self.num_segments) * length / self.num_segments
        for i in range(self.num_segments):
            if i < self.num_segments - 1:
                if int(samples[i]) != int(samples[i + 1]):
                    samples[i] = self.rnd.choice(range(int(samples[i]), int(samples[i + 1]) + 1))
                else:
                    samples[i] = int(samples[i])
            else:
                if int(samples[i]) < length - 1:
                    samples[i] = self.rnd.choice(range(int(samples[i]), length))
                else:
                    samples[i] = int(samples[i])
        return samples.astype(int)

    def get_act_feat(self, act_vid_num):
        # per class in class order: 10 videos without replacement, then perturb each in order
        act_feat = []
        for c in range(self.n_class):
            vids = self.rnd.choice(self.dataset.classwiseidx[c], act_vid_num, replace=False)
            for v in vids:
                feat = self.dataset.features[v]
                idx = self.random_perturb(feat.shape[0])
                act_feat.append(feat[idx])
        act_feat = np.array(act_feat).reshape(self.n_class, act_vid_num, self.num_segments, -1)
        return torch.from_numpy(act_feat).float()

    def cos_sim_intra(self, k):
        # k (C, T) of one video: cosine between every pair of snippets, softmax over dim 0
        k = F.normalize(k, dim=0)
        sim = torch.mm(k.transpose(0, 1), k)
        return F.softmax(sim, dim=0)

    def cos_sim_inter(self, q, ek):
        # q (C, T) of one video, ek (C, M): softmax over the exemplars
        q = F.normalize(q, dim=0)
        ek = F.normalize(ek, dim=0)
        sim = torch.mm(q.transpose(0, 1), ek)
        return F.softmax(sim, dim=1)

    def intra_corr(self, k, v):
        out = []
        for b in range(k.shape[0]):
            w = self.cos_sim_intra(k[b])
            out.append(torch.mm(v[b], w) + v[b])
        return torch.stack(out, 0)

    def inter_corr(self, q, ek, ev):
        out = []
        for b in range(q.shape[0]):
            sim = self.cos_sim_inter(q[b], ek)
            out.append(torch.mm(ev, sim.transpose(0, 1)))
        return torch.stack(out, 0)

    def forward(self, inputs, device=None, is_training=True, **args):
        feat = inputs.transpose(-1, -2)
        v_atn, vfeat = self.vAttn(feat[:, :self.half, :], feat[:, self.half:, :])
        f_atn, ffeat = self.fAttn(feat[:, self.half:, :], feat[:, :self.half, :])
        x_atn = (f_atn + v_atn) / 2
        nfeat = torch.cat((vfeat, ffeat), 1)
        nfeat = self.fusion(nfeat)

        # TCL
        k1 = self.intra_temp_conv1_k(nfeat)
        v1 = self.intra_temp_conv1_v(nfeat)
        intra1 = self.opt(self.intra_corr(k1, v1))
        k2 = self.intra_temp_conv2_k(intra1)
        v2 = self.intra_temp_conv2_v(intra1)
        intra2 = self.opt(self.intra_corr(k2, v2))
        intra_cas = self.intra_temp_classifier(intra2)

        # SCL exemplar bank
        act_vid_num = self.act_vid_num
        act_feat = self.get_act_feat(act_vid_num).to(device=inputs.device, dtype=inputs.dtype)
        act_feat = act_feat.reshape(-1, self.num_segments, act_feat.shape[-1]).transpose(-1, -2)
        a_v_atn, a_vfeat = self.vAttn(act_feat[:, :self.half, :], act_feat[:, self.half:, :])
        a_f_atn, a_ffeat = self.fAttn(act_feat[:, self.half:, :], act_feat[:, :self.half, :])
        a_atn = (a_f_atn + a_v_atn) / 2
        a_feat = self.fusion(torch.cat((a_vfeat, a_ffeat), 1))
        a_cas = self.classifier(a_feat)
        a_min = a_cas.min(dim=1, keepdim=True)[0]
        a_supp = a_atn * (a_cas - a_min) + a_min
        a_fb = torch.cat((a_supp[:, :-1, :], a_cas[:, [-1], :]), 1)
        topk = self.num_segments // 10
        fore_exem, bkg_exem = [], []
        for c in range(self.n_class):
            fore_c, bkg_c = [], []
            for m in range(act_vid_num):
                j = c * act_vid_num + m
                f_idx = torch.topk(a_fb[j, c, :], topk)[1]
                b_idx = torch.topk(a_fb[j, -1, :], topk)[1]
                fore_c.append(a_feat[j][:, f_idx].mean(1))
                bkg_c.append(a_feat[j][:, b_idx].mean(1))
            fore_exem.append(torch.stack(fore_c, 0))
            bkg_exem.append(torch.stack(bkg_c, 0))
        exem = torch.stack(fore_exem, 0)                          # (20, 10, D)
        bkg = torch.stack(bkg_exem, 0).mean(0, keepdim=True)      # (1, 10, D)
        exem = torch.cat((exem, bkg), 0)                          # (21, 10, D)

        # SCL correlation over the 21 slots
        q = self.inter_vid_conv1_k(nfeat)
        v = self.inter_vid_conv1_v(nfeat)
        slots = self.n_class + 1
        buf = torch.zeros(nfeat.shape[0], slots, nfeat.shape[1], nfeat.shape[2],
                          device=inputs.device, dtype=inputs.dtype)
        w = torch.zeros(nfeat.shape[0], slots, nfeat.shape[2], device=inputs.device,
                        dtype=inputs.dtype)
        for a in range(slots):
            e = exem[a].transpose(0, 1).unsqueeze(0)               # (1, D, 10)
            ek = self.inter_exem_conv1_k(e)[0]
            ev = self.inter_exem_conv1_v(e)[0]
            r = self.inter_corr(q, ek, ev)
            buf[:, a] = r
            w[:, a] = self.clswise_atn_conv(r)[:, 0]
        w = F.softmax(w, dim=1)
        agg = (buf * w.unsqueeze(2)).sum(1)
        inter_cas = self.inter_temp_classifier(self.opt(torch.cat((v, agg), 1)))

        x_cls = self.classifier(nfeat)
        fused = 0.55 * x_cls + 0.36 * intra_cas + 0.09 * inter_cas
        return {"feat": nfeat.transpose(-1, -2), "cas": fused.transpose(-1, -2),
                "attn": x_atn.transpose(-1, -2), "v_atn": v_atn.transpose(-1, -2),
                "f_atn": f_atn.transpose(-1, -2), "cas_origin": x_cls.transpose(-1, -2),
                "intra_cas": intra_cas.transpose(-1, -2),
                "inter_cas": inter_cas.transpose(-1, -2)}


class OriginalSTCL_ACT(OriginalSTCL_THU):  # noqa: N801
    """``STCL_ACT`` (``S:model.py:380-742``, spec sec. 3.5): x_cls right after fusion, the TCL
    head on layer 1 (layer 2 computed, unused), 5 exemplars, ``n_class + 1`` slots (the literal
    101 of the original), and ANT_CO2's average pool on the three heads before the fusion and
    then on the attentions. ``pool_kernel`` = ((max_seqlen // t) // 2) * 2 + 1."""

    def __init__(self, dataset, n_feature: int = 2048, n_class: int = 100, hidden: int = 512,
                 key_dim: int = 512, act_vid_num: int = 5, dropout_ratio: float = 0.7,
                 pool_kernel: int = 13, rnd=np.random) -> None:
        super().__init__(dataset, n_feature, n_class, hidden, key_dim, act_vid_num,
                         dropout_ratio, rnd)
        self.pool = nn.AvgPool1d(pool_kernel, 1, padding=pool_kernel // 2,
                                 count_include_pad=True)

    def forward(self, inputs, device=None, is_training=True, **args):
        feat = inputs.transpose(-1, -2)
        v_atn, vfeat = self.vAttn(feat[:, :self.half, :], feat[:, self.half:, :])
        f_atn, ffeat = self.fAttn(feat[:, self.half:, :], feat[:, :self.half, :])
        x_atn = (f_atn + v_atn) / 2
        nfeat = torch.cat((vfeat, ffeat), 1)
        nfeat = self.fusion(nfeat)
        x_cls = self.classifier(nfeat)

        # TCL: the head reads layer 1; layer 2 is computed and dropped
        k1 = self.intra_temp_conv1_k(nfeat)
        v1 = self.intra_temp_conv1_v(nfeat)
        intra1 = self.opt(self.intra_corr(k1, v1))
        k2 = self.intra_temp_conv2_k(intra1)
        v2 = self.intra_temp_conv2_v(intra1)
        self.opt(self.intra_corr(k2, v2))
        intra_cas = self.intra_temp_classifier(intra1)

        # SCL exemplar bank (as STCL_THU)
        act_vid_num = self.act_vid_num
        act_feat = self.get_act_feat(act_vid_num).to(device=inputs.device, dtype=inputs.dtype)
        act_feat = act_feat.reshape(-1, self.num_segments, act_feat.shape[-1]).transpose(-1, -2)
        a_v_atn, a_vfeat = self.vAttn(act_feat[:, :self.half, :], act_feat[:, self.half:, :])
        a_f_atn, a_ffeat = self.fAttn(act_feat[:, self.half:, :], act_feat[:, :self.half, :])
        a_atn = (a_f_atn + a_v_atn) / 2
        a_feat = self.fusion(torch.cat((a_vfeat, a_ffeat), 1))
        a_cas = self.classifier(a_feat)
        a_min = a_cas.min(dim=1, keepdim=True)[0]
        a_supp = a_atn * (a_cas - a_min) + a_min
        a_fb = torch.cat((a_supp[:, :-1, :], a_cas[:, [-1], :]), 1)
        topk = self.num_segments // 10
        fore_exem, bkg_exem = [], []
        for c in range(self.n_class):
            fore_c, bkg_c = [], []
            for m in range(act_vid_num):
                j = c * act_vid_num + m
                f_idx = torch.topk(a_fb[j, c, :], topk)[1]
                b_idx = torch.topk(a_fb[j, -1, :], topk)[1]
                fore_c.append(a_feat[j][:, f_idx].mean(1))
                bkg_c.append(a_feat[j][:, b_idx].mean(1))
            fore_exem.append(torch.stack(fore_c, 0))
            bkg_exem.append(torch.stack(bkg_c, 0))
        exem = torch.stack(fore_exem, 0)
        bkg = torch.stack(bkg_exem, 0).mean(0, keepdim=True)
        exem = torch.cat((exem, bkg), 0)

        q = self.inter_vid_conv1_k(nfeat)
        v = self.inter_vid_conv1_v(nfeat)
        slots = self.n_class + 1
        buf = torch.zeros(nfeat.shape[0], slots, nfeat.shape[1], nfeat.shape[2],
                          device=inputs.device, dtype=inputs.dtype)
        w = torch.zeros(nfeat.shape[0], slots, nfeat.shape[2], device=inputs.device,
                        dtype=inputs.dtype)
        for a in range(slots):
            e = exem[a].transpose(0, 1).unsqueeze(0)
            ek = self.inter_exem_conv1_k(e)[0]
            ev = self.inter_exem_conv1_v(e)[0]
            r = self.inter_corr(q, ek, ev)
            buf[:, a] = r
            w[:, a] = self.clswise_atn_conv(r)[:, 0]
        w = F.softmax(w, dim=1)
        agg = (buf * w.unsqueeze(2)).sum(1)
        inter_cas = self.inter_temp_classifier(self.opt(torch.cat((v, agg), 1)))

        x_cls = self.pool(x_cls)
        intra_cas = self.pool(intra_cas)
        inter_cas = self.pool(inter_cas)
        fused = 0.55 * x_cls + 0.36 * intra_cas + 0.09 * inter_cas
        x_atn = self.pool(x_atn)
        f_atn = self.pool(f_atn)
        v_atn = self.pool(v_atn)
        return {"feat": nfeat.transpose(-1, -2), "cas": fused.transpose(-1, -2),
                "attn": x_atn.transpose(-1, -2), "v_atn": v_atn.transpose(-1, -2),
                "f_atn": f_atn.transpose(-1, -2), "cas_origin": x_cls.transpose(-1, -2),
                "intra_cas": intra_cas.transpose(-1, -2),
                "inter_cas": inter_cas.transpose(-1, -2)}
