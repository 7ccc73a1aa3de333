"""What a new plugin author meets (issue 11): an exception raised inside plugin code is one
`Error:` line naming the plugin, at training and in ganlab.testing alike; datasets' class
attributes are enforced; a points dataset from a plugin can be evaluated and plotted against
its real data; `ganlab plugins --format json` and `--check` serve plugin CI."""

from __future__ import annotations

import json
import math

import pytest
import torch

from ganlab.errors import PluginError, PluginUserError
from ganlab.testing import check_arch, check_dataset, check_loss
from tests.helpers import plugins_on_path, write_plugin_package

AUTHORS_MODULE = '''
"""Plugins as a new author writes them, mistakes included."""
import math

import torch
import torch.nn.functional as F

from ganlab.archs.mlp import MLP
from ganlab.data.base import Dataset, DataSource
from ganlab.errors import PluginUserError
from ganlab.losses.base import Loss


class Relativistic(Loss):
    """The relativistic standard GAN (Jolicoeur-Martineau 2018), declared right: D is a critic."""

    d_is_probability = False
    needs_real_logits_in_g = True

    def d_loss(self, real_logits, fake_logits):
        return F.softplus(-(real_logits - fake_logits)).mean()

    def g_loss(self, fake_logits, real_logits=None):
        return F.softplus(-(fake_logits - real_logits)).mean()


class ForgetfulRelativistic(Relativistic):
    """The same loss, but it forgot needs_real_logits_in_g = True: g_loss gets real_logits None."""

    needs_real_logits_in_g = False


class Drifting(Loss):
    """The non-saturating loss plus ProGAN's drift penalty 0.5 * E[D(x)^2] on real logits."""

    def d_loss(self, real_logits, fake_logits):
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()

    def g_loss(self, fake_logits, real_logits=None):
        return F.softplus(-fake_logits).mean()

    def penalty(self, D, real, fake):
        return 0.5 * D(real).pow(2).mean()


class PickyArch(MLP):
    def build(self, shape, latent_dim):
        raise ValueError(f"picky cannot build {shape}")


class SpiralSource(DataSource):
    """Points on a two-turn spiral of radius up to 2, with a little noise."""

    kind = "points"
    shape = (2,)
    meta = {"turns": 2}

    def sample(self, n, generator):
        t = torch.rand(n, generator=generator) * 2 * 2 * math.pi
        r = t / (2 * math.pi)
        points = torch.stack([r * t.cos(), r * t.sin()], dim=1)
        return points + 0.02 * torch.randn(n, 2, generator=generator)

    def __len__(self):
        return 10_000


class Spiral(Dataset):
    default_image_size = None

    def load(self, image_size, root):
        return SpiralSource()


class ForgotNone(Dataset):
    """A points dataset that kept the base class's default_image_size = 32."""

    def load(self, image_size, root):
        return SpiralSource()


class ClustersSource(SpiralSource):
    """Four clusters that declare themselves through the modes hook (meta modes + std)."""

    meta = {"modes": [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]], "std": 0.02}

    def sample(self, n, generator):
        means = torch.tensor(self.meta["modes"])
        idx = torch.randint(4, (n,), generator=generator)
        return means[idx] + 0.02 * torch.randn(n, 2, generator=generator)


class Clusters(Dataset):
    default_image_size = None

    def load(self, image_size, root):
        return ClustersSource()


class RawImagesSource(DataSource):
    """Forgot to map pixels to [-1, 1]: floats in [0, 255]."""

    kind = "image"
    shape = (1, 8, 8)
    meta = {}

    def sample(self, n, generator):
        return torch.randint(0, 256, (n, 1, 8, 8), generator=generator).float()

    def __len__(self):
        return 100


class LateRawSource(RawImagesSource):
    """In [-1, 1] for the 8-sample probe at load time, [0, 255] for a training batch."""

    def sample(self, n, generator):
        batch = super().sample(n, generator)
        return batch / 127.5 - 1 if n <= 8 else batch


class LateRaw(Dataset):
    default_image_size = 8

    def load(self, image_size, root):
        return LateRawSource()


class RawImages(Dataset):
    default_image_size = 8

    def load(self, image_size, root):
        return RawImagesSource()


class SevenHater(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, z):
        if z.shape[0] == 7:
            raise RuntimeError("fragile G cannot make 7 samples")
        return self.inner(z)


class Fragile(MLP):
    """Trains fine; its G breaks on a batch of 7, as a later command may ask."""

    def build(self, shape, latent_dim):
        G, D = super().build(shape, latent_dim)
        return SevenHater(G), D


class BranchyG(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, z):
        out = self.inner(z)
        return out if z.sum() > 0 else -out  # data-dependent control flow: trains, does not export


class Branchy(MLP):
    def build(self, shape, latent_dim):
        G, D = super().build(shape, latent_dim)
        return BranchyG(G), D


class BrokenLoad(Dataset):
    default_image_size = None

    def load(self, image_size, root):
        raise ValueError("no spiral today")


class Fussy(Dataset):
    default_image_size = None

    def __init__(self, turns: int = 0):
        self.turns = turns

    def load(self, image_size, root):
        if self.turns < 1:
            raise PluginUserError(f"turns must be at least 1, got {self.turns}; pass --data-opt turns=2")
        return SpiralSource()
'''

