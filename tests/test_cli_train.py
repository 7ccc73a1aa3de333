"""`ganlab train` through the CLI: a tiny real run, config files, resume, and every bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ganlab.config import RunConfig, load_toml
from tests.conftest import TINY_IMAGE, TINY_POINTS


def tree(path: Path) -> dict[str, float]:
    """Every file under path with its mtime, to prove nothing was touched. Not a run's .lock: a
    resume takes the lock before it checks its flags, and taking it rewrites that file."""
    files = (p for p in path.rglob("*") if p.name != ".lock") if path.exists() else ()
    return {str(p): p.stat().st_mtime_ns for p in files}


@pytest.mark.slow
def test_train_writes_a_complete_run(cli, tmp_path):
    result = cli("train", "--loss", "minimax", "--arch", "dcgan", *TINY_IMAGE, "--steps", "3", "--name", "r")
    assert result.code == 0, result.err
    run = tmp_path / "runs" / "r"
    assert (run / "summary.json").is_file() and (run / "samples" / "step_000003.png").is_file()
    assert "run folder" in result.out and str(Path("runs") / "r") in result.out
    summary = json.loads((run / "summary.json").read_text())
    assert summary["config"]["loss"] == "minimax" and summary["step"] == 3


@pytest.mark.slow
def test_points_run_leaves_a_scatter_plot(cli, tmp_path):
    from PIL import Image

    result = cli("train", "--loss", "nonsaturating", *TINY_POINTS, "--steps", "2", "--name", "p")
    assert result.code == 0, result.err
    plot = tmp_path / "runs" / "p" / "samples" / "step_000002.png"
    with Image.open(plot) as img:
        assert img.size == (500, 500)  # a matplotlib figure, not an image grid


@pytest.mark.slow
def test_config_file_and_flag_override(cli, tmp_path):
    (tmp_path / "run.toml").write_text(
        'loss = "lsgan"\nsteps = 2\nimage_size = 8\nbatch_size = 8\nlatent_dim = 8\n'
        "[arch_options]\nwidth = 8\n[loss_options]\na = -1.0\nb = 1.0\nc = 0.0\n"
    )
    result = cli("train", "--config", "run.toml", "--steps", "3", "--name", "c")
    assert result.code == 0, result.err
    cfg = json.loads((tmp_path / "runs" / "c" / "summary.json").read_text())["config"]
    assert cfg["loss"] == "lsgan" and cfg["steps"] == 3 and cfg["loss_options"] == {"a": -1.0, "b": 1.0, "c": 0.0}
    # the saved config.toml reads back as a config file
    again = cli("train", "--config", "runs/c/config.toml", "--name", "c2")
    assert again.code == 0, again.err


def test_option_flags_merge_into_the_config_files_tables_key_by_key():
    from ganlab.config import resolve

    file_values = {"arch": "mlp", "arch_options": {"hidden": 128, "depth": 3}, "data_options": {"n_train": 10}}
    cfg = resolve(file_values, {"arch_options": {"g_hidden": 256, "depth": 4}, "loss_options": {"a": 1.0}})
    # a flag adds or replaces one key; the file's other keys stay (hidden was dropped before)
    assert cfg.arch_options == {"hidden": 128, "depth": 4, "g_hidden": 256}
    assert cfg.data_options == {"n_train": 10} and cfg.loss_options == {"a": 1.0}
    assert file_values["arch_options"] == {"hidden": 128, "depth": 3}  # the file's dict is not changed


@pytest.mark.slow
def test_adam_betas_from_the_flags_reach_both_optimizers(cli, tmp_path):
    from ganlab.run.trainer import Trainer

    result = cli("train", *TINY_IMAGE, "--steps", "1", "--name", "b", "--beta1", "0", "--beta2", "0.9")
    assert result.code == 0, result.err
    config = load_toml(tmp_path / "runs" / "b" / "config.toml")
    assert (config["beta1"], config["beta2"]) == (0.0, 0.9)
    trainer = Trainer(RunConfig.from_dict(config))
    assert trainer.opt_g.defaults["betas"] == trainer.opt_d.defaults["betas"] == (0.0, 0.9)


@pytest.mark.slow
def test_resume_continues_to_more_steps(cli, tmp_path):
    assert cli("train", *TINY_IMAGE, "--steps", "2", "--name", "r").code == 0
    result = cli("train", "--resume", "runs/r", "--steps", "4")
    assert result.code == 0, result.err
    summary = json.loads((tmp_path / "runs" / "r" / "summary.json").read_text())
    assert summary["step"] == 4
    lines = (tmp_path / "runs" / "r" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2, 3, 4]


BAD_INPUTS = [
    (["--loss", "minmax"], "unknown loss 'minmax'; did you mean 'minimax'?"),
    (["--arch", "dcgann"], "unknown arch 'dcgann'; did you mean 'dcgan'?"),
    (["--data", "digit"], "unknown dataset 'digit'; did you mean 'digits'?"),
    (["--image-size", "12"], "dcgan cannot build image size 12x12; use --image-size with one of 8, 16, 32, 64, 128"),
    (["--batch-size", "0"], "batch_size must be an integer >= 1, got 0; set --batch-size 1 or more"),
    (["--steps", "0"], "steps must be an integer >= 1, got 0; set --steps 1 or more"),
    (["--d-steps", "-1"], "d_steps must be an integer >= 1, got -1"),
    (["--data", "mnist", "--data-root", "nowhere"], "data root 'nowhere' does not exist"),
    (["--data", "folder", "--data-root", "."], "no images under '.'"),
    (["--data", "folder"], "dataset 'folder' needs --data-root DIR"),
    (["--config", "missing.toml"], "config file 'missing.toml' does not exist"),
    (["--config", "broken.toml"], "config file 'broken.toml' is not valid TOML"),
    (["--config", "unknown_key.toml"], "unknown key 'stepz' in unknown_key.toml"),
    (["--resume", "not_a_run"], "run 'not_a_run' does not exist"),
    (["--resume", "plain_dir"], "'plain_dir' is not a ganlab run (no config.toml)"),
    (["--loss-opt", "d=1", "--loss", "lsgan"], "lsgan' has no option 'd'; valid options: a, b, c"),
    (["--arch-opt", "width"], "--arch-opt 'width' is not KEY=VALUE"),
    (["--optimizer", "rmsprop"], "unknown optimizer 'rmsprop'; choose 'adam' or 'sgd'"),
    (["--device", "tpu"], "unknown device 'tpu'; choose auto, cpu or cuda"),
    (["--beta1", "1"], "beta1 must be a number in [0, 1), got 1.0; set --beta1 to e.g. 0.5"),
    (["--beta2", "-0.1"], "beta2 must be a number in [0, 1), got -0.1"),
    (["--steps", "many"], "Invalid value for '--steps'"),
]


@pytest.mark.parametrize("args,message", BAD_INPUTS, ids=[" ".join(a) for a, _ in BAD_INPUTS])
def test_bad_input_is_one_line_exit_1_and_leaves_nothing(cli, tmp_path, args, message):
    (tmp_path / "broken.toml").write_text("steps = = 3\n")
    (tmp_path / "unknown_key.toml").write_text("stepz = 3\n")
    (tmp_path / "plain_dir").mkdir()
    before = tree(tmp_path / "runs")
    name = [] if "--resume" in args else ["--name", "bad"]
    result = cli("train", *args, *name)
    assert result.code == 1
    assert message in result.err
    assert result.err.startswith("Error: ") and result.err.count("\n") == 1
    assert "Traceback" not in result.err + result.out
    assert tree(tmp_path / "runs") == before  # no half-written run


@pytest.mark.slow
def test_resume_refuses_other_flags_and_keeps_run_intact(cli, tmp_path):
    assert cli("train", *TINY_IMAGE, "--steps", "2", "--name", "r").code == 0
    before = tree(tmp_path / "runs")
    result = cli("train", "--resume", "runs/r", "--loss", "lsgan")
    assert result.code == 1 and "drop --loss" in result.err
    result = cli("train", "--resume", "runs/r", "--steps", "1")
    assert result.code == 1 and "already at step 2" in result.err
    assert tree(tmp_path / "runs") == before


@pytest.mark.slow
def test_existing_run_name_is_not_overwritten(cli, tmp_path):
    assert cli("train", *TINY_IMAGE, "--steps", "1", "--name", "r").code == 0
    before = tree(tmp_path / "runs")
    result = cli("train", *TINY_IMAGE, "--steps", "1", "--name", "r")
    assert result.code == 1 and "already exists; continue it with --resume" in result.err
    assert tree(tmp_path / "runs") == before


def test_cuda_without_gpu_is_a_clear_error(cli):
    import torch

    if torch.cuda.is_available():  # the device machine has one; the CPU path is what this checks
        pytest.skip("a GPU is present")
    result = cli("train", *TINY_IMAGE, "--device", "cuda", "--steps", "1")
    assert result.code == 1 and "torch sees no CUDA GPU; use --device cpu or auto" in result.err


@pytest.mark.slow
def test_a_run_made_for_cuda_resumes_on_a_cpu_box_with_device_cpu(cli, tmp_path):
    from ganlab.config import dump_toml, load_toml

    assert cli("train", *TINY_IMAGE, "--steps", "2", "--name", "r").code == 0
    saved = load_toml(tmp_path / "runs" / "r" / "config.toml")
    saved["device"] = "cuda"  # as if trained on a GPU machine
    (tmp_path / "runs" / "r" / "config.toml").write_text(dump_toml(saved))
    result = cli("train", "--resume", "runs/r", "--steps", "3", "--device", "cpu")
    assert result.code == 0, result.err
    after = load_toml(tmp_path / "runs" / "r" / "config.toml")
    assert (after["device"], after["steps"]) == ("cpu", 3)
    summary = json.loads((tmp_path / "runs" / "r" / "summary.json").read_text())
    assert summary["step"] == 3 and summary["device"] == "cpu"


@pytest.mark.slow
def test_resume_passes_a_new_data_root_to_the_dataset(cli, tmp_path):
    assert cli("train", *TINY_IMAGE, "--steps", "2", "--name", "r").code == 0
    result = cli("train", "--resume", "runs/r", "--data-root", "elsewhere")
    # accepted by resume, then judged by the dataset (digits declares uses_root = False)
    assert result.code == 1 and "dataset 'digits' reads no files; drop --data-root" in result.err


@pytest.mark.slow
def test_train_config_of_a_saved_run_reruns_it_under_a_fresh_name(cli, tmp_path):
    assert cli("train", *TINY_IMAGE, "--steps", "2", "--name", "r").code == 0
    result = cli("train", "--config", "runs/r/config.toml")
    assert result.code == 0, result.err
    assert "Note: run 'r' exists already; this run is 'r-2' (pass --name to choose)" in result.err
    first = json.loads((tmp_path / "runs" / "r" / "summary.json").read_text())
    rerun = json.loads((tmp_path / "runs" / "r-2" / "summary.json").read_text())
    assert rerun["final"] == first["final"]  # same config, same seed: the same numbers
    assert cli("train", "--config", "runs/r/config.toml", "--name", "mine").code == 0
    assert (tmp_path / "runs" / "mine" / "summary.json").is_file()
