"""The fixed list of mutants that ``benchmarks/mutation.py`` runs: realistic one-line mistakes in
the modules that produce numbers.

Each mutant is data: the file, an exact snippet of it (unique in that file), its replacement, what
the mistake means, and the expectation: ``KILL`` ("kills expected") or ``"equivalent: <why>"`` for
a change that cannot alter any number. A snippet that no longer occurs is reported as stale, so
after a refactor the list says which entries to update.
"""
from __future__ import annotations

from dataclasses import dataclass

KILL = "kills expected"


@dataclass(frozen=True)
class Mutant:
    """One single-site change: ``original`` (exact, unique in ``file``) becomes ``replacement``."""

    id: str
    file: str
    original: str
    replacement: str
    description: str
    expect: str = KILL

    @property
    def equivalent(self) -> bool:
        return self.expect.startswith("equivalent")


M = Mutant

MUTANTS: tuple[Mutant, ...] = (
    # ---------------------------------------------------------------- dataset hyper-parameters
    M("cfg-thumos-lr", "config/thumos.py", '"lr": 1e-4,', '"lr": 1e-3,', "THUMOS lr x10"),
    M("cfg-anet-lr", "config/activitynet.py", '"lr": 1e-4,', '"lr": 1e-3,', "ActivityNet lr x10"),
    M("cfg-anet-weight-decay", "config/activitynet.py", '"weight_decay": 1e-3,',
      '"weight_decay": 5e-5,', "ActivityNet weight decay set to THUMOS's"),
    M("cfg-anet-con-topk", "config/activitynet.py", '"con_topk_seg": 10,', '"con_topk_seg": 3,',
      "ActivityNet context top-k 10 -> 3"),
    M("cfg-anet-sample-segments", "config/activitynet.py", '"sample_segments_num": 75,',
      '"sample_segments_num": 100,', "ActivityNet samples 100 snippets instead of 75"),
    M("cfg-thumos-select-metric", "config/thumos.py", '"select_metric": "0.1:0.7",',
      '"select_metric": "0.1:0.9",', "THUMOS selects on 0.1:0.9 instead of FTCL's 0.1:0.7"),
    M("cfg-thumos-lamb-3", "config/thumos.py", '"loss_lamb_3": 2e-4,', '"loss_lamb_3": 2e-3,',
      "THUMOS sparse-attention weight x10"),
    M("cfg-anet-oic-gamma", "config/activitynet.py", '"oic_gamma_att": 0.25,',
      '"oic_gamma_att": 0.2,', "ActivityNet attention-branch OIC gamma 0.25 -> 0.2"),

    # ---------------------------------------------------------------- test loop
    M("loop-att-channel", "engine/evaluator.py", "localize_video(video_scores, cas, att[:, 0],",
      "localize_video(video_scores, cas, att[:, 1],",
      "localize with the context attention channel instead of the instance one"),
    M("loop-raw-cas", "engine/evaluator.py", "cas = out.inst_cas[0, :, :-1].cpu().numpy()",
      "cas = out.cas[0, :, :-1].cpu().numpy()",
      "localize on the raw CAS instead of the instance CAS"),
    M("loop-video-scores", "engine/evaluator.py",
      "video_scores = out.inst_cls[0, :-1].cpu().numpy()",
      "video_scores = out.cont_cls[0, :-1].cpu().numpy()",
      "select classes on the context branch's video scores"),
    M("train-acc-strict", "engine/steps.py", "pred = video_scores[:, :-1] >= threshold",
      "pred = video_scores[:, :-1] > threshold", "train accuracy counts score >= thr as wrong"),
    M("train-acc-pair-either", "engine/steps.py", "ok = ok & correct(out, label, threshold)",
      "ok = ok | correct(out, label, threshold)",
      "a pair counts as right when either video is (original: both)"),

    # ---------------------------------------------------------------- training step
    M("zero-grad-none", "engine/steps.py", "optimizer.zero_grad(set_to_none=False)",
      "optimizer.zero_grad(set_to_none=True)",
      "gradients set to None: a parameter without a gradient in a step stops moving under Adam"),

    # ---------------------------------------------------------------- evaluation cadence
    M("cadence-test-every", "engine/trainer.py", "and epoch % cfg.eval.test_every == 0)",
      "and (epoch + 1) % cfg.eval.test_every == 0)",
      "--test_every counted from epoch 1 (ActivityNet tests odd epochs instead of even ones)"),
    M("cadence-start-epoch", "engine/trainer.py",
      "return (not cfg.eval.eval_every_steps and epoch >= cfg.eval.start_test_epoch",
      "return (not cfg.eval.eval_every_steps and epoch > cfg.eval.start_test_epoch",
      "--start_test_epoch itself not evaluated"),
    M("cadence-step-from-zero", "engine/trainer.py",
      "and epoch >= cfg.eval.start_test_epoch and step % every == 0",
      "and epoch >= cfg.eval.start_test_epoch and (step - 1) % every == 0",
      "--eval_every_steps evaluates after steps 1, N+1, ... instead of N, 2N, ..."),

    # ---------------------------------------------------------------- resume and selection
    M("resume-criterion-rng", "engine/checkpoints.py",
      'criterion.load_state_dict(ckpt["criterion"])', "pass",
      "resume does not restore the in-batch negative-sampling RNG"),
    M("resume-best-reset", "engine/checkpoints.py",
      'best_metric=ckpt["best_metric"],\n                       best_epoch=ckpt["best_epoch"]',
      'best_metric=float("-inf"),\n                       best_epoch=-1',
      "resume forgets the best metric and its epoch"),
    M("resume-zero-grads-skipped", "engine/checkpoints.py", "    _restore_zero_grads(optimizer)\n",
      "", "resume leaves gradients None: parameters without a new gradient stop moving"),
    M("resume-zero-grads-all", "engine/checkpoints.py",
      "if optimizer.state.get(param) and param.grad is None:", "if param.grad is None:",
      "resume gives a zero gradient also to parameters that never had one (Adam moves them)"),
    M("best-on-tie", "engine/selection.py", "if value > best:", "if value >= best:",
      "a tie with the best metric moves the best checkpoint to the later epoch"),

    # ---------------------------------------------------------------- optimizer
    M("adam-betas", "config/schema.py", '"Adam betas", [0.9, 0.999]', '"Adam betas", [0.9, 0.99]',
      "Adam beta2 0.999 -> 0.99"),
    M("adam-as-adamw", "engine/build.py",
      "return torch.optim.Adam(params, lr=optimizer.lr, betas=betas,",
      "return torch.optim.AdamW(params, lr=optimizer.lr, betas=betas,",
      "Adam built as AdamW (decoupled weight decay instead of the original's L2 in the gradient)"),

    # ---------------------------------------------------------------- criterion and terms
    M("criterion-eval-ftcl", "losses/criterion.py",
      "return self._run([(t, w) for t, w in self.terms if t.eval_too], outputs, batch)",
      "return self._run(self.terms, outputs, batch)",
      "the evaluation call adds the in-batch FTCL terms and consumes the pair RNG"),
    M("cls-eps-stage-swap", "losses/terms.py",
      'loss.pair_stage_cls_eps if stage == "pair" else loss.acm_stage_cls_eps',
      'loss.acm_stage_cls_eps if stage == "pair" else loss.pair_stage_cls_eps',
      "each stage gets the other stage's cls epsilon"),
    M("cls-eps-zero-ignored", "losses/terms.py", "if loss.cls_eps is not None:",
      "if loss.cls_eps:", "--cls_eps 0 ignored (falls back to the stage's epsilon)"),
    M("pair-cls-weights", "losses/terms.py",
      'weights = loss.pair_cls_loss_weights if stage == "pair" else loss.cls_loss_weights',
      "weights = loss.cls_loss_weights",
      "the pair stage uses the ACM-stage cls weights (ActivityNet: 5, 1, 1 instead of 1, 1, 1)"),

    # ---------------------------------------------------------------- pairs
    M("pairs-snippets-not-redrawn", "dataset/pairs.py", "self.draw_epoch, index)", "0, index)",
      "--resample_pairs redraws the pairs but not the snippet samples"),
    M("pairs-always-resample", "dataset/pairs.py",
      "if self.resample_each_epoch and epoch != self.draw_epoch:",
      "if epoch != self.draw_epoch:", "pairs are redrawn every epoch even without the flag"),
    M("pairs-epoch0-rng", "dataset/pairs.py",
      "random.Random(seed if epoch == 0 else (int(seed) << 32) + int(epoch))",
      "random.Random((int(seed) << 32) + int(epoch))",
      "epoch 0 negatives are not drawn by random.Random(seed) as the original"),
    M("pairs-zero-rows", "dataset/pairs.py",
      "labels = np.concatenate([labels, ~labels.any(axis=1, keepdims=True)], axis=1)",
      "labels = labels", "two all-zero label rows are no longer a positive pair"),
    M("pairs-order", "dataset/pairs.py",
      "pairs = np.concatenate([negatives, positives])",
      "pairs = np.concatenate([positives, negatives])",
      "positives listed first (is_positive no longer matches the rows)"),
    M("pairs-side-swap", "dataset/pairs.py",
      "negatives = np.stack([row, row + 1 + offset + skipped], axis=1)",
      "negatives = np.stack([row + 1 + offset + skipped, row], axis=1)",
      "negative pairs put the higher index on side 0 (FSD compares side 0's actions)"),

    # ---------------------------------------------------------------- sampling
    M("samp-bin-exclusive", "dataset/sampling.py",
      "rng.integers(0, bounds[1:] - bounds[:-1] + 1)", "rng.integers(0, bounds[1:] - bounds[:-1])",
      "bin upper bound exclusive (the original's is inclusive)"),
    M("samp-last-range", "dataset/sampling.py",
      "picks[-1] = previous + rng.integers(0, length - previous)",
      "picks[-1] = previous + rng.integers(0, length - previous - 1)",
      "the last pick never reaches the last snippet"),
    M("samp-short-unsorted", "dataset/sampling.py",
      "return np.sort(rng.integers(0, length, size=num))",
      "return rng.integers(0, length, size=num)", "short videos: draws with replacement unsorted"),
    M("samp-uniform-order", "dataset/sampling.py",
      "np.floor(np.arange(num) * (length / num))", "np.floor(np.arange(num) * length / num)",
      "uniform sampling multiplies before dividing (other floats at bin edges)"),
    M("samp-uniform-short", "dataset/sampling.py", "if 1 < length <= num:", "if 1 < length < num:",
      "length == num goes through the floor branch",
      "equivalent: with length == num the floor branch gives floor(k * 1.0) = k, the identity"),

    # ---------------------------------------------------------------- ACM loss
    M("acm-inst-target", "losses/acm.py", "targets = (torch.cat([labels, zeros], dim=1),",
      "targets = (torch.cat([labels, ones], dim=1),",
      "instance target [y, 1] instead of [y, 0]"),
    M("acm-target-unnormalised", "losses/acm.py",
      "return tuple(t / t.sum(dim=1, keepdim=True) for t in targets)",
      "return tuple(t for t in targets)", "targets not divided by their sums"),
    M("acm-ce-sum", "losses/acm.py",
      "return -torch.mean(torch.sum(torch.log(probs + eps) * target, dim=1))",
      "return -torch.sum(torch.sum(torch.log(probs + eps) * target, dim=1))",
      "cross-entropy summed over the batch instead of averaged"),
    M("acm-guide-grad", "losses/acm.py", "- att[:, :, 0].detach()), dim=1)",
      "- att[:, :, 0]), dim=1)", "guide loss back-propagates into the attention"),
    M("acm-guide-channel", "losses/acm.py", "- att[:, :, 0].detach()), dim=1)",
      "- att[:, :, 2].detach()), dim=1)", "guide loss uses the background attention channel"),
    M("acm-margin", "losses/acm.py", "FEAT_MARGIN = 50.0", "FEAT_MARGIN = 5.0",
      "feature-norm margin 50 -> 5"),
    M("acm-second-hinge", "losses/acm.py", "second = (margin - n_cont + n_back).clamp_min(0)",
      "second = (margin - n_cont - n_back).clamp_min(0)", "second hinge subtracts |f_back|"),
    M("acm-sparse-channels", "losses/acm.py", "torch.sum(att[:, :, :2], dim=1).mean()",
      "torch.sum(att[:, :, :1], dim=1).mean()", "sparse loss on the instance channel only"),
    M("acm-cls-weight", "losses/acm.py", "cls = w_inst * inst + w_cont * cont + w_back * back",
      "cls = w_inst * inst + w_inst * cont + w_back * back",
      "context term weighted with the instance weight"),
    M("acm-lambda-swap", "losses/acm.py", "(l1 * guide + l2 * feat + l3 * sparse)",
      "(l1 * guide + l3 * feat + l2 * sparse)", "feature and sparse weights swapped"),

    # ---------------------------------------------------------------- FTCL contrasts
    M("ftcl-fsd-gap-half", "losses/ftcl.py",
      "gap = cosine_table(cand0[..., half:], cand1[..., half:])",
      "gap = cosine_table(cand0[..., :half], cand1[..., :half])",
      "FSD gap table from the first halves (the match halves)"),
    M("ftcl-fsd-gamma", "losses/ftcl.py", "FSD_GAMMA = 0.1", "FSD_GAMMA = 0.01",
      "FSD smooth-max gamma 0.1 -> 0.01"),
    M("ftcl-inbatch-positive", "losses/ftcl.py", "upper & (shared == 1) & equal",
      "upper & (shared >= 1) & equal",
      "in-batch: identical multi-label rows become positives"),
    M("ftcl-inbatch-unsampled", "losses/ftcl.py",
      "keep = rng.sample(range(len(neg)), min(len(neg), len(pos)))",
      "keep = list(range(min(len(neg), len(pos))))",
      "in-batch: the first negatives instead of a random sample"),
    M("ftcl-inbatch-sign", "losses/ftcl.py",
      "return _mean_or_zero(scores[num_pos:]) - scores[:num_pos].mean()",
      "return scores[:num_pos].mean() - _mean_or_zero(scores[num_pos:])",
      "in-batch contrast sign flipped"),
    M("ftcl-inbatch-fsd-bak", "losses/ftcl.py", "out.fsd_bak[neg[:, 1]]",
      "out.fsd_act[neg[:, 1]]", "in-batch FSD negatives compare actions with actions"),
    M("ftcl-pair-positive", "losses/ftcl.py", "positive = (labels0 * labels1).sum(dim=1) > 0",
      "positive = (labels0 * labels1).sum(dim=1) >= 1", "pair positive when >= 1 shared class",
      "equivalent: labels are 0/1, so the product sum is a whole number; > 0 is >= 1"),
    M("ftcl-pair-eps", "losses/ftcl.py", "_PAIR_EPS = 1e-10", "_PAIR_EPS = 1e-6",
      "pair contrast denominator epsilon 1e-10 -> 1e-6"),
    M("ftcl-pair-fsd-bak", "losses/ftcl.py",
      "torch.where(positive[:, None, None], out1.fsd_act, out1.fsd_bak)",
      "torch.where(positive[:, None, None], out1.fsd_bak, out1.fsd_act)",
      "pair FSD: positives against side 1's background, negatives against its actions"),
    M("sim-scaled", "losses/similarity.py", "torch.clamp_min(cos - 0.8, 0.0) * 5",
      "torch.clamp_min(cos - 0.8, 0.0) * 4", "in-batch LCS rescaling x5 -> x4"),

    # ---------------------------------------------------------------- DP
    M("dp-lcs-gate", "losses/dp.py", "(gate,) = _to_diag(sim[None] > threshold, grid)",
      "(gate,) = _to_diag(sim[None] >= threshold, grid)",
      "LCS: a similarity equal to the threshold matches (original: strictly above)"),
    M("dp-lcs-tie", "losses/dp.py", "w_l = (c_l > c_u).to(c.dtype)",
      "w_l = (c_l >= c_u).to(c.dtype)", "LCS backward: ties go to the left cell (original: up)"),
    M("dp-lcs-unmatched-grad", "losses/dp.py", "return (e * keep).permute(2, 0, 1), None, None, None",
      "return e.permute(2, 0, 1), None, None, None",
      "LCS backward: gradient also reaches unmatched cells"),
    M("dp-fsd-gap-sign", "losses/dp.py", "side += g_hi[s]", "side -= g_hi[s]",
      "FSD: gap scores subtracted"),
    M("dp-fsd-tie", "losses/dp.py", "first = z[0] >= z[1:].amax(0)", "first = z[0] > z[1:].amax(0)",
      "hard FSD backward: a tie no longer goes to the diagonal"),
    M("dp-grid", "losses/dp.py", "inside = (i >= 1) & (j >= 1) & (j <= l2)",
      "inside = (i >= 1) & (j >= 1) & (j < l2)", "the last column of the table left out"),
    M("dp-smooth-max", "losses/dp.py", "return gamma * torch.logsumexp(x / gamma, dim)",
      "return torch.logsumexp(x / gamma, dim)", "smooth max not scaled back by gamma"),

    # ---------------------------------------------------------------- proposals
    M("prop-mask-strict", "eval/proposals.py", "signal[None] >= thr, (len(thresholds)",
      "signal[None] > thr, (len(thresholds)",
      "proposal mask > thr (original: >=), CAS and attention"),
    M("prop-cut", "eval/proposals.py", "cut = np.where(signal[None] < thr, 0.0, signal[None])",
      "cut = np.where(signal[None] <= thr, 0.0, signal[None])",
      "values equal to the threshold zeroed in the scoring sequence"),
    M("prop-run-length", "eval/proposals.py", "long = last > first", "long = last >= first",
      "runs of one up-sampled point kept"),
    M("prop-select", "eval/proposals.py", "np.flatnonzero(video_scores > threshold)",
      "np.flatnonzero(video_scores >= threshold)", "class selected at score == cls_threshold"),
    M("prop-outer-end", "eval/proposals.py",
      "outer_e = np.minimum(n - 1, (last + lam * length).astype(np.int64))",
      "outer_e = np.minimum(n, (last + lam * length).astype(np.int64))",
      "outer window may run one past the end of the sequence"),
    M("prop-outer-floor", "eval/proposals.py",
      "outer_s = np.maximum(0, (first - lam * length).astype(np.int64))",
      "outer_s = np.maximum(0, np.floor(first - lam * length).astype(np.int64))",
      "outer start floored instead of truncated",
      "equivalent: floor and truncation differ only below 0, where np.maximum(0, .) gives 0"),
    M("prop-nms-iou", "eval/proposals.py", "over = ~(inter / (areas[a] + areas[b] - inter) < thresh)",
      "over = ~(inter / (areas[a] + areas[b] - inter) <= thresh)",
      "NMS keeps a candidate whose IoU equals the threshold"),
    M("prop-nms-reach", "eval/proposals.py", "reach = x2[by_start] + one", "reach = x2[by_start]",
      "NMS ignores pairs that overlap only through the +1"),
    M("prop-nms-zero", "eval/proposals.py", "if order.size == 0 or thresh <= 0.0:",
      "if order.size == 0 or thresh < 0.0:", "NMS threshold 0 no longer keeps only the best"),
    M("prop-segment-end", "eval/proposals.py", "(last + 1) * t_factor], axis=1)",
      "last * t_factor], axis=1)", "segments end at the last index instead of one past it"),
    M("prop-complement", "eval/proposals.py", "return round(1.0 - weight, 12)",
      "return 1.0 - weight", "attention weight 0.30000000000000004 instead of the literal 0.3"),
    M("prop-upsample-clip", "eval/proposals.py", ".clip(1, length - 1)", ".clip(0, length - 1)",
      "up-sampling interpolates from index -1 at the first point"),
    M("prop-gamma", "eval/proposals.py",
      "contrast + np.concatenate(gammas) * video_scores[cls], first, last",
      "contrast, first, last", "OIC gamma * video score dropped"),
    M("prop-clip-inside", "eval/proposals.py", "inside = segments[:, 1] > segments[:, 0]",
      "inside = segments[:, 1] >= segments[:, 0]",
      "--clip_to_duration keeps segments clipped to zero length"),

    # ---------------------------------------------------------------- detection mAP
    M("det-tiou-equal", "eval/detection.py", "np.logical_and.accumulate(~(ious[None] < thr), axis=2)",
      "np.logical_and.accumulate(~(ious[None] <= thr), axis=2)",
      "a tIoU equal to the threshold is no longer a match"),
    M("det-union", "eval/detection.py",
      "union = (gt[..., 1] - gt[..., 0]) + (pred[..., 1] - pred[..., 0]) - inter",
      "union = (gt[..., 1] - gt[..., 0]) + (pred[..., 1] - pred[..., 0]) + inter",
      "tIoU union adds the intersection"),
    M("det-envelope", "eval/detection.py", "mprec = np.maximum.accumulate(mprec[::-1])[::-1]",
      "mprec = mprec", "AP without the monotone precision envelope"),
    M("det-recall-pad", "eval/detection.py", "mrec = np.concatenate([[0.0], recall, [1.0]])",
      "mrec = np.concatenate([[0.0], recall, recall[-1:]])", "recall padded with its last value",
      "equivalent: the padded precision is 0, so the last recall step adds 0 either way"),
    M("det-tie-order", "eval/detection.py", "idx[np.argsort(score[idx])[::-1]]",
      "idx[np.argsort(-score[idx], kind=\"stable\")]",
      "equal scores keep file order (the toolkit reverses them)"),
    M("det-named-range", "eval/detection.py", '"0.1:0.7": (0.1, 0.7, 0.1),',
      '"0.1:0.7": (0.1, 0.6, 0.1),', "the 0.1:0.7 average stops at 0.6"),
    M("det-stops", "eval/detection.py", "stops = np.flatnonzero(iou_flat < np.min(tiou))",
      "stops = np.flatnonzero(iou_flat <= np.min(tiou))",
      "candidates at exactly the smallest threshold dropped up front"),
)

