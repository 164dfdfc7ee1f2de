"""Recipe files (``configs/*.yaml``, ``--config``, ``--print_config``; docs/recipes.md).

Every shipped file resolves without data; the published recipes and the quickstarts equal the
command lines of README.md (written below as literals); the layers resolve as schema -> dataset
-> method -> quickstart -> file -> flags; a bad file stops with one line naming the file and the
key; ``--print_config`` touches no folder and its output is itself a recipe file.
"""
from __future__ import annotations

import os
import shlex
import subprocess
import sys

import pytest

from config import parse_args, parse_config
from config.recipes import SCRIPTS, load_recipe, read_recipe
from config.schema import SECTIONS
from tests.helpers import REPO_ROOT

CONFIGS = REPO_ROOT / "configs"
FILES = sorted(p.name for p in CONFIGS.glob("*.yaml"))

# The command lines of README.md ("Methods", "Training and testing", "Quickstart"; the stage-2
# quickstart from docs/README.md without its --save_outputs and the --epochs 30
# --start_test_epoch 0 that --synthetic --ftcl already sets), copied as they are written there.
README_COMMANDS = {
    "thumos_ftcl_stage1.yaml":
        "main_thu.py --data_dir data/THUMOS14 --epochs 500 --model_name acm",
    "thumos_ftcl_stage2.yaml":
        "main_thu.py --data_dir data/THUMOS14 --ftcl --epochs 25 --model_name ftcl "
        "--checkpoint runs/THUMOS/default/acm/THUMOS_best.pth",
    "thumos_acmnet.yaml": "main_thu.py --without_lcs --without_fsd",
    "thumos_aicl.yaml": "main_thu.py --method aicl --data_dir data/THUMOS14 --model_name aicl",
    "thumos_co2net.yaml":
        "main_thu.py --method co2net --data_dir data/THUMOS14 --model_name co2",
    "thumos_stcl.yaml": "main_thu.py --method stcl --data_dir data/THUMOS14 --model_name stcl",
    "activitynet_acmnet.yaml":
        "main_act.py --data_dir data/ActivityNet13 --batch_size 64 --model_name acm",
    "activitynet_ftcl_stage2.yaml":
        "main_act.py --data_dir data/ActivityNet13 --batch_size 64 --ftcl --epochs 25 "
        "--model_name ftcl --checkpoint runs/ActivityNet/default/acm/ActivityNet_best.pth",
    "thumos_ftcl_synthetic.yaml": "main_thu.py --synthetic",
    "thumos_ftcl_stage2_synthetic.yaml":
        "main_thu.py --synthetic --ftcl --model_name ftcl "
        "--checkpoint runs/THUMOS/default/default/THUMOS_best.pth",
    "activitynet_synthetic.yaml": "main_act.py --synthetic",
    "thumos_aicl_synthetic.yaml": "main_thu.py --method aicl --synthetic",
}
DATASET_OF = {script: dataset for dataset, script in SCRIPTS.items()}


def dataset_of(name: str) -> str:
    return read_recipe(CONFIGS / name)["dataset"]


