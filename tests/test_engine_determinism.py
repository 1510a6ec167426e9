"""`--deterministic`: two fits of the same clip are bit-identical, a stopped and resumed fit equals an uninterrupted
one, the CUDA-only look-up path agrees with grid_sample, and the flag reaches the fit from the command line.

The clips are tiny but the batches are not: the gather whose backward made CPU fits differ only adds from several
threads above torch's grain size (32,768 elements), so each step draws 4,096 points, on at least two threads."""

import json

import cv2
import numpy as np
import pytest
import torch
from torch.nn import functional as F

from engine_clips import exact_correspondences, translating_clip
from omnimotion_vfx.engine import fit, preset
from omnimotion_vfx.engine.checkpoint import fingerprint
from omnimotion_vfx.engine.determinism import deterministic_mode
from omnimotion_vfx.engine.grid_lookup import bilinear_gather
from omnimotion_vfx.errors import Interrupted
from test_engine_resume import StopAfter

FRAMES, SIZE = 6, 32


@pytest.fixture(autouse=True)
def two_threads():
    """The atomic adds race only with more than one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(max(2, before))
    yield
    torch.set_num_threads(before)


def grid_config(steps: int = 10, deterministic: bool = True):
    """The `default`/`preview` architecture (grid couplings, single depth), small enough for seconds."""
    return preset("fast").with_overrides({
        "device": "cpu", "trainer.steps": steps, "trainer.deterministic": deterministic, "trainer.checkpoint_every": 3,
        "sampler.pairs_per_step": 16, "sampler.points_per_pair": 256, "sampler.error_cache_every": 4,
        "render.depth_resolution": 8})


def _clip():
    return translating_clip(FRAMES, SIZE), exact_correspondences(FRAMES, SIZE, max_gap=2)


def _parameters(tracker) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in tracker.model.state_dict().items()}


def _assert_identical(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"{len(different)} parameter tensors differ, e.g. {different[:3]}"


def test_two_deterministic_fits_are_bit_identical():
    video, corr = _clip()
    first = fit(video, corr, grid_config())
    second = fit(video, corr, grid_config())
    _assert_identical(_parameters(first), _parameters(second))
    assert first.history == second.history
    queries = np.array([[0, 10.5, 12.5], [3, 20.0, 7.0], [5, 2.0, 30.0]])
    assert all(np.array_equal(x, y) for x, y in zip(first(queries), second(queries)))
    assert not torch.are_deterministic_algorithms_enabled()  # the process-wide switch is handed back


def test_resumed_deterministic_fit_equals_an_uninterrupted_one(tmp_path):
    video, corr = _clip()
    straight = fit(video, corr, grid_config(), work_dir=tmp_path / "straight")
    with pytest.raises(Interrupted):
        fit(video, corr, grid_config(), work_dir=tmp_path / "resumed", stop=StopAfter(7))
    resumed = fit(video, corr, grid_config(), work_dir=tmp_path / "resumed")
    assert any("resumed" in event["event"] for event in resumed.events)
    _assert_identical(_parameters(straight), _parameters(resumed))
    assert resumed.history == straight.history


def test_deterministic_setting_is_part_of_the_fit_identity():
    video, corr = _clip()
    assert fingerprint(video, corr, grid_config(deterministic=True)) != fingerprint(video, corr, grid_config(deterministic=False))


def test_mode_is_held_while_any_deterministic_fit_runs():
    device = torch.device("cpu")
    with deterministic_mode(True, device):
        with deterministic_mode(True, device):
            assert torch.are_deterministic_algorithms_enabled()
        assert torch.are_deterministic_algorithms_enabled()  # the outer fit still runs
        with deterministic_mode(False, device):
            assert torch.are_deterministic_algorithms_enabled()
    assert not torch.are_deterministic_algorithms_enabled()


def test_hand_gathered_lookup_matches_grid_sample():
    """The look-up a deterministic CUDA fit uses (grid_sample's CUDA backward has no deterministic kernel)."""
    gen = torch.Generator().manual_seed(0)
    stack = torch.randn(3, 4, 5, 7, generator=gen, requires_grad=True)  # [C, T, R_h, R_w]
    frames = torch.randint(0, 4, (300,), generator=gen)
    uv = (torch.rand(300, 2, generator=gen) * 1.4 - 0.2).requires_grad_()  # some outside: border padding
    w = frames.float() * (2.0 / 3) - 1
    grid = torch.cat([uv * 2 - 1, w[:, None]], -1).view(1, -1, 1, 1, 3)
    expected = F.grid_sample(stack[None], grid, mode="bilinear", padding_mode="border", align_corners=True)[0, :, :, 0, 0].t()
    got = bilinear_gather(stack.reshape(3, -1), frames * 35, (5, 7), uv)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    weights = torch.randn(300, 3, generator=gen)
    want = torch.autograd.grad((expected * weights).sum(), [stack, uv])
    have = torch.autograd.grad((got * weights).sum(), [stack, uv])
    for a, b in zip(have, want):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_cli_flag_gives_identical_results_folders(tmp_path, run_omnivfx):
    for i, frame in enumerate(translating_clip(FRAMES, SIZE)):
        cv2.imwrite(str(tmp_path / f"plate.{1001 + i:04d}.png"), frame[..., ::-1])
    plate = str(tmp_path / "plate.%04d.png")
    env = {"OMNIVFX_ENGINE_OVERRIDES": json.dumps({"trainer.steps": 6}), "OMP_NUM_THREADS": "2"}
    for name in ("a", "b"):
        result = run_omnivfx("track", plate, "--preset", "preview", "--grid", "4", "--device", "cpu", "--deterministic",
                             "--out", tmp_path / name, env=env, timeout=120)
        assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["config"]["job"]["deterministic"] is True
    assert manifest["config"]["tracker"]["engine"]["trainer"]["deterministic"] is True
    with np.load(tmp_path / "a" / "tracks.npz") as a, np.load(tmp_path / "b" / "tracks.npz") as b:
        assert np.array_equal(a["tracks"], b["tracks"]) and np.array_equal(a["visible"], b["visible"])


@pytest.mark.parametrize("command", ["track", "submit", "pin"])
def test_flag_is_an_option_of_every_plate_command(command, run_omnivfx):
    result = run_omnivfx(command, "--help")
    assert result.returncode == 0 and "--deterministic" in result.stdout
