"""Literal port of the official AICL cost (``main_thumos.py`` ``forward_pass``,
``calculate_pesudo_target``, ``calculate_all_losses1``, ``ContrastiveLoss``; ``utils/loss.py``),
written from the behaviour spec (section 3).

Changes that cannot be literal: ``.cuda()`` becomes the device of the inputs, the pseudo target
takes the labels' dtype (float32 in the official runs, so that float64 tests stay float64), and the
configured ``num_segments`` is an argument (750 in the official code). Used only by the tests.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def instance_selection_function(cas, *actionness):
    return (cas + sum(actionness)) / (1 + len(actionness))


def forward_pass(outputs, num_segments: int):
    """outputs: the 10-tuple of ``OriginalAICL``. Returns cas_top (B, C) and topk_indices."""
    cas, action_flow, action_rgb = outputs[0], outputs[1], outputs[2]
    combined_cas = instance_selection_function(torch.softmax(cas.detach(), -1),
                                               action_flow.permute(0, 2, 1).detach(),
                                               action_rgb.permute(0, 2, 1))
    _, topk_indices = torch.topk(combined_cas, num_segments // 8, dim=1)
    cas_top = torch.mean(torch.gather(cas, 1, topk_indices), dim=1)
    return cas_top, topk_indices, combined_cas


def calculate_pesudo_target(batch_size, label, topk_indices, num_segments: int):
    cls_agnostic_gt = []
    for b in range(batch_size):
        label_indices_b = torch.nonzero(label[b, :])[:, 0]
        topk_indices_b = topk_indices[b, :, label_indices_b]
        cls_agnostic_gt_b = torch.zeros((1, 1, num_segments), dtype=label.dtype,
                                        device=label.device)
        for gt_i in range(len(label_indices_b)):
            cls_agnostic_gt_b[0, 0, topk_indices_b[:, gt_i]] = 1
        cls_agnostic_gt.append(cls_agnostic_gt_b)
    return torch.cat(cls_agnostic_gt, dim=0)


class CrossEntropyLoss(nn.Module):
    def __init__(self):
        super().__init__()
        self.ce_criterion = nn.BCELoss()

    def forward(self, logits, label):
        label = label / torch.sum(label, dim=1, keepdim=True) + 1e-10
        return -torch.mean(torch.sum(label * F.log_softmax(logits, dim=1), dim=1), dim=0)


class GeneralizedCE(nn.Module):
    def __init__(self, q):
        self.q = q
        super().__init__()

    def forward(self, logits, label):
        assert logits.shape[0] == label.shape[0]
        assert logits.shape[1] == label.shape[1]
        pos_factor = torch.sum(label, dim=1) + 1e-7
        neg_factor = torch.sum(1 - label, dim=1) + 1e-7
        first_term = torch.mean(torch.sum(((1 - (logits + 1e-7) ** self.q) / self.q) * label,
                                          dim=1) / pos_factor)
        second_term = torch.mean(torch.sum(((1 - (1 - logits + 1e-7) ** self.q) / self.q)
                                           * (1 - label), dim=1) / neg_factor)
        return first_term + second_term


class ContrastiveLoss(nn.Module):
    def __init__(self):
        super().__init__()
        self.ce_criterion = nn.CrossEntropyLoss()

    def NCE(self, q, k, neg, T=0.1):
        q = nn.functional.normalize(q, dim=1)
        k = nn.functional.normalize(k, dim=1)
        neg = neg.permute(0, 2, 1)
        neg = nn.functional.normalize(neg, dim=1)
        l_pos = torch.einsum('nc,nc->n', [q, k]).unsqueeze(-1)
        l_neg = torch.einsum('nc,nck->nk', [q, neg])
        logits = torch.cat([l_pos, l_neg], dim=1)
        logits /= T
        labels = torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device)
        return self.ce_criterion(logits, labels)

    def forward(self, contrast_pairs):
        ia = self.NCE(torch.mean(contrast_pairs['IA'], 1), torch.mean(contrast_pairs['CA'], 1),
                      contrast_pairs['CB'])
        ib = self.NCE(torch.mean(contrast_pairs['IB'], 1), torch.mean(contrast_pairs['CB'], 1),
                      contrast_pairs['CA'])
        ca = self.NCE(torch.mean(contrast_pairs['CA'], 1), torch.mean(contrast_pairs['IA'], 1),
                      contrast_pairs['CB'])
        cb = self.NCE(torch.mean(contrast_pairs['CB'], 1), torch.mean(contrast_pairs['IB'], 1),
                      contrast_pairs['CA'])
        return ia + ib + ca + cb


def calculate_all_losses1(contrast_pairs, contrast_pairs_r, contrast_pairs_f, cas_top, label,
                          action_flow, action_rgb, cls_agnostic_gt, actionness1, actionness2,
                          q_val: float = 0.7):
    contrastive = ContrastiveLoss()
    loss_contrastive = (contrastive(contrast_pairs) + contrastive(contrast_pairs_r)
                        + contrastive(contrast_pairs_f))
    base_loss = CrossEntropyLoss()(cas_top, label)
    gce = GeneralizedCE(q=q_val)
    class_agnostic_loss = (gce(action_flow.squeeze(1), cls_agnostic_gt.squeeze(1))
                           + gce(action_rgb.squeeze(1), cls_agnostic_gt.squeeze(1)))
    modality_consistent_loss = (0.5 * F.mse_loss(action_flow, action_rgb)
                                + 0.5 * F.mse_loss(action_rgb, action_flow))
    action_consistent_loss = (0.5 * F.mse_loss(actionness1, actionness2)
                              + 0.5 * F.mse_loss(actionness2, actionness1))
    return (base_loss + class_agnostic_loss + 5 * modality_consistent_loss
            + 0.01 * loss_contrastive + 0.1 * action_consistent_loss)


def original_cost(outputs, label, num_segments: int, q_val: float = 0.7):
    """The training step's cost for one batch, from the ``OriginalAICL`` 10-tuple."""
    (_, action_flow, action_rgb, pairs, pairs_r, pairs_f, actionness1, actionness2, _, _) = outputs
    cas_top, topk_indices, _ = forward_pass(outputs, num_segments)
    target = calculate_pesudo_target(label.shape[0], label, topk_indices, num_segments)
    return calculate_all_losses1(pairs, pairs_r, pairs_f, cas_top, label, action_flow, action_rgb,
                                 target, actionness1, actionness2, q_val)