def print_config(dataset: str, argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as stop:
        parse_config(dataset, [*argv, "--print_config"])
    assert stop.value.code == 0
    return capsys.readouterr().out


def test_every_shipped_file_is_listed_here_and_in_the_docs():
    assert FILES == sorted(README_COMMANDS)
    docs = (REPO_ROOT / "docs" / "recipes.md").read_text()
    for name in FILES:
        assert f"configs/{name}" in docs, name
    assert "(docs/recipes.md)" in (REPO_ROOT / "README.md").read_text()


@pytest.mark.parametrize("name", FILES)
def test_file_says_what_where_from_and_how_to_run(name):
    text = (CONFIGS / name).read_text()
    header = text.split("\n\n")[0]
    script = SCRIPTS[dataset_of(name)]
    assert header.startswith("# ")
    assert "Source:" in text
    assert f"Run:    python {script} --config configs/{name}" in text
    raw = read_recipe(CONFIGS / name)
    assert raw["dataset"] in SCRIPTS and raw["method"] in ("ftcl", "aicl", "co2net", "stcl")


@pytest.mark.parametrize("name", FILES)
def test_file_resolves_with_print_config(name, capsys):
    dataset = dataset_of(name)
    out = print_config(dataset, ["--config", str(CONFIGS / name)], capsys)
    for section in SECTIONS:
        assert f"\n{section}:" in out
    assert f"recipe file {CONFIGS / name}" in out
    for key in load_recipe(CONFIGS / name, dataset):
        assert any(line.strip().startswith(f"{key}:") and line.endswith("# file")
                   for line in out.splitlines()), key


@pytest.mark.parametrize("name", FILES)
def test_file_equals_the_readme_command(name):
    script, *flags = shlex.split(README_COMMANDS[name])
    dataset = DATASET_OF[script]
    assert dataset == dataset_of(name)
    from_file = parse_config(dataset, ["--config", str(CONFIGS / name)]).flat()
    from_flags = parse_config(dataset, flags).flat()
    assert from_file == from_flags


def test_print_config_output_is_a_recipe_file_of_the_same_settings(tmp_path, capsys):
    name = CONFIGS / "thumos_aicl_synthetic.yaml"
    out = print_config("THUMOS", ["--config", str(name), "--seed", "3"], capsys)
    assert "  seed: 3" in out and "\naicl:  # aicl's own settings" in out   # the method's own block
    again = tmp_path / "printed.yaml"
    again.write_text(out)
    assert parse_config("THUMOS", ["--config", str(again)]).flat() == \
        parse_config("THUMOS", ["--config", str(name), "--seed", "3"]).flat()


def test_print_config_marks_each_layer(tmp_path, capsys):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("epochs: 7\nlr: 3e-4\n")
    out = print_config("THUMOS", ["--config", str(recipe), "--synthetic", "--lr", "1e-3"],
                       capsys)
    lines = {line.split(":")[0].strip(): line for line in out.splitlines()
             if line.startswith("  ")}
    assert lines["seed"].endswith("# schema")
    assert lines["dropout"].endswith("# dataset")
    assert lines["thres"].endswith("# method")
    assert "embed_dim" not in lines               # AICL's own setting: not in an FTCL run
    assert lines["start_test_epoch"].endswith("# quickstart")
    assert lines["epochs"].endswith("# file") and "epochs: 7 " in lines["epochs"]
    assert lines["lr"].endswith("# flag") and "lr: 0.001 " in lines["lr"]
    assert lines["synthetic"].endswith("# flag")


def test_flag_wins_over_the_file():
    name = str(CONFIGS / "thumos_ftcl_stage1.yaml")
    cfg = parse_config("THUMOS", ["--config", name, "--epochs", "7", "--model_name", "x"])
    assert cfg.train.epochs == 7 and cfg.run.model_name == "x"
    assert cfg.data.data_dir == "data/THUMOS14"          # the file's, not overridden
    assert parse_config("THUMOS", ["--config", name, "--method", "aicl"]).run.seed == 1
    cfg = parse_config("THUMOS", ["--config", str(CONFIGS / "thumos_aicl.yaml"),
                                  "--method", "ftcl"])
    assert cfg.run.method == "ftcl" and cfg.train.epochs == 25 and cfg.run.seed == 0


def test_file_wins_over_schema_dataset_method_and_quickstart_defaults(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("dataset: THUMOS\n"
                      "seed: 5               # schema default 0\n"
                      "lr: 3e-4              # THUMOS default 1e-4 (a YAML 1.1 string in PyYAML)\n"
                      "thres: 0.5            # FTCL's default 0.92\n"
                      "cls_loss_weights: [2, 1, 1]\n"
                      "synthetic: true\n"
                      "epochs: 9             # the quickstart's 150\n")
    cfg = parse_config("THUMOS", ["--config", str(recipe)])
    assert cfg.run.seed == 5 and cfg.optimizer.lr == 3e-4 and cfg.loss.thres == 0.5
    assert cfg.loss.cls_loss_weights == [2.0, 1.0, 1.0]
    assert all(type(w) is float for w in cfg.loss.cls_loss_weights)
    assert cfg.train.epochs == 9 and cfg.eval.start_test_epoch == 145   # rest: the quickstart
    assert {"seed", "lr", "thres", "epochs"} <= cfg.given     # a file is a saved command line
    aicl = tmp_path / "aicl.yaml"
    aicl.write_text("method: aicl\nweight_decay: 1e-3\n")
    cfg = parse_config("THUMOS", ["--config", str(aicl)])
    assert cfg.run.method == "aicl" and cfg.optimizer.weight_decay == 1e-3
    assert cfg.train.epochs == 900                 # the rest: AICL's defaults


def test_a_sectioned_file_as_print_config_writes_it(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("optimizer:\n  optimizer: sgd\n  lr: 0.01\ntrain:\n  epochs: 3\n")
    cfg = parse_config("ActivityNet", ["--config", str(recipe)])
    assert (cfg.optimizer.optimizer, cfg.optimizer.lr, cfg.train.epochs) == ("sgd", 0.01, 3)


BAD_FILES = [
    ("unknown.yaml", "lrr: 1e-4\n", "lrr: unknown setting (did you mean lr?)"),
    ("other_dataset.yaml", "dataset: ActivityNet\nepochs: 3\n",
     "dataset: ActivityNet: a recipe for main_act.py, not main_thu.py"),
    ("range.yaml", "lr: 0\n", "lr: must be > 0"),
    ("choice.yaml", "gt_videos: all\n", "gt_videos: must be one of subset, split"),
    ("type.yaml", "epochs: ten\n", "epochs: expected an integer, got 'ten'"),
    ("float_for_int.yaml", "batch_size: 16.5\n", "batch_size: expected an integer"),
    ("bool.yaml", "ftcl: 1\n", "ftcl: expected true or false, got 1"),
    ("list.yaml", "cas_thresholds: 0.1\n", "cas_thresholds: expected a list"),
    ("null.yaml", "epochs: null\n", "epochs: null is not allowed"),
    ("device.yaml", "device: gpu\n", "device: 'gpu': expected cpu, cuda or cuda:N"),
    ("method.yaml", "method: nope\n", "method: 'nope': unknown"),
    ("class_names.yaml", "class_names: [a]\n", "class_names: fixed by the dataset"),
    ("twice.yaml", "lr: 1e-4\nlr: 2e-4\n", "lr: given twice (line 2)"),
    ("section.yaml", "loss:\n  lr: 1\n", "loss: lr: belongs in section optimizer"),
    ("syntax.yaml", "lr: [1\n", "not valid YAML at line 2"),
    ("list_top.yaml", "- lr\n", "expected 'key: value' lines"),
]


@pytest.mark.parametrize("name,text,problem", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_file_stops_with_one_line_naming_file_and_key(tmp_path, capsys, name, text,
                                                          problem):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SystemExit) as stop:
        parse_config("THUMOS", ["--config", str(path), "--print_config"])
    assert stop.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"error: {path}: {problem}" + captured.err.split(problem, 1)[1]
    assert captured.err.count("\n") == 1


def test_missing_file_and_a_method_without_the_dataset(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        parse_args("THUMOS", ["--config", str(tmp_path / "nope.yaml")])
    assert stop.value.code == 1
    assert capsys.readouterr().err == f"error: {tmp_path / 'nope.yaml'}: no such file\n"
    with pytest.raises(SystemExit):
        parse_args("ActivityNet", ["--config", str(CONFIGS / "thumos_aicl.yaml")])
    err = capsys.readouterr().err
    assert err.startswith(f"error: {CONFIGS / 'thumos_aicl.yaml'}: dataset: THUMOS: a recipe "
                          "for main_thu.py") and err.count("\n") == 1


def test_synthetic_flag_works_as_before():
    cfg = parse_config("THUMOS", ["--synthetic"])
    assert (cfg.train.epochs, cfg.eval.start_test_epoch, cfg.data.feature_dim) == (150, 145, 256)
    assert cfg.run.eval_untrained and cfg.run.without_wandb
    assert cfg.data.data_dir == "data/synthetic_thumos" and cfg.given == {"synthetic"}
    stage2 = parse_config("THUMOS", ["--synthetic", "--ftcl", "--epochs", "4"])
    assert (stage2.train.epochs, stage2.eval.start_test_epoch) == (4, 0)
    assert parse_config("THUMOS", ["--synthetic", "--wandb"]).run.without_wandb is False


def test_print_config_touches_no_folder(tmp_path, monkeypatch, capsys):
    import engine.run as run

    def refuse(*_args, **_kwargs):
        raise AssertionError("--print_config went past the parse")

    monkeypatch.setattr(run, "open_run_folder", refuse)
    monkeypatch.setattr(run, "prepare_synthetic", refuse)
    monkeypatch.chdir(tmp_path)
    for name in ("thumos_ftcl_stage1.yaml", "thumos_ftcl_synthetic.yaml"):
        with pytest.raises(SystemExit) as stop:
            run.main("THUMOS", ["--config", str(CONFIGS / name), "--print_config"])
        assert stop.value.code == 0
    assert "epochs: 150" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


def test_the_script_prints_and_exits_zero_in_an_empty_folder(tmp_path):
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, str(REPO_ROOT / "main_thu.py"), "--config",
                           str(CONFIGS / "thumos_ftcl_stage1.yaml"), "--print_config"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "  epochs: 500" in done.stdout and done.stderr == ""
    assert list(tmp_path.iterdir()) == []
