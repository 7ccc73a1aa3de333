"""`ganlab theory`: the closed forms against independent computations (scipy quadrature, brute
force), the claims' verdict logic, the request checks, and every claim's --quick run passing."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from ganlab.errors import ConfigError, PluginError
from ganlab.theory import CLAIMS
from ganlab.theory import densities as dens
from ganlab.theory.common import Check
from ganlab.theory.runner import plan, run_claims
from ganlab.theory.settings import Settings

P, Q = (0.0, 1.0), (1.5, 0.75)  # the 1D pair of dstar, value and lsgan: (mean, std)


def scipy_jsd(p: tuple[float, float], q: tuple[float, float]) -> float:
    """JSD in nats by scipy's adaptive quadrature over the real line, from scipy's pdfs."""
    fp, fq = stats.norm(*p).pdf, stats.norm(*q).pdf

    def integrand(x: float) -> float:
        a, b = fp(x), fq(x)
        m = (a + b) / 2
        return 0.5 * ((a * math.log(a / m) if a > 0 else 0.0) + (b * math.log(b / m) if b > 0 else 0.0))

    return integrate.quad(integrand, -np.inf, np.inf, limit=200)[0]


def _grid_pair(p=P, q=Q):
    a, b = dens.gaussian1d(*p), dens.gaussian1d(*q)
    return a, b, dens.covering_grid1d(a, b)


# --- closed forms -------------------------------------------------------------------------------
@pytest.mark.parametrize("q", [(1.5, 0.75), (0.5, 1.0), (4.0, 1.0), (-2.0, 3.0)])
def test_jsd_of_two_gaussians_matches_scipy_quadrature(q):
    a, b, grid = _grid_pair(P, q)
    assert dens.jsd(a, b, grid) == pytest.approx(scipy_jsd(P, q), rel=1e-7, abs=1e-12)


def test_jsd_is_zero_for_equal_densities_and_log2_for_disjoint_ones():
    a, b, grid = _grid_pair(P, P)
    assert dens.jsd(a, b, grid) == pytest.approx(0.0, abs=1e-12)
    a, b, grid = _grid_pair((0.0, 0.1), (50.0, 0.1))
    assert dens.jsd(a, b, grid) == pytest.approx(math.log(2), rel=1e-9)


def test_dstar_is_the_density_ratio_and_maximises_v_pointwise():
    x = torch.linspace(-3, 3, 13, dtype=torch.float64)[:, None]
    a, b = dens.gaussian1d(*P), dens.gaussian1d(*Q)
    d = dens.dstar(a.log_prob(x), b.log_prob(x))
    pd, pg = stats.norm(*P).pdf(x[:, 0].numpy()), stats.norm(*Q).pdf(x[:, 0].numpy())
    np.testing.assert_allclose(d.numpy(), pd / (pd + pg), rtol=1e-12)
    # brute force: at each x, the D in (0, 1) that maximises p_d log D + p_g log(1 - D)
    candidates = np.linspace(1e-6, 1 - 1e-6, 1_000_001)
    best = [
        candidates[np.argmax(u * np.log(candidates) + v * np.log1p(-candidates))] for u, v in zip(pd, pg, strict=True)
    ]
    np.testing.assert_allclose(d.numpy(), best, atol=2e-6)


def test_v_at_dstar_is_minus_log4_plus_twice_jsd_against_scipy():
    a, b, grid = _grid_pair()
    fp, fq = stats.norm(*P).pdf, stats.norm(*Q).pdf

    def v(x: float) -> float:  # p_d log D* + p_g log(1 - D*), straight from the definition
        u, w = fp(x), fq(x)
        return (u * math.log(u / (u + w)) if u > 0 else 0.0) + (w * math.log(w / (u + w)) if w > 0 else 0.0)

    by_scipy = integrate.quad(v, -np.inf, np.inf, limit=200)[0]
    assert dens.value_at_dstar(a, b, grid) == pytest.approx(by_scipy, rel=1e-7)
    assert by_scipy == pytest.approx(-math.log(4) + 2 * scipy_jsd(P, Q), rel=1e-7)


def test_v_at_dstar_is_minus_log4_exactly_when_pg_equals_pdata():
    a, b, grid = _grid_pair(P, P)
    assert dens.value_at_dstar(a, b, grid) == pytest.approx(-math.log(4), abs=1e-12)


def test_lsgan_dstar_minimises_the_least_squares_d_loss_pointwise():
    x = torch.linspace(-3, 3, 7, dtype=torch.float64)[:, None]
    a_code, b_code = -1.0, 1.0
    lp, lq = dens.gaussian1d(*P).log_prob(x), dens.gaussian1d(*Q).log_prob(x)
    d = dens.lsgan_dstar(lp, lq, a_code, b_code)
    candidates = np.linspace(-2, 2, 400_001)
    for u, w, got in zip(lp.exp().numpy(), lq.exp().numpy(), d.numpy(), strict=True):
        loss = u * (candidates - b_code) ** 2 + w * (candidates - a_code) ** 2
        assert got == pytest.approx(candidates[np.argmin(loss)], abs=2e-5)
        assert got == pytest.approx((b_code * u + a_code * w) / (u + w), rel=1e-12)


def test_lsgan_objective_at_dstar_is_half_pearson_chi2_against_scipy():
    from ganlab.theory import lsgan

    grid = dens.covering_grid1d(dens.gaussian1d(*P), dens.gaussian1d(*Q))
    fp, fq = stats.norm(*P).pdf, stats.norm(*Q).pdf
    # chi^2_Pearson(p_d + p_g || 2 p_g) = integral (2 p_g - (p_d + p_g))^2 / (p_d + p_g)   (Mao et al. 2017, eq. 8)
    chi2 = integrate.quad(lambda x: (fq(x) - fp(x)) ** 2 / (fp(x) + fq(x)), -30, 30, limit=200, points=[0, 1.5])[0]
    assert lsgan.half_pearson(grid) == pytest.approx(chi2 / 2, rel=1e-7)
    assert lsgan.objective_at_dstar(grid) == pytest.approx(chi2 / 2, rel=1e-7)


def test_pearson_chi2_of_a_density_against_itself_is_zero_and_is_not_symmetric():
    grid = dens.grid1d(-20, 20, 8001)
    p = dens.gaussian1d(0, 1).log_prob(grid.points).exp()
    q = dens.gaussian1d(0, 2).log_prob(grid.points).exp()
    assert dens.pearson_chi2(p, p, grid) == pytest.approx(0.0, abs=1e-15)
    # closed form for zero-mean Gaussians: chi^2(p || q) = integral q^2/p - 1 = s_p / (s_q^2 sqrt(2/s_q^2 - 1/s_p^2)) - 1
    # with s_p = 2, s_q = 1 (the integral converges): 2 / sqrt(2 - 1/4) - 1
    assert dens.pearson_chi2(q, p, grid) == pytest.approx(2 / math.sqrt(1.75) - 1, rel=1e-8)


def test_mixture_density_integrates_to_one_and_matches_its_samples():
    from ganlab.theory.dstar import P_DATA_2D

    grid = dens.grid2d(-5, 5, 301)
    assert grid.integrate(P_DATA_2D.log_prob(grid.points).exp()) == pytest.approx(1.0, abs=1e-6)
    draws = P_DATA_2D.sample(20_000, torch.Generator().manual_seed(0))
    assert draws.mean(0).tolist() == pytest.approx([0.0, 0.0], abs=0.03)
    assert draws[:, 0].var().item() == pytest.approx(1.0 + 0.25, rel=0.05)  # means +-1, std 0.5


# --- verdicts and requests ----------------------------------------------------------------------
def test_check_relations_pass_and_fail_on_the_right_side():
    assert Check("c", 0.02, 0.0, 0.03).passed and not Check("c", -0.04, 0.0, 0.03).passed
    assert Check("l", 10.0, 10.0, 0.0, "at_least").passed and not Check("l", 9.99, 10.0, 0.0, "at_least").passed
    assert Check("m", 1e-3, 0.0, 1e-3, "at_most").passed and not Check("m", 1.1e-3, 0.0, 1e-3, "at_most").passed
    assert not Check("nan", float("nan"), 0.0, 1.0).passed


def test_unknown_claim_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="unknown claim 'dstr'; valid claims: dstar, value, lsgan, saturation"):
        plan(["dstr"], Settings())


@pytest.mark.parametrize("seed", [-1, 2**32, True])
def test_seed_outside_0_to_2_32_is_refused(seed):
    with pytest.raises(ConfigError, match="--seed must be an integer from 0 to 4294967295"):
        plan([], Settings(seed=seed))


def test_loss_applies_to_dstar_and_saturation_only():
    assert plan([], Settings(loss="nonsaturating")) == ["dstar", "saturation"]
    assert plan([], Settings(loss="lsgan")) == ["saturation"]  # its D loss is not -V
    with pytest.raises(ConfigError, match="--loss applies to the claims dstar and saturation only, not 'value'"):
        plan(["value"], Settings(loss="minimax"))
    with pytest.raises(ConfigError, match="claim 'dstar' does not apply to loss 'lsgan': its d_loss is not -V"):
        plan(["dstar"], Settings(loss="lsgan"))
    with pytest.raises(PluginError, match="unknown loss 'minmax'; did you mean 'minimax'"):
        plan(["saturation"], Settings(loss="minmax"))


@pytest.fixture(scope="module")
def lsgan_seed0():
    return run_claims(["lsgan"], Settings(quick=True))[0]


def test_a_tighter_tolerance_through_the_library_makes_a_claim_fail_with_the_same_numbers(lsgan_seed0):
    (tight,) = run_claims(["lsgan"], Settings(quick=True, tolerances={"lsgan": 1e-9}))
    assert lsgan_seed0.passed and not tight.passed
    assert tight.to_dict()["details"] == lsgan_seed0.to_dict()["details"] | {
        "checks": tight.to_dict()["details"]["checks"]
    }
    assert [c.measured for c in tight.checks] == [c.measured for c in lsgan_seed0.checks]  # same seed, same numbers


def test_another_seed_gives_other_numbers(lsgan_seed0):
    (other,) = run_claims(["lsgan"], Settings(quick=True, seed=4))
    assert other.headline.measured != lsgan_seed0.headline.measured
    assert other.headline.expected == lsgan_seed0.headline.expected  # the closed form has no seed


def test_running_claims_leaves_torch_global_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    run_claims(["lsgan"], Settings(quick=True))
    assert torch.equal(torch.rand(3), expected)


# --- the quick run of every claim passes ----------------------------------------------------------
FAST = {"lsgan"}  # under ~2 s; the others are marked slow


@pytest.mark.parametrize("claim", [c if c in FAST else pytest.param(c, marks=pytest.mark.slow) for c in CLAIMS])
def test_quick_run_of_each_claim_passes(claim, tmp_path):
    (result,) = run_claims([claim], Settings(quick=True, out=tmp_path))
    failed = [c.to_dict() for c in result.checks if not c.passed]
    assert result.passed, failed
    assert result.plots and all((tmp_path / p.rsplit("/", 1)[-1]).stat().st_size > 10_000 for p in result.plots)


# --- the command --------------------------------------------------------------------------------
@pytest.mark.slow
def test_json_is_the_only_stdout_and_has_the_documented_keys(cli, tmp_path):
    result = cli("theory", "saturation", "lsgan", "--quick", "--format", "json", "--out", tmp_path / "plots")
    assert result.code == 0, result.err
    claims = json.loads(result.out)["claims"]
    assert [c["id"] for c in claims] == ["lsgan", "saturation"]  # table order, whatever the order asked
    for c in claims:
        assert list(c) == ["id", "statement", "measured", "expected", "tolerance", "passed", "details"]
        assert c["passed"] is True and isinstance(c["measured"], float)
    assert (tmp_path / "plots" / "theory-saturation.png").is_file()
    assert (tmp_path / "plots" / "theory-lsgan.png").is_file()


def test_table_names_each_claim_and_the_count(cli, tmp_path):
    result = cli("theory", "lsgan", "--quick", "--out", tmp_path)
    assert result.code == 0, result.err
    assert "lsgan" in result.out and "pass" in result.out
    assert "1 of 1 claims passed" in result.out


@pytest.mark.slow
def test_a_failing_claim_exits_1_and_still_reports(cli, tmp_path):
    # saturation measures --loss against minimax; minimax against itself has ratio 1, not >= 10
    result = cli("theory", "saturation", "--quick", "--loss", "minimax", "--format", "json", "--out", tmp_path)
    assert result.code == 1
    (claim,) = json.loads(result.out)["claims"]
    assert claim["passed"] is False and claim["measured"] == pytest.approx(1.0, abs=1e-9)


def test_unknown_claim_is_one_error_line_exit_1_and_no_folder(cli, tmp_path):
    result = cli("theory", "dstr", "--out", tmp_path / "never")
    assert result.code == 1
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: unknown claim 'dstr'; valid claims: dstar, value")
    assert not (tmp_path / "never").exists()


def test_a_bad_request_is_refused_without_importing_torch():
    code = (
        "import sys\n"
        "sys.argv = ['ganlab', 'theory', 'dstr']\n"
        "from ganlab.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 1\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Error: unknown claim 'dstr'" in done.stderr
