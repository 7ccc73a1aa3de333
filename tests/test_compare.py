"""`ganlab compare`: rows, seed grouping, mean ± std, best per column, sorting, formats, bad input."""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest
from PIL import Image

from ganlab.comparison import rows as compare
from ganlab.comparison.plot import metric_history
from ganlab.comparison.render import decimals, fmt_stat
from ganlab.run import runner
from ganlab.run.rundir import RunDir
from tests.conftest import tiny_config
from tests.helpers import one_line_error

# (loss, seed) -> fid / classes_covered written into the summary. minimax: fid 10, 12, 14 has
# mean 12 and sample std exactly 2; lsgan: 8, 9 -> 8.5 and sqrt(0.5).
FID = {("minimax", 0): 10.0, ("minimax", 1): 12.0, ("minimax", 2): 14.0, ("lsgan", 0): 8.0, ("lsgan", 1): 9.0}
COVERED = {("minimax", 0): 9, ("minimax", 1): 10, ("minimax", 2): 8, ("lsgan", 0): 7, ("lsgan", 1): 7}


def metric(value, n=1000, net="digits-cnn", step=4, better="lower"):
    return {"value": value, "std": None, "n": n, "dims": 64, "feature_net": net, "step": step, "better": better}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Five tiny runs trained once: minimax with seeds 0-2, lsgan with seeds 0-1."""
    root = tmp_path_factory.mktemp("trained")
    for loss, seed in FID:
        runner.start(tiny_config(loss=loss, seed=seed, runs_dir=str(root), name=f"{loss}-s{seed}"))
    return root


@pytest.fixture
def runs(trained, tmp_path):
    """A fresh copy of the trained runs with evaluation sections written into their summaries."""
    root = tmp_path / "runs"
    shutil.copytree(trained, root)
    for (loss, seed), fid in FID.items():
        RunDir(root / f"{loss}-s{seed}").update_summary(
            metrics={"fid": metric(fid), "classes_covered": metric(COVERED[loss, seed], better="higher")},
            metrics_best={"fid": metric(fid - 1.0, step=2)},
        )
    return root


def rows_by_loss(out):
    return {row["loss"]: row for row in json.loads(out)}


# --- the numbers ----------------------------------------------------------------------------------
def test_stat_is_mean_and_sample_std():
    assert compare.stat([10, 12, 14]) == {"mean": 12.0, "std": 2.0, "n_seeds": 3}
    assert compare.stat([8, 9])["std"] == pytest.approx(0.5**0.5, rel=1e-12)
    assert compare.stat([5.0, None]) == {"mean": 5.0, "std": None, "n_seeds": 1}
    assert compare.stat([None]) is None


def test_number_format_keeps_four_significant_digits():
    assert [decimals(x) for x in (123.4, 1.234, 0.01234, 4321.0)] == [1, 3, 5, 0]
    assert fmt_stat({"mean": 12.0, "std": 2.0, "n_seeds": 2}, n_seeds=3) == "12.00 ± 2.00 (2/3 seeds)"
    assert fmt_stat(None) == "-"


@pytest.mark.slow
def test_json_groups_seeds_with_mean_std_and_metric_settings(cli, runs):
    result = cli("compare", str(runs / "*"), "--format", "json")
    assert result.code == 0, result.err
    rows = rows_by_loss(result.out)  # stdout is pure JSON: nothing else was printed there
    assert len(rows) == 2
    mm, ls = rows["minimax"], rows["lsgan"]
    assert (mm["n_seeds"], mm["seeds"], ls["n_seeds"], ls["seeds"]) == (3, [0, 1, 2], 2, [0, 1])
    assert mm["name"] == "minimax" and mm["runs"] == ["minimax-s0", "minimax-s1", "minimax-s2"]
    fid = mm["metrics"]["fid"]["final"]
    assert (fid["mean"], fid["std"], fid["n_seeds"], fid["n"], fid["feature_net"]) == (12.0, 2.0, 3, 1000, "digits-cnn")
    assert ls["metrics"]["fid"]["final"]["std"] == pytest.approx(0.5**0.5, rel=1e-12)
    assert ls["metrics"]["fid"]["best"]["mean"] == pytest.approx(7.5)
    summaries = [RunDir(runs / f"minimax-s{s}").summary() for s in range(3)]
    d_real = [s["final_mean_last_100"]["d_real"] for s in summaries]
    assert mm["d_real"]["mean"] == pytest.approx(sum(d_real) / 3, rel=1e-12)
    assert mm["steps"] == {"mean": 4.0, "std": 0.0, "n_seeds": 3}
    assert mm["wall_time_s"]["mean"] == pytest.approx(sum(s["wall_time_s"] for s in summaries) / 3)


@pytest.mark.slow
def test_best_per_column_follows_the_metric_direction(cli, runs):
    rows = rows_by_loss(cli("compare", str(runs), "--format", "json").out)
    assert rows["lsgan"]["metrics"]["fid"]["final"]["is_best"]  # 8.5 < 12, lower is better
    assert not rows["minimax"]["metrics"]["fid"]["final"]["is_best"]
    assert rows["minimax"]["metrics"]["classes_covered"]["final"]["is_best"]  # 9 > 7, higher is better
    assert not rows["lsgan"]["metrics"]["classes_covered"]["final"]["is_best"]
    markdown = cli("compare", str(runs), "--format", "markdown").out
    assert "| **8.500 ± 0.707** |" in markdown and "| 12.00 ± 2.00 |" in markdown
    assert "| **9.000 ± 1.000** |" in markdown


@pytest.mark.slow
def test_no_group_gives_one_row_per_run(cli, runs):
    rows = json.loads(cli("compare", str(runs), "--format", "json", "--no-group").out)
    assert sorted(r["name"] for r in rows) == sorted(f"{loss}-s{s}" for loss, s in FID)
    by_name = {r["name"]: r for r in rows}
    assert by_name["minimax-s2"]["metrics"]["fid"]["final"] == {
        "mean": 14.0,
        "std": None,
        "n_seeds": 1,
        "n": 1000,
        "feature_net": "digits-cnn",
        "weights": "raw",  # a summary from before --ema-decay: the trained generator
        "is_best": False,
        "stale": False,  # measured at the run's last step
        "step": 4,
    }
    assert by_name["lsgan-s0"]["metrics"]["fid"]["final"]["is_best"]  # 8 is the lowest single run


@pytest.mark.slow
@pytest.mark.parametrize(
    "key,first", [("fid", "lsgan"), ("classes_covered", "minimax"), ("fid_best", "lsgan"), ("name", "lsgan")]
)
def test_sort_puts_the_best_first(cli, runs, key, first):
    rows = json.loads(cli("compare", str(runs), "--format", "json", "--sort", key).out)
    assert rows[0]["loss"] == first and len(rows) == 2


@pytest.mark.slow
def test_sort_by_speed_is_fastest_first(cli, runs):
    rows = json.loads(cli("compare", str(runs), "--format", "json", "--no-group", "--sort", "steps_per_s").out)
    speeds = [r["steps_per_s"]["mean"] for r in rows]
    assert speeds == sorted(speeds, reverse=True)


@pytest.mark.slow
def test_csv_has_one_header_line_and_the_numbers(cli, runs):
    result = cli("compare", str(runs), "--format", "csv", "--sort", "fid")
    assert result.code == 0
    lines = result.out.splitlines()
    assert len(lines) == 3 and lines[0].startswith("name,loss,arch,data,")
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert [r["loss"] for r in rows] == ["lsgan", "minimax"]
    mm = rows[1]
    assert (float(mm["fid_final_mean"]), float(mm["fid_final_std"]), mm["fid_final_n"]) == (12.0, 2.0, "1000")
    assert (mm["fid_final_feature_net"], mm["fid_final_is_best"], rows[0]["fid_final_is_best"]) == (
        "digits-cnn",
        "False",
        "True",
    )
    assert mm["seeds"] == "0;1;2" and float(mm["fid_best_mean"]) == 11.0


@pytest.mark.slow
def test_rich_table_prints_the_rows_and_highlights(cli, runs):
    result = cli("compare", str(runs))
    assert result.code == 0
    assert "12.00 ± 2.00" in result.out and "8.500 ± 0.707" in result.out
    assert "fid final ↓" in result.out and "classes_covered final ↑" in result.out
    assert "metrics from n=1000 samples, digits-cnn" in " ".join(result.out.split())
    from ganlab.cli.compare_cmd import rich_table
    from ganlab.comparison.render import BEST_STYLE

    table = rich_table(compare.compare([str(runs)]))
    fid_col = next(c for c in table.columns if str(c.header).startswith("fid final"))
    styles = {str(cell): cell.style for cell in fid_col._cells}
    assert styles["8.500 ± 0.707"] == BEST_STYLE and styles["12.00 ± 2.00"] == ""


@pytest.mark.slow
def test_each_metric_setting_gets_a_numbered_note(cli, runs):
    for (loss, seed), fid in FID.items():
        RunDir(runs / f"{loss}-s{seed}").update_summary(
            metrics_best={},
            metrics={
                "fid": metric(fid, n=2000, net="inception-v3"),
                "classes_covered": metric(COVERED[loss, seed], better="higher"),
            },
        )
    markdown = cli("compare", str(runs), "--format", "markdown").out
    assert "| fid final ↓ [1] | classes_covered final ↑ [2] |" in markdown
    assert "[1] n=2000, inception-v3; [2] n=1000, digits-cnn." in markdown


@pytest.mark.slow
def test_a_column_where_every_row_ties_marks_no_best(cli, runs):
    for loss, seed in FID:
        RunDir(runs / f"{loss}-s{seed}").update_summary(metrics={"classes_covered": metric(10, better="higher")})
    rows = json.loads(cli("compare", str(runs), "--format", "json").out)
    assert [r["metrics"]["classes_covered"]["final"]["is_best"] for r in rows] == [False, False]
    rows = json.loads(cli("compare", str(runs), "--format", "json", "--no-group").out)
    assert not any(r["metrics"]["classes_covered"]["final"]["is_best"] for r in rows)


# --- bad input ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_mixed_n_warns_not_comparable_and_marks_no_best(cli, runs):
    RunDir(runs / "lsgan-s1").update_summary(metrics={"fid": metric(9.0, n=500)})
    result = cli("compare", str(runs), "--format", "json")
    assert result.code == 0
    assert "column fid (final) mixes n=1000 digits-cnn" in result.err and "n=500 digits-cnn (lsgan-s1)" in result.err
    assert "not comparable" in result.err
    rows = rows_by_loss(result.out)
    assert not any(r["metrics"]["fid"]["final"]["is_best"] for r in rows.values())
    assert rows["lsgan"]["metrics"]["fid"]["final"]["n"] == [500, 1000]
    assert rows["minimax"]["metrics"]["classes_covered"]["final"]["is_best"]  # other columns unaffected


@pytest.mark.slow
def test_mixed_feature_networks_are_not_comparable(cli, runs):
    RunDir(runs / "minimax-s0").update_summary(metrics={"fid": metric(10.0, net="inception-v3")})
    result = cli("compare", str(runs))
    assert result.code == 0 and "MIXED" in result.out
    assert "inception-v3 (minimax-s0)" in result.err and "not comparable" in result.err


@pytest.mark.slow
def test_mixed_image_sizes_are_named_as_the_cause(cli, runs):
    run = RunDir(runs / "lsgan-s1")
    summary = run.summary()
    run.update_summary(data={**summary["data"], "shape": [1, 16, 16]})  # as if trained at 16 px
    result = cli("compare", str(runs), "--format", "json")
    assert result.code == 0
    assert "values are not comparable (different image sizes)" in result.err
    assert "n=1000 digits-cnn 16px (lsgan-s1)" in result.err and "n=1000 digits-cnn 8px (" in result.err
    assert "compare runs of one dataset at one image size" in result.err and "ganlab eval RUN --n" not in result.err


@pytest.mark.slow
def test_runs_without_metrics_show_a_dash_and_a_hint(cli, runs, trained):
    RunDir(runs / "minimax-s1").update_summary(metrics={})  # an unevaluated seed
    result = cli("compare", str(runs), "--format", "json")
    mm = rows_by_loss(result.out)["minimax"]["metrics"]["fid"]["final"]
    assert (mm["mean"], mm["n_seeds"]) == (12.0, 2)  # the two evaluated seeds: (10 + 14) / 2
    assert "1 run(s) have no evaluation metrics" in result.err and "ganlab eval" in result.err
    result = cli("compare", str(trained / "lsgan-s0"))  # never evaluated at all
    assert result.code == 0 and "lsgan-s0" in result.out
    assert "ganlab eval" in result.err
    assert "(2/3 seeds)" in cli("compare", str(runs)).out


@pytest.mark.slow
def test_unknown_sort_key_is_an_error_listing_the_valid_keys(cli, runs):
    result = cli("compare", str(runs), "--format", "json", "--sort", "fdi")
    one_line_error(result, "unknown --sort key 'fdi' (did you mean 'fid'?); choose from: fid, ")
    assert "classes_covered" in result.err and "steps_per_s" in result.err


def test_no_runs_matched_is_an_error(cli, tmp_path):
    result = cli("compare", str(tmp_path / "nothing" / "*"))
    assert result.code == 1
    assert "Error: no runs matched" in result.err and "(no folder matches" in result.err
    assert "Traceback" not in result.err + result.out


@pytest.mark.slow
def test_a_folder_that_is_not_a_run_is_skipped_with_a_note(cli, runs, tmp_path):
    (tmp_path / "notes").mkdir()
    result = cli("compare", str(tmp_path / "notes"), str(runs / "lsgan-s0"), "--format", "json")
    assert result.code == 0 and [r["name"] for r in json.loads(result.out)] == ["lsgan-s0"]
    assert "'" + str(tmp_path / "notes") + "' is not a ganlab run (no config.toml)" in result.err
    alone = cli("compare", str(tmp_path / "notes"))
    assert alone.code == 1 and "Error: no runs matched" in alone.err and "Traceback" not in alone.err
    assert "is not a ganlab run (no config.toml)" in alone.err  # the reason travels with the error


@pytest.mark.slow
def test_an_unreadable_summary_skips_that_run_only(cli, runs):
    (runs / "minimax-s2" / "summary.json").write_text("{ torn", encoding="utf-8")
    result = cli("compare", str(runs), "--format", "json")
    assert result.code == 0 and rows_by_loss(result.out)["minimax"]["n_seeds"] == 2
    assert "skipped" in result.err and "summary.json" in result.err and "not valid JSON" in result.err


@pytest.mark.parametrize(
    "args,message",
    [
        (["--format", "xml", "runs"], "unknown --format 'xml'; choose one of: table, json, csv, markdown"),
        (["runs", "--loss", "lsgan"], "pass run folders or study flags, not both"),
        ([], "nothing to compare"),
        (["runs", "--plot", "curves.txt"], "--plot 'curves.txt' must end in .png, .pdf, .svg"),
        (["runs", "--grid", "."], "--grid '.' is a folder; pass a file name"),
        (["--loss", "lsgan", "--eval-n", "1"], "--eval-n must be an integer >= 2"),
    ],
)
def test_bad_flags_are_one_line_errors(cli, args, message):
    result = cli("compare", *args)
    assert result.code == 1 and message in result.err and "Traceback" not in result.err


# --- pictures -----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_plot_and_grid_are_written(cli, runs, tmp_path):
    result = cli("compare", str(runs), "--plot", tmp_path / "curves.png", "--grid", tmp_path / "grid.png")
    assert result.code == 0, result.err
    # 4 curve panels + fid + classes_covered = 6 panels in 3 rows of 2; 11 x 9.6 inches at 100 dpi
    assert Image.open(tmp_path / "curves.png").size == (1100, 960)
    # 2 rows (losses) x 3 columns (the most seeds), 2.6 x 2.9 inches per panel at 100 dpi
    assert Image.open(tmp_path / "grid.png").size == (780, 580)
    assert str(tmp_path / "grid.png") in result.out


@pytest.mark.slow
def test_plot_has_a_title_and_says_which_way_is_better(cli, runs, tmp_path, monkeypatch):
    from ganlab.comparison import plot

    figures = []
    monkeypatch.setattr(plot, "_save", lambda fig, plt, path: figures.append(fig) or path)
    assert cli("compare", str(runs), "--plot", tmp_path / "curves.png").code == 0
    (fig,) = figures
    assert fig._suptitle.get_text().startswith("ganlab compare: 2 rows, 5 runs (data digits, arch dcgan, steps 4)")
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles[:4] == ["D loss", "G loss", "D(x), mean sigmoid(D)", "D(G(z)), mean sigmoid(D)"]
    assert titles[4].startswith("fid  ↓ lower is better")
    assert titles[5].startswith("classes_covered  ↑ higher is better")
    # a critic loss logs its raw mean scores (critic_real, critic_fake): panels of their own, not D(x)
    with RunDir(runs / "lsgan-s0").metrics_file.open("a", encoding="utf-8") as log:
        row = {"step": 5, "d_loss": 1.0, "g_loss": 1.0, "critic_real": 3.0, "critic_fake": -2.0}
        log.write(json.dumps(row) + "\n")
    assert cli("compare", str(runs), "--plot", tmp_path / "curves.png").code == 0
    titles = [ax.get_title() for ax in figures[1].axes if ax.get_visible()]
    assert titles[2:6] == [
        "D(x), mean sigmoid(D)",
        "D(G(z)), mean sigmoid(D)",
        "C(x), mean raw critic score",
        "C(G(z)), mean raw critic score",
    ]


def test_grid_panels_are_not_blurred(monkeypatch, tmp_path):
    from PIL import Image as PILImage

    from ganlab.comparison import plot

    calls = []
    PILImage.new("L", (8, 8)).save(tmp_path / "g.png")
    record = type("R", (), {"name": "r", "config": {"loss": "minimax"}, "step": lambda self: 4})()
    monkeypatch.setattr(plot, "final_samples", lambda r: tmp_path / "g.png")
    monkeypatch.setattr(
        plot,
        "_save",
        lambda fig, plt, path: calls.extend(im.get_interpolation() for ax in fig.axes for im in ax.images),
    )
    plot.save_grid(compare.Comparison([{"name": "r"}], [[record]], [], {}), tmp_path / "grid.png")
    assert calls == ["nearest"]


@pytest.mark.slow
def test_metric_history_reads_logged_and_summary_values(runs):
    run = RunDir(runs / "lsgan-s0")
    with run.metrics_file.open("a", encoding="utf-8") as log:
        log.write(
            json.dumps({"step": 3, "d_loss": 1.0, "g_loss": 1.0, "d_real": 0.5, "d_fake": 0.5, "fid": 20.0}) + "\n"
        )
    history = metric_history(compare.load_record(run))
    assert history["fid"] == [(2, 7.0), (3, 20.0), (4, 8.0)]  # best at 2, logged at 3, final at 4
    assert history["classes_covered"] == [(4, 7.0)]


@pytest.mark.slow
def test_grid_without_any_samples_is_an_error(cli, runs):
    for run in runs.iterdir():
        shutil.rmtree(run / "samples")
        RunDir(run).update_summary(samples=None)
    result = cli("compare", str(runs), "--grid", "grid.png")
    assert result.code == 1 and "none of the compared runs has a sample grid" in result.err


# --- fitting the terminal ------------------------------------------------------------------------------
def _render(renderable, width: int) -> str:
    from rich.console import Console

    console = Console(width=width, record=True, force_terminal=False)
    console.print(renderable)
    return console.export_text()


@pytest.mark.slow
@pytest.mark.parametrize("width", [80, 120])
def test_a_two_row_comparison_fits_the_terminal_without_cutting_a_cell(runs, width):
    from ganlab.cli.compare_cmd import rich_table

    c = compare.compare([str(runs)])
    text = _render(rich_table(c, width), width)
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= width
    assert "minimax" in text and "lsgan" in text
    for row in c.rows:  # every mean ± std stays on one line
        fid = row["metrics"]["fid"]["final"]
        shown = f"{fid['mean']:.2f} ± {fid['std']:.2f}" if fid["std"] else f"{fid['mean']:.2f}"
        assert shown in text or f"{fid['mean']:.3f}" in text


@pytest.mark.slow
def test_constant_columns_move_into_the_title(runs):
    from ganlab.cli.compare_cmd import table_cells

    title, cols = table_cells(compare.compare([str(runs)]))
    headers = [h for h, _ in cols]
    assert "arch dcgan" in title and "data digits 8px" in title  # the same on both rows
    assert "arch" not in headers and "data" not in headers and "loss" in headers  # losses differ


@pytest.mark.slow
def test_a_table_too_wide_for_the_terminal_switches_layout_and_never_cuts(runs):
    from ganlab.cli.compare_cmd import rich_table

    c = compare.compare([str(runs)], group=False)  # 5 rows
    for width in (60, 80):
        text = _render(rich_table(c, width), width)
        assert "…" not in text and max(len(line) for line in text.splitlines()) <= width
        for row in c.rows:
            assert row["name"] in text


def test_rows_that_share_a_name_are_told_apart_by_the_settings_that_differ(tmp_path):
    """Two studies that differ only in --pack name their runs alike (nonsaturating-mlp-grid-sN):
    each row names the pack, and the option tables' keys count one by one."""
    from ganlab.comparison.rows import RunRecord

    def record(study, seed, pack, hidden):
        config = {
            "loss": "nonsaturating",
            "arch": "mlp",
            "data": "grid",
            "seed": seed,
            "pack": pack,
            "arch_options": {"hidden": hidden, "depth": 3},
            "runs_dir": str(tmp_path / study),
        }
        name = f"nonsaturating-mlp-grid-s{seed}"
        return RunRecord(RunDir(tmp_path / study / name), config, {"status": "complete", "step": 10})

    records = [record(f"pack{p}", s, p, 128) for p in (1, 2) for s in (0, 1)] + [record("wide", 0, 1, 256)]
    rows = compare.compare_records(records).rows
    assert sorted(r["name"] for r in rows) == [
        "nonsaturating-mlp-grid (pack=1)",  # only the pack differs between these two
        "nonsaturating-mlp-grid (pack=2)",
        "nonsaturating-mlp-grid-s0",  # a one-run row is named by its run: nothing to tell apart
    ]
    assert {r["differs"]["pack"]: r["n_seeds"] for r in rows if "differs" in r} == {1: 2, 2: 2}
    wide = compare.compare_records([record("a", 0, 1, 128), record("b", 1, 2, 256)], group=False).rows
    assert {r["name"] for r in wide} == {
        "nonsaturating-mlp-grid-s0",
        "nonsaturating-mlp-grid-s1",
    }
    both = compare.compare_records([record("a", 0, 1, 128), record("b", 0, 2, 256)], group=False).rows
    assert {r["name"] for r in both} == {  # option tables count key by key
        "nonsaturating-mlp-grid-s0 (arch_options.hidden=128, pack=1)",
        "nonsaturating-mlp-grid-s0 (arch_options.hidden=256, pack=2)",
    }
    # an option one row leaves unset reads "default" in the name (None in differs)
    tuned = record("tuned", 0, 1, 128)
    tuned.config["loss_options"] = {"a": 0.5}
    options = compare.compare_records([record("plain", 0, 1, 128), tuned], group=False).rows
    assert {r["name"] for r in options} == {
        "nonsaturating-mlp-grid-s0 (loss_options.a=default)",
        "nonsaturating-mlp-grid-s0 (loss_options.a=0.5)",
    }
    assert sorted(r["differs"]["loss_options.a"] or 0 for r in options) == [0, 0.5]
    # one experiment seen twice (two folders, no grouping) has nothing to add
    same = compare.compare_records([record("a", 0, 1, 128), record("b", 0, 1, 128)], group=False).rows
    assert [r["name"] for r in same] == ["nonsaturating-mlp-grid-s0"] * 2 and "differs" not in same[0]


def test_sample_grid_panels_name_the_settings_that_tell_rows_apart(tmp_path):
    from ganlab.comparison.plot import panel_title
    from ganlab.comparison.rows import RunRecord

    record = RunRecord(RunDir(tmp_path / "hinge-mlp-ring-s0"), {"loss": "hinge"}, {"status": "complete", "step": 30})
    assert panel_title(record, {"name": "hinge-mlp-ring"}) == "hinge-mlp-ring-s0\nhinge, step 30"
    many = {"beta1": 0.0, "beta2": 0.9, "d_steps": 5, "lr_d": 0.0001, "lr_g": 0.0001, "pack": 2}
    title = panel_title(record, {"differs": many}).splitlines()
    assert title[:2] == ["hinge-mlp-ring-s0", "hinge, step 30"] and len(title) > 3  # wrapped, not one wide line
    assert max(len(line) for line in title) <= 38
    assert " ".join(title[2:]) == "beta1=0.0, beta2=0.9, d_steps=5, lr_d=0.0001, lr_g=0.0001, pack=2"
