"""The GPU lane (issue 12): `python -m pytest -m gpu`. Every test here needs CUDA and is skipped
without it; the CPU suite covers the same flags on the CPU (tests/test_step.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganlab.run import runner
from ganlab.run.trainer import Trainer, read_stats, train
from tests.conftest import tiny_config

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def cuda_config(**overrides):
    values = dict(device="cuda", batch_size=32, image_size=16, arch_options={"width": 16}, latent_dim=16)
    return tiny_config(**(values | overrides))


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
@pytest.mark.parametrize("k", [1, 2])
def test_steps_make_no_host_sync_but_the_allowed_decisions(precision, k):
    """Under set_sync_debug_mode("error") any synchronising call raises; ganlab.run.device.host_read
    lifts it for the one decision per update and the statistics read on logging steps."""
    trainer = Trainer(cuda_config(precision=precision, d_steps=k, log_every=3))
    train(trainer, 2)  # contract checks, cudnn.benchmark autotuning, lazy CUDA init
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        train(trainer, 8)
    finally:
        torch.cuda.set_sync_debug_mode(0)
    assert trainer.step == 8 and trainer.skipped == 0


def test_data_and_noise_live_on_the_device_and_resume_is_exact_in_the_rng(tmp_path):
    trainer = Trainer(cuda_config())
    assert trainer.train_data.images.is_cuda and trainer.gen.device.type == "cuda"
    assert trainer.noise(4).is_cuda and trainer.real_batch().is_cuda
    full, _ = runner.start(cuda_config(runs_dir=str(tmp_path), name="full", steps=6, checkpoint_every=100))
    half, _ = runner.start(cuda_config(runs_dir=str(tmp_path), name="half", steps=3, checkpoint_every=100))
    resumed, _ = runner.resume(half.path, {"steps": 6})
    a, b = full.checkpoint("last"), resumed.checkpoint("last")
    assert torch.equal(a["noise_rng"], b["noise_rng"]) and torch.equal(a["rng"]["data"], b["rng"]["data"])
    # weights: same up to non-deterministic kernels (atomics in cudnn backward); README says so
    for key in a["G"]:
        if a["G"][key].is_floating_point():
            torch.testing.assert_close(a["G"][key], b["G"][key], rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize(
    "flags",
    [
        {"precision": "bf16"},
        {"precision": "fp16"},
        {"compile": True},
        {"channels_last": True, "precision": "bf16", "compile": True},
    ],
    ids=["bf16", "fp16", "compile", "bf16-channels-last-compile"],
)
def test_speed_flags_train_on_cuda(tmp_path, flags):
    run, summary = runner.start(cuda_config(runs_dir=str(tmp_path), name="r", steps=20, **flags))
    rows = run.metrics()
    assert summary["status"] == "complete" and rows[-1]["step"] == 20
    assert all(np.isfinite(r["d_loss"]) and np.isfinite(r["g_loss"]) for r in rows)
    assert trainer_fused(flags)


def trainer_fused(flags) -> bool:
    trainer = Trainer(cuda_config(**flags))
    return all(group["fused"] for opt in (trainer.opt_g, trainer.opt_d) for group in opt.param_groups)


@pytest.mark.third_party_plugins
def test_wgan_gp_penalty_runs_eager_under_compile_and_bf16():
    pytest.importorskip("ganlab_wgan")
    trainer = Trainer(cuda_config(loss="wgan-gp", d_steps=2, compile=True, precision="bf16"))
    for _ in range(3):
        stats = read_stats(trainer, trainer.train_step())
    assert np.isfinite(stats["penalty"]) and stats["penalty"] > 0


@pytest.mark.parametrize("provider", ["CUDAExecutionProvider", "TensorrtExecutionProvider"])
def test_onnxruntime_gpu_providers_match_torch(provider):
    ort = pytest.importorskip("onnxruntime")
    if provider not in ort.get_available_providers():
        pytest.skip(f"onnxruntime has no {provider} here (install onnxruntime-gpu / TensorRT)")
    from ganlab import plugins
    from ganlab.deploy.export import TOLERANCE, Exportable, to_onnx

    arch, _ = plugins.create("arch", "dcgan", {"width": 16})
    torch.manual_seed(0)
    G, _ = arch.build((1, 16, 16), 16)
    module = Exportable(G.eval(), uint8=False).eval()
    model = to_onnx(module, 16, "image", None, "arch 'dcgan'").SerializeToString()
    session = ort.InferenceSession(model, providers=[provider])
    assert session.get_providers()[0] == provider
    z = np.random.default_rng(0).standard_normal((8, 16), dtype=np.float32)
    with torch.no_grad():
        expected = module.cuda()(torch.from_numpy(z).cuda()).cpu().numpy()
    got = session.run(None, {"z": z})[0]
    tolerance = TOLERANCE if provider == "CUDAExecutionProvider" else 1e-2  # TensorRT may pick fp16/tf32 tactics
    assert np.abs(got - expected).max() <= tolerance


def test_evaluation_keeps_generated_images_on_the_device():
    from ganlab.metrics.subject import Subject

    trainer = Trainer(cuda_config())
    batches = list(Subject.from_trainer(trainer).sample_batches(10, 4, on_device=True))
    assert [len(b) for b in batches] == [4, 4, 2] and all(b.is_cuda for b in batches)


def test_the_classifier_metrics_run_on_the_device_and_match_the_cpu():
    """classifier_fd / classes_covered with G on CUDA: generated images go through the classifier
    on the GPU, and the values equal the CPU evaluation of the same weights."""
    from ganlab.metrics.evaluate import EvalOptions, evaluate
    from ganlab.metrics.subject import Subject

    trainer = Trainer(cuda_config())
    train(trainer, 2)
    options = EvalOptions(n=200)
    on_gpu = evaluate(Subject.from_trainer(trainer), ["classifier_fd", "classes_covered"], options)
    assert next(Subject.from_trainer(trainer).sample_batches(4, 4, on_device=True)).is_cuda
    trainer.G.cpu()
    trainer.device = torch.device("cpu")
    on_cpu = evaluate(Subject.from_trainer(trainer), ["classifier_fd", "classes_covered"], options)
    assert on_gpu["classes_covered"]["value"] == on_cpu["classes_covered"]["value"]
    assert on_gpu["classifier_fd"]["value"] == pytest.approx(on_cpu["classifier_fd"]["value"], rel=1e-3)


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_ddp_on_two_gpus_uses_nccl_and_sync_batchnorm(tmp_path):
    """`ganlab train --nproc 2` on CUDA: one GPU per rank over nccl, dcgan's BatchNorm synchronised
    over the global batch; the run completes and rank 0 wrote it."""
    import json

    from tests.helpers import run_ganlab

    args = ["train", "--device", "cuda", "--image-size", "16", "--arch-opt", "width=16", "--batch-size", "32"]
    result = run_ganlab(*args, "--steps", "6", "--nproc", "2", "--name", "nccl", cwd=tmp_path, timeout=300)
    assert result.code == 0, result.err
    summary = json.loads((tmp_path / "runs" / "nccl" / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["step"] == 6