EPS = {
    "ganlab.losses": {
        "forgetful": "ganlab_fake_authors:ForgetfulRelativistic",
        "relativistic": "ganlab_fake_authors:Relativistic",
        "drifting": "ganlab_fake_authors:Drifting",
        "zeta-broken": "ganlab_fake_gone:X",
    },
    "ganlab.archs": {
        "picky": "ganlab_fake_authors:PickyArch",
        "fragile": "ganlab_fake_authors:Fragile",
        "branchy": "ganlab_fake_authors:Branchy",
    },
    "ganlab.datasets": {
        "spiral": "ganlab_fake_authors:Spiral",
        "forgot-none": "ganlab_fake_authors:ForgotNone",
        "clusters": "ganlab_fake_authors:Clusters",
        "broken-load": "ganlab_fake_authors:BrokenLoad",
        "raw-images": "ganlab_fake_authors:RawImages",
        "late-raw": "ganlab_fake_authors:LateRaw",
        "fussy": "ganlab_fake_authors:Fussy",
    },
}
WHO = "from ganlab-fake-authors==0.0.1)"
POINTS = ["--arch", "mlp", "--arch-opt", "hidden=16", "--batch-size", "16", "--latent-dim", "4"]
TINY = ["--image-size", "8", "--arch-opt", "width=8", "--batch-size", "8", "--latent-dim", "8"]


@pytest.fixture
def site(tmp_path):
    """ganlab-fake-authors 0.0.1 installed (on sys.path, third-party plugins visible)."""
    modules = {
        "ganlab_fake_authors": AUTHORS_MODULE,
        "ganlab_fake_gone": "import ganlab_fake_no_such_dependency\n",
    }
    folder = write_plugin_package(tmp_path / "site", "ganlab-fake-authors", "0.0.1", EPS, modules)
    with plugins_on_path(folder):
        yield folder


