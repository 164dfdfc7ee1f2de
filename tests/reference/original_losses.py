"""Literal references of the original FTCL losses, written from the spec (section 5). Tests only.

- :class:`OriginalACMLoss`: ``utils/net_utils.py`` ACMLoss (ACM part + in-batch LCS / FSD).
- :class:`OriginalFTCLLoss`: ``utils/ftcl_criterion.py`` FTCLLoss (pair mode).

Per-pair, per-cell Python loops as the original: the FSD table is rebuilt from a mask for every
cell, the LCS cell uses a Python ``if`` on the gate and Python ``max`` (ties keep the "up" cell),
cosines divide by the bare norm, the in-batch negatives come from ``rng.sample(neg, len(pos))``.
Departures, all without effect on the numbers tested: the device follows the inputs instead of
"cuda", the rng is a parameter (the original uses the global ``random``), no tqdm, the loss dict
keeps floats from ``.item()`` as the original.
"""
from __future__ import annotations

import random

import numpy as np
import torch
import torch.nn as nn


def max_gamma(values, gamma=0.1):
    if gamma == 0:
        return torch.max(values)
    z = values / gamma
    top = torch.max(z)
    return gamma * (top + torch.log(torch.sum(torch.exp(z - top))))


def cosine(candi_0, candi_1):
    candi_0 = candi_0 / torch.linalg.vector_norm(candi_0, ord=2, dim=1, keepdim=True)
    candi_1 = candi_1 / torch.linalg.vector_norm(candi_1, ord=2, dim=1, keepdim=True)
    return torch.mm(candi_0, candi_1.T)


def set_cell(table, i, j, value):
    mask = np.ones(table.shape, dtype=np.float32)
    mask[i, j] = 0
    mask = torch.tensor(mask, dtype=torch.float32, device=table.device)
    return table * mask + value * (1 - mask)


def fsd_dp(candi_0, candi_1, length):
    half = int(candi_1.shape[-1] / 2)
    m = cosine(candi_0[:, :half], candi_1[:, :half])
    g = cosine(candi_0[:, half:], candi_1[:, half:])
    table = torch.zeros((length + 1, length + 1), device=candi_0.device)
    for i in range(1, length + 1):
        for j in range(1, length + 1):
            around = torch.stack([table[i - 1, j - 1], g[i - 1, j - 1] + table[i - 1, j],
                                  g[i - 1, j - 1] + table[i, j - 1]])
            table = set_cell(table, i, j, m[i - 1, j - 1] + max_gamma(around))
    return table[-1, -1]


def lcs_dp(sim, length, thres):
    table = torch.zeros((length + 1, length + 1), device=sim.device)
    for i in range(1, length + 1):
        for j in range(1, length + 1):
            if sim[i - 1, j - 1] > thres:
                table[i, j] = table[i - 1, j - 1] + sim[i - 1, j - 1]
            else:
                table[i, j] = max(table[i - 1, j], table[i, j - 1])
    return table[-1, -1]


