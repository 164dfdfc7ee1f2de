"""Configs saved before each method had a section of its own (every method's settings in the
sections of their role, ``config.json`` of earlier versions and their checkpoints) load to the
same run config, and ``--test`` takes the same settings from them."""
from __future__ import annotations

import copy

import pytest

from config import parse_config
from config.run_config import RunConfig
from config.schema import all_settings, own_settings


def legacy(saved: dict) -> dict:
    """``saved`` in the earlier layout: the method's section folded into the role sections, and
    another method's settings beside them (earlier configs held every method's)."""
    out = copy.deepcopy(saved)
    method = out["run"]["method"]
    for key, value in out.pop(method).items():
        out[own_settings(method)[key].section][key] = value
    other = "ftcl" if method == "aicl" else "aicl"
    for key, setting in own_settings(other).items():
        out[setting.section][key] = "a value of another method"
    return out


@pytest.mark.parametrize("argv", [[], ["--method", "aicl"], ["--ftcl", "--fc_dim", "64"]])
def test_earlier_layout_loads_to_the_same_config(argv):
    cfg = parse_config("THUMOS", argv)
    saved = cfg.to_dict()
    method = cfg.run.method
    assert set(saved[method]) == set(own_settings(method))
    assert not set(own_settings(method)) & {k for s in ("model", "loss", "postprocess", "data")
                                            for k in saved[s]}
    assert RunConfig.from_dict(saved).flat() == cfg.flat()
    assert RunConfig.from_dict(legacy(saved)).flat() == cfg.flat()


def test_test_takes_the_model_and_postprocess_settings_from_either_layout():
    trained = parse_config("THUMOS", ["--fc_dim", "64", "--nms_thresh", "0.5", "--oic_mix", "0.4"])
    for saved in (trained.to_dict(), legacy(trained.to_dict())):
        cfg = parse_config("THUMOS", ["--nms_thresh", "0.6"])     # a flag still wins
        changed = cfg.override_from(saved, ("model", "postprocess"))
        assert cfg.model.fc_dim == 64 and cfg.postprocess.oic_mix == 0.4
        assert cfg.postprocess.nms_thresh == 0.6
        assert set(changed) == {"fc_dim", "oic_mix"}
        assert all(key in all_settings() for key in changed)