def error_line(result) -> str:
    assert result.code == 1, result.err
    lines = [line for line in result.err.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1 and "Traceback" not in result.err, result.err
    return lines[0]


def no_runs_left(tmp_path) -> bool:
    runs = tmp_path / "runs"
    return not runs.exists() or not any(runs.iterdir())


# --- 1. exceptions inside plugin code ------------------------------------------------------------
@pytest.mark.slow
def test_a_loss_that_raises_in_g_loss_is_one_line_naming_it_and_leaves_no_run(cli, site, tmp_path):
    line = error_line(cli("train", "--loss", "forgetful", *TINY, "--steps", "3", "--name", "x"))
    assert line.startswith(
        "Error: loss 'forgetful' (ganlab_fake_authors:ForgetfulRelativistic "
        + WHO
        + " failed in g_loss (ganlab_fake_authors.py:"
    )
    assert "TypeError: unsupported operand type(s) for -: 'Tensor' and 'NoneType'" in line
    assert line.endswith("; --debug shows the traceback")
    assert no_runs_left(tmp_path)  # failed before its first checkpoint: no husk of a run folder


def test_debug_shows_the_plugins_traceback_then_the_same_line(cli, site):
    result = cli("--debug", "train", "--loss", "forgetful", *TINY, "--steps", "1")
    assert result.code == 1
    assert "Traceback (most recent call last)" in result.err
    assert 'ganlab_fake_authors.py", line' in result.err and "in g_loss" in result.err
    assert result.err.rstrip().splitlines()[-1].startswith("Error: loss 'forgetful'")


@pytest.mark.parametrize(
    "flags, start, detail",
    [
        (["--arch", "picky", "--data", "ring"], "arch 'picky' (ganlab_fake_authors:PickyArch ", "failed in build"),
        (["--data", "broken-load", "--arch", "mlp"], "dataset 'broken-load' (", "ValueError: no spiral today"),
    ],
)
def test_value_errors_from_build_and_load_are_one_line(cli, site, tmp_path, flags, start, detail):
    line = error_line(cli("train", *flags, "--steps", "1"))
    assert line.startswith("Error: " + start) and WHO in line and detail in line
    assert no_runs_left(tmp_path)


def test_a_plugin_user_error_keeps_its_message_and_names_the_plugin(cli, site):
    line = error_line(cli("train", "--data", "fussy", *POINTS, "--steps", "1"))
    assert line == (
        "Error: dataset 'fussy' (ganlab_fake_authors:Fussy " + WHO + ": turns must be at least 1, got 0; "
        "pass --data-opt turns=2"
    )
    assert issubclass(PluginUserError, PluginError)  # one except clause catches every plugin failure


def test_sample_and_eval_name_an_arch_whose_g_raises_later(cli, site, tmp_path):
    flags = ["--arch-opt", "hidden=16", "--batch-size", "16", "--latent-dim", "4"]
    assert cli("train", "--arch", "fragile", "--data", "spiral", *flags, "--steps", "2", "--name", "f").code == 0
    run = str(tmp_path / "runs" / "f")
    start = "Error: arch 'fragile' (ganlab_fake_authors:Fragile " + WHO + " failed in forward (ganlab_fake_authors.py:"
    expected = "RuntimeError: fragile G cannot make 7 samples; --debug shows the traceback"
    for args in (("sample", run, "--n", "7", "--out", str(tmp_path / "s.png")), ("eval", run, "--n", "7")):
        line = error_line(cli(*args))
        assert line.startswith(start) and line.endswith(expected), line


@pytest.mark.slow
def test_export_names_the_plugin_arch_whose_g_does_not_export(cli, site, tmp_path):
    assert cli("train", "--arch", "branchy", "--data", "ring", *POINTS[2:], "--steps", "1", "--name", "b").code == 0
    line = error_line(cli("export", str(tmp_path / "runs" / "b")))
    assert line.startswith(
        "Error: torch.onnx.export failed for arch 'branchy' (ganlab_fake_authors:Branchy " + WHO + " ("
    )
    assert line.endswith("--debug shows the traceback")
    assert not list((tmp_path / "runs" / "b").glob("*.onnx"))


def test_an_exception_from_ganlab_itself_keeps_its_traceback():
    """translating() blames a plugin only when the traceback runs through its code."""
    from ganlab.plugins import guard

    owner = guard.Owner("loss 'x' (m:X from d==1)", "ganlab_fake_nowhere")
    with pytest.raises(KeyError), guard.translating([owner]):
        {}["missing"]


def test_the_testing_kit_raises_the_same_named_errors(site):
    with pytest.raises(PluginError) as info:
        check_loss("forgetful")
    assert "loss 'forgetful' (ganlab_fake_authors:ForgetfulRelativistic " + WHO + " failed in g_loss" in str(info.value)
    assert isinstance(info.value.__cause__, TypeError)  # chained, as --debug shows it
    with pytest.raises(PluginError, match=r"arch 'picky' .* failed in build .*ValueError: picky cannot build"):
        check_arch("picky", shapes=[(2,)], onnx=False)
    with pytest.raises(PluginError, match=r"dataset 'broken-load' .* ValueError: no spiral today"):
        check_dataset("broken-load")
    with pytest.raises(PluginUserError, match=r"dataset 'fussy' .*: turns must be at least 1"):
        check_dataset("fussy")


# --- 3. class attributes enforced for every dataset -----------------------------------------------
@pytest.mark.parametrize(
    "flags, message",
    [
        (["--data", "spiral", "--image-size", "8"], "dataset 'spiral' is points, not images; drop --image-size 8"),
        (
            ["--data", "forgot-none", "--image-size", "8"],
            "dataset 'forgot-none' is points, not images; drop --image-size 8",
        ),
        (
            ["--data", "spiral", "--data-root", "somewhere"],
            "dataset 'spiral' reads no files; drop --data-root somewhere",
        ),
        (["--data", "ring", "--image-size", "8"], "dataset 'ring' is points, not images; drop --image-size 8"),
        (
            ["--data", "digits", "--data-root", "somewhere"],
            "dataset 'digits' reads no files; drop --data-root somewhere",
        ),
    ],
)
def test_image_size_and_data_root_are_refused_alike_for_plugins_and_builtins(cli, site, tmp_path, flags, message):
    line = error_line(cli("train", *flags, "--arch", "mlp", "--steps", "1"))
    assert line == "Error: " + message
    assert no_runs_left(tmp_path)


def test_real_images_outside_minus_one_to_one_stop_before_training(cli, site, tmp_path):
    line = error_line(cli("train", "--data", "raw-images", *TINY, "--steps", "1"))
    assert line.startswith(
        "Error: dataset 'raw-images' (ganlab_fake_authors:RawImages " + WHO + ": sample(8) spans [0, 255]"
    )
    assert line.endswith("expected images in [-1, 1] (ImageSource maps uint8 to it; or x / 127.5 - 1)")
    assert no_runs_left(tmp_path)


def test_the_first_step_checks_the_real_batch_as_it_checks_gs_output(cli, site, tmp_path):
    # the load-time probe of 8 samples passes; the first training batch of 16 is in [0, 255]
    line = error_line(cli("train", "--data", "late-raw", *TINY[:-4], "--batch-size", "16", "--steps", "1"))
    assert line.startswith("Error: dataset 'late-raw' (ganlab_fake_authors:LateRaw " + WHO + ": sample(16) spans [0")
    assert "expected images in [-1, 1]" in line
    assert no_runs_left(tmp_path)


def test_check_dataset_flags_a_points_dataset_that_keeps_the_image_default(site):
    with pytest.raises(
        PluginError, match="loads points but declares default_image_size = 32; declare default_image_size = None"
    ):
        check_dataset("forgot-none")
    check_dataset("spiral")  # the same source, declared right


# --- 5. points datasets can be evaluated and plotted ----------------------------------------------
def test_a_plugin_points_dataset_gets_the_energy_distance_by_default(cli, site, tmp_path):
    trained = cli("train", "--data", "spiral", *POINTS, "--steps", "4", "--name", "sp")
    assert trained.code == 0, trained.err
    from ganlab.metrics.evaluate import evaluate_run

    results = evaluate_run(tmp_path / "runs" / "sp", n=300)
    assert set(results) == {"energy_distance"}
    energy = results["energy_distance"]
    assert energy["std"] > 0 and energy["value"] > 10 * energy["std"]  # 4 steps: G is far from the spiral
    assert energy["feature_net"] == "Euclidean energy distance, mean of 5 draws"


@pytest.mark.slow
def test_metric_advice_names_only_metrics_that_then_apply(cli, site, tmp_path):
    """No advice loop: every metric an error suggests is accepted by the next command."""
    assert cli("train", "--data", "spiral", *POINTS, "--steps", "2", "--name", "sp").code == 0
    run = str(tmp_path / "runs" / "sp")
    for asked in ("fid", "modes_covered", "classifier_fd"):
        line = error_line(cli("eval", run, "--metrics", asked, "--n", "50"))
        suggested = line.split("use --metrics ")[1].split()[0].rstrip(";,")
        assert suggested == "energy_distance"
        again = cli("eval", run, "--metrics", suggested, "--n", "50")
        assert again.code == 0, again.err


def test_sources_that_declare_modes_get_the_mode_metrics_too(cli, site, tmp_path):
    assert cli("train", "--data", "clusters", *POINTS, "--steps", "2", "--name", "cl").code == 0
    from ganlab.metrics.evaluate import evaluate_run

    results = evaluate_run(tmp_path / "runs" / "cl", n=200)
    assert set(results) == {"modes_covered", "high_quality_pct", "mode_kl", "energy_distance"}
    assert 0 <= results["modes_covered"]["value"] <= 4


def test_scatter_plots_draw_real_points_under_the_generated_ones(site, tmp_path, monkeypatch):
    from ganlab import viz
    from ganlab.run import runner
    from tests.conftest import tiny_config

    drawn = []
    monkeypatch.setattr(viz, "save_scatter", lambda points, path, modes, title, real: drawn.append((modes, real)))
    config = tiny_config(data="spiral", arch="mlp", arch_options={"hidden": 16}, image_size=None, latent_dim=4)
    runner.start(config.__class__(**{**config.to_dict(), "runs_dir": str(tmp_path), "name": "s"}))
    modes, real = drawn[-1]
    assert modes is None and real.shape == (2500, 2)
    radius = real.norm(dim=1)
    assert 0 <= radius.min() and radius.max() < 2.2  # the spiral's own points (radius up to 2)
    assert torch.equal(drawn[0][1], real)  # one reference for every plot of the run


# --- 8. ganlab plugins for CI -------------------------------------------------------------------
def test_plugins_json_lists_every_plugin_with_its_status(cli, site):
    result = cli("plugins", "--format", "json")
    assert result.code == 0, result.err
    rows = {(r["kind"], r["name"]): r for r in json.loads(result.out)}
    assert rows["loss", "minimax"]["status"] == "ok" and rows["loss", "minimax"]["distribution"] == "ganlab"
    gone = rows["loss", "zeta-broken"]
    assert gone["status"] == "error" and "No module named 'ganlab_fake_no_such_dependency'" in gone["message"]
    assert rows["dataset", "spiral"] == {
        "kind": "dataset",
        "name": "spiral",
        "distribution": "ganlab-fake-authors",
        "version": "0.0.1",
        "target": "ganlab_fake_authors:Spiral",
        "status": "ok",
        "message": None,
    }


def test_plugins_check_fails_on_a_broken_plugin_and_passes_on_builtins(cli, site, monkeypatch):
    broken = cli("plugins", "--check")
    assert "loss 'zeta-broken'" in error_line(broken) and "broken or claimed twice" in broken.err
    assert "│ zeta-broken" in broken.out  # the table still shows which one and why
    monkeypatch.setenv("GANLAB_DISABLE_PLUGINS", "1")
    clean = cli("plugins", "--check")
    assert clean.code == 0 and clean.err == ""


def test_piped_plugin_table_is_not_wrapped_at_80_columns(cli, site):
    out = cli("plugins").out
    row = next(line for line in out.splitlines() if "│ zeta-broken" in line)
    assert len(row) > 80 and "ModuleNotFoundError" in row  # the whole status on the plugin's one line


def test_unknown_names_suggest_only_usable_plugins(cli, site):
    line = error_line(cli("train", "--loss", "zeta-brokn", "--steps", "1"))
    assert "did you mean" not in line and "zeta-broken" not in line.split("available:")[1].split("(")[0]
    assert "1 more is broken: see ganlab plugins" in line
    assert "did you mean 'forgetful'?" in error_line(cli("train", "--loss", "forgetfull", "--steps", "1"))


# --- 6 (declaration). losses say whether D is a probability ---------------------------------------
def test_critic_losses_declare_it_and_compare_marks_their_d_outputs(cli, site, tmp_path):
    from ganlab.losses.base import Loss
    from ganlab.losses.minimax import Minimax

    assert Loss.d_is_probability and Minimax.d_is_probability
    assert cli("train", "--loss", "forgetful", "--data", "ring", *POINTS, "--steps", "1", "--name", "c").code == 1
    assert cli("train", "--loss", "minimax", "--data", "ring", *POINTS, "--steps", "2", "--name", "p").code == 0
    summary = json.loads((tmp_path / "runs" / "p" / "summary.json").read_text())
    assert summary["d_is_probability"] is True
    summary["d_is_probability"] = False  # as a wgan-gp run writes it
    (tmp_path / "runs" / "p" / "summary.json").write_text(json.dumps(summary))
    table = cli("compare", str(tmp_path / "runs" / "p"), "--format", "markdown").out
    assert " †" in table and "D is a critic" in table
    assert "sigmoid of critic scores" not in table  # that label belongs to the train summary
    assert not math.isnan(summary["final"]["d_real"])


# --- 6 and 7. what a step records: D outputs as probabilities or critic scores; penalty apart -------
def _one_step(loss: str, d_steps: int = 1):
    """A trainer after one logged step, with D's raw outputs on that step's last D update
    (the real batch first, then the generated one) caught by a forward hook."""
    from ganlab.config import RunConfig
    from ganlab.run.trainer import Trainer

    config = RunConfig(
        loss=loss, arch="mlp", data="ring", batch_size=16, latent_dim=4, steps=1, d_steps=d_steps,
        arch_options={"hidden": 16}, device="cpu",
    )  # fmt: skip
    trainer = Trainer(config)
    outputs: list[torch.Tensor] = []
    hook = trainer.D.register_forward_hook(lambda module, args, out: outputs.append(out.detach().clone()))
    stats = trainer.train_step()
    hook.remove()
    g_calls = 1 + trainer.loss.needs_real_logits_in_g  # the generator step's calls come last
    calls_per_d_step = (len(outputs) - g_calls) // d_steps  # real, fake, and the penalty's own calls
    real, fake = outputs[(d_steps - 1) * calls_per_d_step : (d_steps - 1) * calls_per_d_step + 2]
    return trainer, stats, real, fake


def test_a_critic_loss_records_its_mean_raw_scores_not_sigmoids(site):
    trainer, stats, real, fake = _one_step("relativistic")
    assert "d_real" not in stats and "d_fake" not in stats
    assert stats["critic_real"].item() == pytest.approx(real.mean().item(), rel=1e-6, abs=1e-7)
    assert stats["critic_fake"].item() == pytest.approx(fake.mean().item(), rel=1e-6, abs=1e-7)
    assert stats["critic_real"].item() != pytest.approx(torch.sigmoid(real).mean().item(), abs=1e-3)


def test_a_probability_loss_records_mean_d_of_x(site):
    trainer, stats, real, fake = _one_step("nonsaturating")
    assert "critic_real" not in stats
    assert stats["d_real"].item() == pytest.approx(torch.sigmoid(real).mean().item(), rel=1e-6)
    assert stats["d_fake"].item() == pytest.approx(torch.sigmoid(fake).mean().item(), rel=1e-6)


def test_the_penalty_is_recorded_apart_from_the_objective(site):
    trainer, stats, real, fake = _one_step("drifting", d_steps=2)  # the last of k = 2 D steps is recorded
    objective = (torch.nn.functional.softplus(-real).mean() + torch.nn.functional.softplus(fake).mean()).item()
    assert stats["d_loss"].item() == pytest.approx(objective, rel=1e-6)
    assert stats["penalty"].item() == pytest.approx(0.5 * real.pow(2).mean().item(), rel=1e-5)
    assert stats["d_total"].item() == pytest.approx(objective + stats["penalty"].item(), rel=1e-6)
    assert stats["penalty"].item() > 0


def test_progress_summary_and_compare_label_critic_scores(cli, site, tmp_path):
    from ganlab.cli.ui import step_info

    trained = cli("train", "--loss", "relativistic", "--data", "ring", *POINTS, "--steps", "3", "--name", "r")
    assert trained.code == 0, trained.err
    rows = [json.loads(line) for line in (tmp_path / "runs" / "r" / "metrics.jsonl").read_text().splitlines()]
    assert all({"critic_real", "critic_fake"} <= set(row) and "d_real" not in row for row in rows)
    assert "C(x) / C(G(z))" in trained.out and "mean critic scores, not probabilities" in trained.out
    assert "D(x)" not in trained.out
    live = step_info(rows[-1])
    assert f"C(x) {rows[-1]['critic_real']:.2f}" in live and "D(x)" not in live
    summary = json.loads((tmp_path / "runs" / "r" / "summary.json").read_text())
    assert summary["d_is_probability"] is False
    table = cli("compare", str(tmp_path / "runs" / "r"), "--format", "json").out
    (row,) = json.loads(table)
    assert row["d_real"]["mean"] == pytest.approx(summary["final_mean_last_100"]["critic_real"], rel=1e-9)
    markdown = cli("compare", str(tmp_path / "runs" / "r"), "--format", "markdown").out
    assert f"{row['d_real']['mean']:.3f} †" in markdown and "mean raw score C(x), C(G(z))" in markdown


def test_a_penalty_run_lists_it_in_the_summary(cli, site, tmp_path):
    trained = cli("train", "--loss", "drifting", "--data", "ring", *POINTS, "--steps", "3", "--name", "d")
    assert trained.code == 0, trained.err
    final = json.loads((tmp_path / "runs" / "d" / "summary.json").read_text())["final"]
    assert final["d_total"] == pytest.approx(final["d_loss"] + final["penalty"], rel=1e-6)
    assert "D penalty" in trained.out and "D(x) / D(G(z))" in trained.out
