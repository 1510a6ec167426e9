"""Flow backends: DIS presets are selectable; RAFT needs a weights file and torchvision, and says so in one line."""

import importlib.util

import numpy as np
import pytest

from flow_scene import gt_flow, sliding_square_clip
from omnimotion_vfx.errors import InputError
from omnimotion_vfx.flow import FlowConfig, compute_correspondences
from omnimotion_vfx.flow.backends import DisBackend


def test_dis_presets_are_selectable_and_accurate():
    video, masks = sliding_square_clip(frames=2, size=64, bg_step=(2, 1), fg_step=(3, 0))
    truth, visible = gt_flow(0, 1, (64, 64), (2, 1), (3, 0), masks)
    flows = {p: DisBackend(video, p)(0, 1) for p in ("ultrafast", "fast", "medium")}
    for flow in flows.values():
        assert np.median(np.linalg.norm(flow - truth, axis=2)[visible]) < 0.5
    assert not np.array_equal(flows["ultrafast"], flows["medium"])
    with pytest.raises(InputError, match="DIS preset"):
        FlowConfig(dis_preset="slow")


def test_dis_warm_start_reaches_motion_beyond_its_pyramid():
    video, masks = sliding_square_clip(frames=2, size=64, bg_step=(20, 0), fg_step=(20, 0))
    truth, visible = gt_flow(0, 1, (64, 64), (20, 0), (20, 0), masks)
    backend = DisBackend(video, "medium")
    cold = np.linalg.norm(backend(0, 1) - truth, axis=2)[visible]
    warm = np.linalg.norm(backend(0, 1, truth + np.float32([2.5, -1.5])) - truth, axis=2)[visible]
    assert np.median(cold) > 5 and np.median(warm) < 0.5


def one_line_input_error(config, video):
    with pytest.raises(InputError) as info:
        compute_correspondences(video, config)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_raft_without_weights_is_a_one_line_input_error(tmp_path):
    video, _ = sliding_square_clip(frames=2, size=32)
    assert "raft_weights" in one_line_input_error(FlowConfig(backend="raft"), video)
    assert "not found" in one_line_input_error(FlowConfig(backend="raft", raft_weights=str(tmp_path / "none.pth")), video)


@pytest.mark.skipif(importlib.util.find_spec("torchvision") is not None, reason="torchvision is installed")
def test_raft_without_torchvision_is_a_one_line_input_error(tmp_path):
    video, _ = sliding_square_clip(frames=2, size=32)
    weights = tmp_path / "raft_large.pth"
    weights.write_bytes(b"not read before torchvision is found")
    assert "torchvision" in one_line_input_error(FlowConfig(backend="raft", raft_weights=str(weights)), video)


def test_bad_clip_is_an_input_error():
    with pytest.raises(InputError, match="uint8"):
        compute_correspondences(np.zeros((3, 8, 8, 3), np.float32))
    with pytest.raises(InputError, match="at least 2 frames"):
        compute_correspondences(np.zeros((1, 8, 8, 3), np.uint8))
