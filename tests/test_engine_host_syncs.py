"""The fit step never waits for the host (issue 23 item 1): no `.item()`/`.cpu()`/`bool(tensor)` and no
data-dependent ops (boolean-mask indexing -> aten::nonzero) between log steps, batches of one fixed shape
(what CUDA graphs and torch.compile need), and the torch sampler still draws valid pixels by its CDF."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from engine_clips import exact_correspondences, tiny_config, translating_clip
from omnimotion_vfx.engine.checkpoint import Checkpointer
from omnimotion_vfx.engine.model_factory import build_model
from omnimotion_vfx.engine.sampler import PairSampler
from omnimotion_vfx.engine.trainer import Trainer

SYNC_OPS = ("aten::item", "aten::_local_scalar_dense", "aten::nonzero", "aten::masked_select")
# the CPU kernels of fused Adam and of multinomial's async assert read scalars on the host; their CUDA kernels
# read them on the device, so ops under them are no sync where one costs
CPU_ONLY_READS = ("aten::_fused_adam_", "aten::_assert_async")
HOST_READS = ("item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__", "__index__")


@contextlib.contextmanager
def counting_host_reads(counts: dict[str, int]):
    """Wrap the Tensor methods that copy a value to the host; count their calls (they are the syncs on a GPU)."""
    originals = {name: getattr(torch.Tensor, name) for name in HOST_READS}

    def wrap(name, fn):
        def counted(self, *args, **kwargs):
            counts[name] = counts.get(name, 0) + 1
            return fn(self, *args, **kwargs)
        return counted

    for name, fn in originals.items():
        setattr(torch.Tensor, name, wrap(name, fn))
    try:
        yield counts
    finally:
        for name, fn in originals.items():
            setattr(torch.Tensor, name, fn)


def _under(event, names: tuple[str, ...]) -> bool:
    parent = event.cpu_parent
    while parent is not None:
        if parent.name in names:
            return True
        parent = parent.cpu_parent
    return False


def _trainer(config, frames=6, size=24):
    video = translating_clip(frames, size)
    model = build_model(frames, (size, size), config)
    sampler = PairSampler(video, exact_correspondences(frames, size, 2), config.sampler, config.trainer.seed)
    return Trainer(model, sampler, config, torch.device("cpu"), Checkpointer(None, "test"))


def test_steps_between_log_steps_make_no_host_syncs():
    trainer = _trainer(tiny_config(steps=20))
    trainer.train_step()  # first step: lazy optimizer state
    trainer.flush()
    reads: dict[str, int] = {}
    with counting_host_reads(reads), profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(5):
            trainer.step += 1
            trainer.train_step()
    ops: dict[str, int] = {}
    for event in prof.events():
        if event.name in SYNC_OPS and not _under(event, CPU_ONLY_READS):
            ops[event.name] = ops.get(event.name, 0) + 1
    assert reads == {} and ops == {}, (reads, ops)
    with counting_host_reads(reads):  # the log step reads everything back at once
        logged = trainer.flush()
    assert logged is not None and np.isfinite(logged["total"])
    assert sum(reads.values()) <= 2 and len(trainer.history) == 6


def test_batch_shapes_are_static_across_steps():
    config = tiny_config(steps=20).with_overrides({"sampler.max_gap_every": 1})
    trainer = _trainer(config)
    shapes = set()
    for step in range(12):
        if step == 6:
            trainer.refresh_error_cache()
        batch = trainer.sampler.sample(step)
        shapes.add(tuple((name, tuple(v.shape), v.dtype) for name, v in vars(batch).items()))
    assert len(shapes) == 1
    rows = config.sampler.pairs_per_step * config.sampler.points_per_pair
    assert dict((n, s) for n, s, _ in shapes.pop())["xy"] == (rows, 2)


def test_sampler_draws_valid_pixels_by_the_cdf():
    frames, size = 4, 16
    corr = exact_correspondences(frames, size, 1)
    config = tiny_config().sampler
    config.pairs_per_step, config.points_per_pair = 64, 64
    video = translating_clip(frames, size)
    sampler = PairSampler(video, corr, config, seed=3)
    error = np.zeros((frames, size, size), np.float32)
    error[:, :, 8:] = 1.0  # hard mining: the right half carries the error
    sampler.update_error_cache(np.ones(frames), error)
    hits = np.zeros((frames, size, size))
    for step in range(30):
        b = sampler.sample(step)
        real = b.mask.numpy() > 0
        src, dst, xy = b.src.numpy()[real], b.dst.numpy()[real], b.xy.numpy()[real]
        x, y = (xy - 0.5).astype(int).T
        for i, j in {(int(i), int(j)) for i, j in zip(src, dst)}:
            sel = (src == i) & (dst == j)
            assert corr.pairs[(i, j)].valid[y[sel], x[sel]].all()
        np.add.at(hits, (src, y, x), 1)
        np.testing.assert_allclose(b.target.numpy()[real], xy + [corr.pairs[(int(i), int(j))].flow[0, 0].astype(np.float32)
                                                                 for i, j in zip(src, dst)], atol=1e-3)
        colour = video[src, y, x] / 255.0
        np.testing.assert_allclose(b.colour.numpy()[real], colour, atol=1e-6)
    # the CDF: half the mass uniform, half on the (blurred) right half, so about 3:1 right vs left before the
    # valid-pixel filter (which removes a thin border only); frames drawn uniformly (equal frame error)
    left, right = hits[:, :, :6].sum(), hits[:, :, 10:].sum()
    assert right / left == pytest.approx(3.0, rel=0.1)
    per_frame = hits.sum((1, 2)) / hits.sum()
    np.testing.assert_allclose(per_frame, 0.25, atol=0.03)


@pytest.mark.parametrize("name", ["default", "preview", "paper"])
def test_a_batch_loss_traces_as_one_graph(name):
    """torch.compile(fullgraph=True) and CUDA graphs need the model's step to be one graph: no data-dependent
    Python control flow, no host reads, no shape that depends on values. Traced with dynamo on the CPU (the
    eager backend: no compiler needed), for each preset's model, and it computes the same losses as eager."""
    import torch._dynamo as dynamo

    from omnimotion_vfx.engine.config import preset
    from omnimotion_vfx.engine.losses import compute_losses

    config = preset(name).with_overrides({"device": "cpu", "trainer.steps": 20, "sampler.pairs_per_step": 4,
                                          "sampler.points_per_pair": 8})
    trainer = _trainer(config)
    batch = trainer.sampler.sample(0)
    model = trainer.model

    def losses(src, xy, dst, target, weight, colour, mask):
        codes = model.latent()
        rays = model.render(src, model.normalise(xy), dst, codes, stratified=True)
        return compute_losses(model, codes, rays, src, xy, target, weight, colour, config.loss, mask)

    args = (batch.src, batch.xy, batch.dst, batch.target, batch.weight, batch.colour, batch.mask)
    explained = dynamo.explain(losses)(*args)
    assert explained.graph_break_count == 0 and explained.graph_count == 1, explained.break_reasons
    dynamo.reset()
    torch.manual_seed(0)  # the stratified depths draw the same numbers in both runs
    compiled = torch.compile(losses, fullgraph=True, backend="eager")(*args)
    torch.manual_seed(0)
    eager = losses(*args)
    assert compiled.keys() == eager.keys()
    for key in eager:
        torch.testing.assert_close(compiled[key], eager[key])
