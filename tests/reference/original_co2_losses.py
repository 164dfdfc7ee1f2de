"""Literal port of the official CO2-Net criterion (``CO2.criterion``, ``_multiply``,
``topkloss``, ``Contrastive``; ``ANT_CO2.criterion``), written from the behaviour spec
(``co2-stcl-behaviour.md`` sec. 4.1).

Changes that cannot be literal: the ``.cuda()`` constants (the pair counts n1 / n2 and the 0 of
the hinge) become tensors of the inputs' device and dtype (float32 in the official runs, so that
float64 tests stay float64); ``args['opt']`` is any object with the attributes k, alpha1 .. alpha4.
Used only by the tests.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def multiply(x, atn, dim=-1, include_min=False):
    if include_min:
        _min = x.min(dim=dim, keepdim=True)[0]
    else:
        _min = 0
    return atn * (x - _min) + _min


def topkloss(element_logits, labels, is_back=True, lab_rand=None, rat=8, reduce=None):
    if is_back:
        labels_with_back = torch.cat((labels, torch.ones_like(labels[:, [0]])), dim=-1)
    else:
        labels_with_back = torch.cat((labels, torch.zeros_like(labels[:, [0]])), dim=-1)
    if lab_rand is not None:
        labels_with_back = torch.cat((labels, lab_rand), dim=-1)
    topk_val, topk_ind = torch.topk(element_logits,
                                    k=max(1, int(element_logits.shape[-2] // rat)), dim=-2)
    instance_logits = torch.mean(topk_val, dim=-2)
    labels_with_back = labels_with_back / (torch.sum(labels_with_back, dim=1, keepdim=True)
                                           + 1e-4)
    milloss = -(labels_with_back * F.log_softmax(instance_logits, dim=-1)).sum(dim=-1)
    if reduce is not None:
        milloss = milloss.mean()
    return milloss, topk_ind


def contrastive(x, element_logits, labels, is_back=False):
    if is_back:
        labels = torch.cat((labels, torch.ones_like(labels[:, [0]])), dim=-1)
    else:
        labels = torch.cat((labels, torch.zeros_like(labels[:, [0]])), dim=-1)
    sim_loss = 0.
    n_tmp = 0.
    _, n, c = element_logits.shape
    for i in range(0, 3 * 2, 2):
        atn1 = F.softmax(element_logits[i], dim=0)
        atn2 = F.softmax(element_logits[i + 1], dim=0)
        n1 = x.new_tensor([np.maximum(n - 1, 1)])
        n2 = x.new_tensor([np.maximum(n - 1, 1)])
        Hf1 = torch.mm(torch.transpose(x[i], 1, 0), atn1)
        Hf2 = torch.mm(torch.transpose(x[i + 1], 1, 0), atn2)
        Lf1 = torch.mm(torch.transpose(x[i], 1, 0), (1 - atn1) / n1)
        Lf2 = torch.mm(torch.transpose(x[i + 1], 1, 0), (1 - atn2) / n2)
        d1 = 1 - torch.sum(Hf1 * Hf2, dim=0) / (torch.norm(Hf1, 2, dim=0)
                                                 * torch.norm(Hf2, 2, dim=0))
        d2 = 1 - torch.sum(Hf1 * Lf2, dim=0) / (torch.norm(Hf1, 2, dim=0)
                                                 * torch.norm(Lf2, 2, dim=0))
        d3 = 1 - torch.sum(Hf2 * Lf1, dim=0) / (torch.norm(Hf2, 2, dim=0)
                                                 * torch.norm(Lf1, 2, dim=0))
        zero = x.new_tensor([0.])
        sim_loss = sim_loss + 0.5 * torch.sum(torch.max(d1 - d2 + 0.5, zero)
                                              * labels[i, :] * labels[i + 1, :])
        sim_loss = sim_loss + 0.5 * torch.sum(torch.max(d1 - d3 + 0.5, zero)
                                              * labels[i, :] * labels[i + 1, :])
        n_tmp = n_tmp + torch.sum(labels[i, :] * labels[i + 1, :])
    sim_loss = sim_loss / n_tmp
    return sim_loss


def criterion_terms(outputs, labels, opt):
    """Every named intermediate of ``CO2.criterion`` (for the term-by-term tests)."""
    feat, element_logits, element_atn = outputs["feat"], outputs["cas"], outputs["attn"]
    v_atn = outputs["v_atn"]
    f_atn = outputs["f_atn"]
    mutual_loss = 0.5 * F.mse_loss(v_atn, f_atn.detach()) + 0.5 * F.mse_loss(f_atn,
                                                                               v_atn.detach())
    element_logits_supp = multiply(element_logits, element_atn, include_min=True)
    loss_mil_orig, _ = topkloss(element_logits, labels, is_back=True, rat=opt.k, reduce=None)
    loss_mil_supp, _ = topkloss(element_logits_supp, labels, is_back=False, rat=opt.k,
                                reduce=None)
    loss_3_supp_contrastive = contrastive(feat, element_logits_supp, labels, is_back=False)
    loss_norm = element_atn.mean()
    loss_guide = (1 - element_atn - element_logits.softmax(-1)[..., [-1]]).abs().mean()
    v_loss_norm = v_atn.mean()
    v_loss_guide = (1 - v_atn - element_logits.softmax(-1)[..., [-1]]).abs().mean()
    f_loss_norm = f_atn.mean()
    f_loss_guide = (1 - f_atn - element_logits.softmax(-1)[..., [-1]]).abs().mean()
    return dict(mutual=mutual_loss, supp=element_logits_supp, mil_orig=loss_mil_orig,
                mil_supp=loss_mil_supp, coactivity=loss_3_supp_contrastive,
                norms=(loss_norm, v_loss_norm, f_loss_norm),
                guides=(loss_guide, v_loss_guide, f_loss_guide))


def criterion(outputs, labels, opt):
    """``CO2.criterion``: the total loss."""
    t = criterion_terms(outputs, labels, opt)
    loss_norm, v_loss_norm, f_loss_norm = t["norms"]
    loss_guide, v_loss_guide, f_loss_guide = t["guides"]
    total_loss = (t["mil_orig"].mean() + t["mil_supp"].mean()
                  + opt.alpha3 * t["coactivity"]
                  + opt.alpha4 * t["mutual"]
                  + opt.alpha1 * (loss_norm + v_loss_norm + f_loss_norm) / 3
                  + opt.alpha2 * (loss_guide + v_loss_guide + f_loss_guide) / 3)
    return total_loss


def ant_criterion(outputs, labels, opt):
    """``ANT_CO2.criterion``: the mutual term is added with no weight (--alpha4 ignored)."""
    t = criterion_terms(outputs, labels, opt)
    loss_norm, v_loss_norm, f_loss_norm = t["norms"]
    loss_guide, v_loss_guide, f_loss_guide = t["guides"]
    total_loss = (t["mil_orig"].mean() + t["mil_supp"].mean()
                  + opt.alpha3 * t["coactivity"] + t["mutual"]
                  + opt.alpha1 * (loss_norm + v_loss_norm + f_loss_norm) / 3
                  + opt.alpha2 * (loss_guide + v_loss_guide + f_loss_guide) / 3)
    return total_loss
