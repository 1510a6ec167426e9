"""The bijection is exactly invertible (what makes every correspondence cycle-consistent)."""

import torch

from omnimotion_vfx.engine.bijection import Bijection
from omnimotion_vfx.engine.config import BijectionConfig


def _randomised(config: BijectionConfig) -> Bijection:
    torch.manual_seed(0)
    bij = Bijection(16, config)
    with torch.no_grad():  # the last layers start at zero (identity map): give them fitted-like weights
        for layer in bij.layers:
            layer.head[-1].weight.normal_(0, 0.1)
            layer.head[-1].bias.normal_(0, 0.1)
        if bij.prewarp is not None:
            bij.prewarp.net[-1].weight.normal_(0, 0.1)
    return bij


@torch.no_grad()
def _round_trip_error(bij: Bijection) -> tuple[float, float]:
    codes = torch.randn(5, 16)
    x = torch.rand(4096, 8, 3) * 2 - 1
    frames = torch.randint(0, 5, (4096,))
    y = bij(x, frames, codes)
    back = bij.inverse(y, frames, codes)
    return float((back - x).abs().max()), float((y - x).abs().mean())


def test_round_trip_below_1e4_float32():
    err, moved = _round_trip_error(_randomised(BijectionConfig(layers=6, hidden=64, depth=2, latent_hidden=32)))
    assert moved > 0.05  # the map really moves points
    assert err < 1e-4


def test_round_trip_with_affine_prewarp():
    config = BijectionConfig(layers=6, hidden=32, depth=1, latent_hidden=16, affine_prewarp=True)
    err, moved = _round_trip_error(_randomised(config))
    assert moved > 0.05
    assert err < 1e-4


def test_starts_as_identity():
    bij = Bijection(16, BijectionConfig(layers=4, hidden=16, depth=1, latent_hidden=8))
    x = torch.rand(100, 3)
    assert torch.allclose(bij(x, torch.zeros(100, dtype=torch.long), torch.randn(2, 16)), x)
