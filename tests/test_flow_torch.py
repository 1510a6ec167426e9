"""The torch (TV-L1) flow backend: recovers known motion, honours the warm start, batches without changing the
answer, rejects bad settings in one line, and is what `backend="torch"` / `flow.backend` selects."""

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from flow_scene import gt_flow, sliding_square_clip, texture
from omnimotion_vfx.clip_geometry import ClipGeometry
from omnimotion_vfx.errors import InputError
from omnimotion_vfx.flow import FlowConfig, compute_correspondences
from omnimotion_vfx.flow.backends import DisBackend, make_backend, resolve_backend
from omnimotion_vfx.flow.torch_flow import TorchFlowBackend, TvL1Settings
from omnimotion_vfx.progress import NullProgress, StopToken
from omnimotion_vfx.tracking.builtin import build_chained_flow
from omnimotion_vfx.tracking.presets import run_preset
from omnimotion_vfx.tracking.registry import TrackerContext


def rotated_pair(size: int = 96, angle: float = 3.0, shift: tuple[float, float] = (2.6, -1.7)) -> tuple[np.ndarray, np.ndarray]:
    """Frames [2, size, size, 3] of a texture turned by `angle` degrees and shifted, and the exact flow [H, W, 2]."""
    big = texture(2 * size, 2 * size, seed=3)
    matrix = cv2.getRotationMatrix2D((size - 0.5, size - 0.5), angle, 1.0)
    matrix[:, 2] += shift
    moved = cv2.warpAffine(big, matrix, (2 * size, 2 * size), flags=cv2.INTER_CUBIC)
    crop = slice(size // 2, size // 2 + size)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64) + size // 2
    target = np.stack([xs, ys, np.ones_like(xs)], -1) @ matrix.T
    truth = np.stack([target[..., 0] - xs, target[..., 1] - ys], -1).astype(np.float32)
    return np.stack([big[crop, crop], moved[crop, crop]]), truth


def test_recovers_a_rotation_and_translation_within_a_fifth_of_a_pixel():
    video, truth = rotated_pair()
    flow = TorchFlowBackend(video, TvL1Settings())(0, 1)
    error = np.linalg.norm(flow - truth, axis=2)[4:-4, 4:-4]  # border pixels see content from outside the frame
    assert flow.dtype == np.float32 and flow.shape == truth.shape
    assert np.median(error) < 0.2 and (error < 0.5).mean() > 0.95


def test_warm_start_reaches_motion_beyond_a_single_level():
    video, masks = sliding_square_clip(frames=2, size=64, bg_step=(20, 0), fg_step=(20, 0))
    truth, visible = gt_flow(0, 1, (64, 64), (20, 0), (20, 0), masks)
    backend = TorchFlowBackend(video, TvL1Settings(levels=1))
    cold = np.linalg.norm(backend(0, 1) - truth, axis=2)[visible]
    warm = np.linalg.norm(backend(0, 1, truth + np.float32([2.5, -1.5])) - truth, axis=2)[visible]
    assert np.median(cold) > 5 and np.median(warm) < 0.5


def test_a_batch_gives_the_flows_of_single_calls():
    video, _ = sliding_square_clip(frames=3, size=48, bg_step=(2, 1), fg_step=(3, 0))
    backend = TorchFlowBackend(video, TvL1Settings(iterations=10), batch_flows=3)
    guess = np.full((48, 48, 2), 1.0, np.float32)
    batched = backend.many([(0, 1, None), (2, 0, guess), (1, 2, None)])
    singles = [backend(0, 1), backend(2, 0, guess), backend(1, 2)]
    for a, b in zip(batched, singles):
        np.testing.assert_allclose(a, b, atol=1e-3)


@pytest.mark.parametrize("settings, message", [
    ({"torch_iterations": 0}, "torch_iterations must be at least 1"),
    ({"torch_warps": 0}, "torch_warps must be at least 1"),
    ({"torch_levels": 13}, "torch_levels must be 0-12"),
    ({"torch_lambda": 0.0}, "torch_lambda must be positive"),
    ({"torch_texture": 1.5}, "torch_texture must be 0-1"),
    ({"torch_level": 3}, "unknown flow setting 'torch_level'"),
    ({"torch_iterations": "many"}, "torch_iterations must be a int"),
    ({"backend": "tvl1"}, "unknown flow backend 'tvl1'"),
])
def test_bad_settings_are_one_line_input_errors(settings, message):
    with pytest.raises(InputError, match=message) as info:
        FlowConfig().with_overrides(settings)
    assert "\n" not in str(info.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this host has CUDA")
def test_cuda_without_a_gpu_is_an_input_error():
    video, _ = sliding_square_clip(frames=2, size=32)
    with pytest.raises(InputError, match="sees no CUDA GPU"):
        make_backend(FlowConfig(backend="torch"), video, "cuda")
    assert make_backend(FlowConfig(backend="torch"), video, "auto").gray.device.type == "cpu"


def test_dis_is_the_default_and_auto_is_torch_on_cuda_only():
    assert FlowConfig().backend == "dis" and resolve_backend(FlowConfig(), "cuda").backend == "dis"
    auto = FlowConfig(backend="auto")
    assert resolve_backend(auto, "cuda").backend == "torch"
    assert resolve_backend(auto, "cpu").backend == "dis"
    assert resolve_backend(auto, "auto").backend == ("torch" if torch.cuda.is_available() else "dis")
    assert resolve_backend(auto, "cpu").dense_key() == FlowConfig().dense_key()  # shares DIS's cache


def test_config_picks_the_backend_and_the_correspondences_are_accurate():
    video, masks = sliding_square_clip(frames=3, size=64, bg_step=(2, 1), fg_step=(3, 0))
    assert isinstance(make_backend(FlowConfig(), video), DisBackend)
    assert compute_correspondences(video[:2], FlowConfig.preset("adjacent")).params["backend"] == "dis"
    assert isinstance(make_backend(FlowConfig(backend="torch"), video), TorchFlowBackend)
    corr = compute_correspondences(video, FlowConfig.preset("default", backend="torch", torch_iterations=15))
    truth, _ = gt_flow(0, 2, (64, 64), (2, 1), (3, 0), masks)
    pair = corr.pairs[(0, 2)]
    error = np.linalg.norm(pair.flow.astype(np.float32) - truth, axis=2)
    assert pair.valid.mean() > 0.6 and (error[pair.valid] < 1).mean() > 0.95
    assert corr.params["backend"] == "torch"


def test_torch_settings_leave_dis_cache_keys_and_fit_fingerprints_alone():
    assert not any(k.startswith("torch_") for k in FlowConfig(backend="dis").dense_key())
    assert not any(k.startswith("torch_") for k in FlowConfig(backend="dis").recorded())  # hashed by the engine's checkpoint
    assert FlowConfig(backend="torch").recorded()["torch_warps"] == 5
    torch_key = FlowConfig(backend="torch").dense_key()
    assert "torch_iterations" in torch_key and "dis_preset" not in torch_key and "torch_batch" not in torch_key
    assert FlowConfig(backend="torch").dense_key() != FlowConfig(backend="torch", torch_iterations=40).dense_key()


def test_flow_overrides_reach_both_trackers(tmp_path: Path):
    assert run_preset("default").with_overrides({"flow.backend": "torch"}).flow.backend == "torch"
    with pytest.raises(InputError, match="unknown flow setting"):
        run_preset("default").with_overrides({"flow.speed": 1})
    video, _ = sliding_square_clip(frames=3, size=32)
    context = TrackerContext(tmp_path, "default", "cpu", NullProgress(), StopToken(),
                             overrides={"flow.backend": "torch", "flow.torch_iterations": 5})
    tracker, config = build_chained_flow(video, ClipGeometry((1, 2, 3)), context)
    assert tracker.flow_config.backend == "torch" and config["flow"]["torch_iterations"] == 5