def acm_part(cls_eps, weights, lambdas, inst_cls, cont_cls, back_cls, vid_label, temp_att,
             inst_feat, cont_feat, back_feat, inst_cas):
    device = inst_cls.device
    bs = inst_cls.shape[0]
    inst_label = torch.hstack((vid_label, torch.zeros((bs, 1), device=device)))
    cont_label = torch.hstack((vid_label, torch.ones((bs, 1), device=device)))
    back_label = torch.hstack((torch.zeros_like(vid_label), torch.ones((bs, 1), device=device)))
    inst_label = inst_label / torch.sum(inst_label, dim=1, keepdim=True)
    cont_label = cont_label / torch.sum(cont_label, dim=1, keepdim=True)
    back_label = back_label / torch.sum(back_label, dim=1, keepdim=True)

    def ce(p, y):
        return -torch.mean(torch.sum(torch.log(p + cls_eps) * y, dim=1))

    inst_loss = ce(inst_cls, inst_label)
    cont_loss = ce(cont_cls, cont_label)
    back_loss = ce(back_cls, back_label)
    guide = torch.sum(torch.abs(1 - inst_cas[:, :, -1] - temp_att[:, :, 0].detach()), dim=1).mean()
    n_inst = torch.norm(inst_feat, p=2, dim=1)
    n_cont = torch.norm(cont_feat, p=2, dim=1)
    n_back = torch.norm(back_feat, p=2, dim=1)
    f1 = 50 - n_inst + n_cont
    f1[f1 < 0] = 0
    f2 = 50 - n_cont + n_back
    f2[f2 < 0] = 0
    feat = torch.mean((f1 + f2 + n_back) ** 2)
    sparse = torch.sum(temp_att[:, :, :2], dim=1).mean()
    cls = weights[0] * inst_loss + weights[1] * cont_loss + weights[2] * back_loss
    acm = cls + (lambdas[0] * guide + lambdas[1] * feat + lambdas[2] * sparse)
    parts = {"act_inst_loss": inst_loss.item(), "act_cont_loss": cont_loss.item(),
             "act_back_loss": back_loss.item(), "guide_loss": guide.item(),
             "feat_loss": feat.item(), "sparse_loss": sparse.item(), "acm_loss": acm.item()}
    return acm, parts


def _weights(dataset):
    return (1.0, 1.0, 1.0) if dataset == "THUMOS14" else (5.0, 1.0, 1.0)


def generate_pairs(vid_label, rng):
    pos, neg = [], []
    n = vid_label.shape[0]
    for i in range(n - 1):
        for j in range(i + 1, n):
            if torch.sum(vid_label[i] * vid_label[j]) == 1 and vid_label[i].equal(vid_label[j]):
                pos.append([i, j])
            elif torch.sum(vid_label[i] * vid_label[j]) == 0:
                neg.append([i, j])
    return pos, rng.sample(neg, len(pos))


class OriginalACMLoss(nn.Module):
    """args: loss_lamb_1/2/3, loss_lamb_lcs, loss_lamb_fsd, thres, lcs_len, fsd_len."""

    def __init__(self, args, dataset="THUMOS14", rng=random):
        super().__init__()
        self.weights = _weights(dataset)
        self.lambdas = (args.loss_lamb_1, args.loss_lamb_2, args.loss_lamb_3)
        self.lamb_lcs = args.loss_lamb_lcs
        self.lamb_fsd = args.loss_lamb_fsd
        self.thres = args.thres
        self.lcs_len = args.lcs_len
        self.fsd_len = args.fsd_len
        self.rng = rng

    def forward(self, inst_cls, cont_cls, back_cls, vid_label, temp_att, inst_feat, cont_feat,
                back_feat, temp_cas, lcs_candi, fsd_act, fsd_bak, args):
        loss, loss_dict = acm_part(1e-45, self.weights, self.lambdas, inst_cls, cont_cls, back_cls,
                                   vid_label, temp_att, inst_feat, cont_feat, back_feat, temp_cas)
        if not args.test:
            pos, neg = generate_pairs(vid_label, self.rng)
            if args.without_lcs or len(pos) == 0:
                lcs = torch.tensor(0)
            else:
                lcs = self.dp_for_lcs(neg, lcs_candi) - self.dp_for_lcs(pos, lcs_candi)
            if args.without_fsd or len(pos) == 0:
                fsd = torch.tensor(0)
            else:
                fsd = (self.dp_for_fsd(neg, fsd_act, fsd_bak, act_act=False)
                       - self.dp_for_fsd(pos, fsd_act, fsd_bak, act_act=True))
            loss = loss + (self.lamb_lcs * lcs + self.lamb_fsd * fsd)
            loss_dict.update({"lcs_loss": (self.lamb_lcs * lcs).item(),
                              "fsd_loss": (self.lamb_fsd * fsd).item()})
        return loss, loss_dict

    def dp_for_fsd(self, pairs, act, bak, act_act=True):
        fsd = torch.zeros(len(pairs), device=act.device)
        for k, (i, j) in enumerate(pairs):
            fsd[k] = fsd_dp(act[i], act[j] if act_act else bak[j], self.fsd_len)
        return fsd.mean()

    def dp_for_lcs(self, pairs, lcs_candi):
        lcs = torch.zeros(len(pairs), device=lcs_candi.device)
        for k, (i, j) in enumerate(pairs):
            sim = cosine(lcs_candi[i], lcs_candi[j])
            scaled = torch.maximum(torch.zeros_like(sim), sim - 0.8) * 5
            lcs[k] = lcs_dp(scaled, self.lcs_len, self.thres)
        return lcs.mean()