# Test files that most likely kill a mutant of each file: run first, before the whole selection.
FIRST_TESTS: dict[str, tuple[str, ...]] = {
    "config/thumos.py": ("tests/test_config_pins.py",),
    "config/activitynet.py": ("tests/test_config_pins.py",),
    "dataset/pairs.py": ("tests/test_pairs.py", "tests/test_pair_resampling.py"),
    "dataset/sampling.py": ("tests/test_sampling.py",),
    "losses/acm.py": ("tests/test_losses.py",),
    "losses/ftcl.py": ("tests/test_losses.py",),
    "losses/similarity.py": ("tests/test_losses.py",),
    "losses/dp.py": ("tests/test_dp.py",),
    "losses/criterion.py": ("tests/test_losses.py",),
    "losses/terms.py": ("tests/test_losses.py",),
    "config/schema.py": ("tests/test_config_pins.py", "tests/test_engine_pins.py"),
    "engine/evaluator.py": ("tests/test_engine.py",),
    "engine/steps.py": ("tests/test_training.py", "tests/test_engine.py",
                        "tests/test_engine_pins.py"),
    "engine/trainer.py": ("tests/test_engine.py",),
    "engine/checkpoints.py": ("tests/test_resume.py", "tests/test_engine_pins.py"),
    "engine/selection.py": ("tests/test_selection.py",),
    "engine/build.py": ("tests/test_engine_pins.py",),
    "eval/proposals.py": ("tests/test_proposals.py", "tests/test_proposal_boundaries.py"),
    "eval/detection.py": ("tests/test_detection.py",),
}