class OriginalFTCLLoss(nn.Module):
    """args: loss_lamb_1/2/3, loss_lamb_lcs, loss_lamb_fsd, thres, lcs_len, fsd_len."""

    def __init__(self, args, dataset="THUMOS14"):
        super().__init__()
        self.weights = _weights(dataset)
        self.lambdas = (args.loss_lamb_1, args.loss_lamb_2, args.loss_lamb_3)
        self.lamb_lcs = args.loss_lamb_lcs
        self.lamb_fsd = args.loss_lamb_fsd
        self.thres = args.thres
        self.lcs_len = args.lcs_len
        self.fsd_len = args.fsd_len

    def forward_once(self, inst_cls, cont_cls, back_cls, vid_label, temp_att, inst_feat,
                     cont_feat, back_feat, inst_cas):
        return acm_part(1e-10, self.weights, self.lambdas, inst_cls, cont_cls, back_cls,
                        vid_label, temp_att, inst_feat, cont_feat, back_feat, inst_cas)

    def forward(self, side_0, args, side_1=None):
        """side_k: (inst_cls, cont_cls, back_cls, vid_label, temp_att, inst_feat, cont_feat,
        back_feat, inst_cas, lcs_candi, fsd_act, fsd_bak), the original's argument order."""
        if side_1 is None:
            return self.forward_once(*side_0[:9])
        loss_0, dict_0 = self.forward_once(*side_0[:9])
        loss_1, dict_1 = self.forward_once(*side_1[:9])
        acm = (loss_0 + loss_1) / 2.0
        loss_dict = {k: (dict_0[k] + dict_1[k]) / 2.0 for k in dict_0}
        label_0, label_1 = side_0[3], side_1[3]
        pair_label = torch.sum(label_0 * label_1, dim=1)
        pair_label[pair_label > 0] = 1
        if args.without_lcs:
            lcs = torch.tensor(0)
        else:
            lcs = self.get_lcs_loss(pair_label, side_0[9], side_1[9])
        if args.without_fsd:
            fsd = torch.tensor(0)
        else:
            fsd = self.get_fsd_loss(pair_label, side_0[10], side_1[10], side_1[11])
        loss = acm + (self.lamb_lcs * lcs + self.lamb_fsd * fsd)
        loss_dict.update({"lcs_loss": (self.lamb_lcs * lcs).item(),
                          "fsd_loss": (self.lamb_fsd * fsd).item()})
        return loss, loss_dict

    @staticmethod
    def _contrast(values, pair_label):
        n = values.shape[0]
        pos_num = torch.sum(pair_label)
        neg_num = n - pos_num
        return (torch.sum(values * (1 - pair_label)) / (neg_num + 1e-10)
                - torch.sum(values * pair_label) / (pos_num + 1e-10))

    def get_fsd_loss(self, pair_label, act_0, act_1, bak_1):
        fsd = torch.zeros(act_0.shape[0], device=act_0.device)
        for i in range(act_0.shape[0]):
            if pair_label[i] == 1:
                fsd[i] = fsd_dp(act_0[i], act_1[i], self.fsd_len)
            else:
                fsd[i] = fsd_dp(act_0[i], bak_1[i], self.fsd_len)
        return self._contrast(fsd, pair_label)

    def get_lcs_loss(self, pair_label, lcs_0, lcs_1):
        lcs = torch.zeros(lcs_0.shape[0], device=lcs_0.device)
        for i in range(lcs_0.shape[0]):
            lcs[i] = lcs_dp(cosine(lcs_0[i], lcs_1[i]), self.lcs_len, self.thres)
        return self._contrast(lcs, pair_label)
