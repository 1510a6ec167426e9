"""Synthetic plates with exact ground truth: a textured background under a moving camera and textured objects
that move, rotate, scale and pass in front of one another and out of the frame.

Why synthetic: real footage has no exact tracks, and accuracy differences of a pixel are what separate a good
tracker from chained flow. Here each pixel is rendered by inverse-warping its layer's texture (bilinear), so the
true position of any point in any frame is the layer's analytic transform, and its visibility is "inside the
image and no nearer layer covers it", tested with the layers' analytic shapes. Everything derives from
`SceneParams.seed`, so a clip is reproducible from its parameters alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .layers import Layer, Shape, apply, similarity_matrices, smooth_path
from .textures import make_texture


@dataclass(frozen=True)
class SceneParams:
    """One clip. Speeds are in pixels per frame at this clip's resolution; angles in degrees."""

    seed: int
    width: int = 256
    height: int = 256
    frames: int = 24
    objects: int = 3
    camera_speed: float = 2.0
    camera_pan: float = 0.3  # swing amplitude as a fraction of the width (points leave and come back)
    camera_roll: float = 6.0  # max camera rotation
    camera_zoom: float = 0.12  # max log-zoom
    camera_shake: float = 0.6  # amplitude of a faster wobble, pixels
    object_speed: float = 3.0
    object_spin: float = 1.5  # max degrees per frame
    object_scale: float = 0.2  # max log-scale change
    photometric: bool = False  # sensor noise, slight blur, brightness drift


@dataclass
class Scene:
    params: SceneParams
    layers: list[Layer]  # back (background) to front

    @property
    def size(self) -> tuple[int, int]:
        return self.params.width, self.params.height

    @property
    def frames(self) -> int:
        return self.params.frames


def build_scene(params: SceneParams) -> Scene:
    rng = np.random.default_rng(params.seed)
    layers = [_background(rng, params)]
    for k in range(params.objects):
        layers.append(_object(rng, params, k))
    return Scene(params, layers)


def _background(rng: np.random.Generator, p: SceneParams) -> Layer:
    t = np.arange(p.frames)
    amplitude = p.camera_pan * p.width
    pan = np.stack([smooth_path(rng, p.frames, amplitude, p.camera_speed * rng.uniform(0.6, 1.0), p.camera_shake),
                    smooth_path(rng, p.frames, amplitude * 0.6, p.camera_speed * rng.uniform(0.3, 0.7), p.camera_shake)], 1)
    roll = np.deg2rad(p.camera_roll) * np.sin(2 * np.pi * t / max(p.frames * 1.5, 24) + rng.uniform(0, 2 * np.pi))
    zoom = np.exp(p.camera_zoom * np.sin(2 * np.pi * t / max(p.frames * 1.2, 20) + rng.uniform(0, 2 * np.pi)))
    half_diag = 0.5 * np.hypot(p.width, p.height) / zoom.min()
    reach = np.abs(pan).max(0) + half_diag + 8
    tex_w, tex_h = (2 * reach).astype(int)
    texture = make_texture(rng, tex_w, tex_h)
    look_at = np.array([tex_w / 2, tex_h / 2]) + pan  # texture point at the image centre
    image_centre = np.tile([p.width / 2, p.height / 2], (p.frames, 1))
    matrices = similarity_matrices(zoom, roll, image_centre, look_at)
    return Layer("background", texture, matrices)


def _object(rng: np.random.Generator, p: SceneParams, k: int) -> Layer:
    t = np.arange(p.frames, dtype=np.float64)
    short = min(p.width, p.height)
    radius = short * rng.uniform(0.13, 0.22)
    kind = ("ellipse", "polygon", "star")[int(rng.integers(0, 3))]
    harmonics = tuple((int(o), float(rng.uniform(0.05, 0.15)), float(rng.uniform(0, 2 * np.pi))) for o in rng.integers(2, 6, 2))
    shape = Shape(kind, radius, aspect=float(rng.uniform(0.55, 0.95)), sides=int(rng.integers(3, 8)), harmonics=harmonics)
    # Lissajous paths that cross the middle of the frame near mid-clip, so objects overlap one another, and
    # swing wide enough to leave the frame and come back on long clips.
    cross = p.frames * rng.uniform(0.35, 0.65)
    centre = np.zeros((p.frames, 2))
    for axis, extent in enumerate((p.width, p.height)):
        amplitude = extent * rng.uniform(0.35, 0.6)
        speed = p.object_speed * rng.uniform(0.5, 1.0) * (1 if axis == 0 else rng.uniform(0.4, 0.8))
        omega = speed / amplitude * rng.choice([-1.0, 1.0])
        centre[:, axis] = extent / 2 + extent * rng.uniform(-0.08, 0.08) + amplitude * np.sin(omega * (t - cross))
    spin = np.deg2rad(p.object_spin) * rng.uniform(-1, 1)
    angle = rng.uniform(0, 2 * np.pi) + spin * t
    scale = np.exp(p.object_scale * np.sin(2 * np.pi * t / max(p.frames, 16) * rng.uniform(0.5, 1.0) + rng.uniform(0, 2 * np.pi)))
    matrices = similarity_matrices(scale, angle, centre, np.zeros((p.frames, 2)))
    size = int(np.ceil(2 * radius * 1.4)) + 4
    texture = make_texture(rng, size, size, n_shapes=max(6, size * size // 600))
    return Layer(f"object{k + 1}", texture, matrices, shape, offset=np.array([-size / 2, -size / 2]))


def render(scene: Scene, frames: list[int] | None = None) -> np.ndarray:
    """The clip (or only `frames`, 0-based) as uint8 [T, H, W, 3] RGB; a frame's pixels do not depend on
    which other frames are rendered (its noise has its own seed)."""
    p = scene.params
    width, height = scene.size
    frames = list(range(p.frames)) if frames is None else list(frames)
    video = np.empty((len(frames), height, width, 3), np.uint8)
    for i, t in enumerate(frames):
        frame = _warp_layer(scene.layers[0], t, (0, 0, width, height))
        for layer in scene.layers[1:]:
            box = _bounding_box(layer, t, width, height)
            if box is None:
                continue
            x0, y0, x1, y1 = box
            centres = np.stack(np.meshgrid(np.arange(x0, x1) + 0.5, np.arange(y0, y1) + 0.5), -1)
            mask = layer.covers(t, centres)
            region = frame[y0:y1, x0:x1]
            region[mask] = _warp_layer(layer, t, box)[mask]
        if p.photometric:
            frame = _photometric(frame, t, p.frames, np.random.default_rng([p.seed, 1, t]))
        video[i] = np.clip(frame * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return video


def _bounding_box(layer: Layer, t: int, width: int, height: int) -> tuple[int, int, int, int] | None:
    """Pixel box (x0, y0, x1, y1) that holds the object in frame t, or None when it is fully outside: shapes
    reach at most 1.4 radii from their centre (stars), so only that box needs the inside test and the warp."""
    matrix = layer.matrices[t]
    reach = 1.4 * layer.shape.radius * np.sqrt(abs(np.linalg.det(matrix[:2, :2]))) + 2
    cx, cy = matrix[:2, 2]
    x0, y0 = max(int(cx - reach), 0), max(int(cy - reach), 0)
    x1, y1 = min(int(np.ceil(cx + reach)), width), min(int(np.ceil(cy + reach)), height)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _warp_layer(layer: Layer, t: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """Inverse warp of the image pixels in box (x0, y0, x1, y1): pixel index -> texture pixel index, with
    centres at +0.5 on both sides."""
    x0, y0, x1, y1 = box
    to_layer = np.linalg.inv(layer.matrices[t])
    shift_in = np.array([[1, 0, x0 + 0.5], [0, 1, y0 + 0.5], [0, 0, 1]])
    offset = np.zeros(2) if layer.offset is None else layer.offset
    shift_out = np.array([[1, 0, -0.5 - offset[0]], [0, 1, -0.5 - offset[1]], [0, 0, 1]])
    index_map = (shift_out @ to_layer @ shift_in)[:2]
    return cv2.warpAffine(layer.texture, index_map, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REFLECT101)


def _photometric(frame: np.ndarray, t: int, frames: int, rng: np.random.Generator) -> np.ndarray:
    """Mild camera realism that flow must tolerate: slow exposure drift, lens softness, sensor noise."""
    gain = 1.0 + 0.05 * np.sin(2 * np.pi * t / max(frames, 8))
    frame = cv2.GaussianBlur(frame, (0, 0), 0.6) * gain
    return frame + rng.normal(0.0, 1.5 / 255.0, frame.shape).astype(np.float32)


def front_layer(scene: Scene, frame: int, xy: np.ndarray) -> np.ndarray:
    """Index (into scene.layers) of the front-most layer at image points xy [N, 2] in `frame`."""
    index = np.zeros(len(xy), np.int64)
    for k, layer in enumerate(scene.layers[1:], start=1):
        index[layer.covers(frame, xy)] = k
    return index


def ground_truth(scene: Scene, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact tracks and visibility for queries [N, 3] (0-based frame, x, y): tracks float64 [N, T, 2] (image
    pixels, may lie outside the image) and visible bool [N, T]. A point follows the layer that is front-most
    at its query position; it is visible where it is inside the image and no nearer layer covers it."""
    queries = np.asarray(queries, np.float64).reshape(-1, 3)
    width, height = scene.size
    frames = queries[:, 0].astype(np.int64)
    layer_of = query_layers(scene, queries)
    tracks = np.zeros((len(queries), scene.frames, 2))
    for k in np.unique(layer_of):
        rows = layer_of == k
        matrices = scene.layers[k].matrices
        to_layer = np.linalg.inv(matrices[frames[rows]])
        local = np.einsum("nij,nj->ni", to_layer[:, :2, :2], queries[rows, 1:]) + to_layer[:, :2, 2]
        tracks[rows] = np.einsum("tij,nj->nti", matrices[:, :2, :2], local) + matrices[None, :, :2, 2]
    inside = (tracks[..., 0] >= 0) & (tracks[..., 0] < width) & (tracks[..., 1] >= 0) & (tracks[..., 1] < height)
    visible = inside.copy()
    for t in range(scene.frames):
        front = front_layer(scene, t, tracks[:, t])
        visible[:, t] &= front == layer_of
    return tracks, visible


def query_layers(scene: Scene, queries: np.ndarray) -> np.ndarray:
    """Layer index of each query [N, 3] (0-based frame, x, y)."""
    queries = np.asarray(queries, np.float64).reshape(-1, 3)
    out = np.zeros(len(queries), np.int64)
    for t in np.unique(queries[:, 0].astype(np.int64)):
        rows = queries[:, 0].astype(np.int64) == t
        out[rows] = front_layer(scene, int(t), queries[rows, 1:])
    return out


@dataclass
class PointSet:
    """Benchmark points: queries [N, 3] (0-based frame, x, y) with exact tracks [N, T, 2] and visible [N, T]."""

    queries: np.ndarray
    tracks: np.ndarray
    visible: np.ndarray
    layers: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


def sample_points(scene: Scene, count: int, seed: int, edge_margin: float = 1.5, background_keep: float = 0.2,
                  frame: int | None = None) -> PointSet:
    """`count` ground-truth trajectories through random points of random frames, as annotators would pick them:
    away from layer boundaries (an edge pixel's layer is ambiguous) and from the image border, and with only
    `background_keep` of background candidates kept so moving objects get a fair share of the points. `frame`
    fixes the query frame (0-based) instead of drawing one per point."""
    rng = np.random.default_rng([scene.params.seed, seed, 2])
    width, height = scene.size
    picked: list[np.ndarray] = []
    while sum(len(c) for c in picked) < count:
        n = 4 * count
        frames = rng.integers(0, scene.frames, n) if frame is None else np.full(n, frame)
        cand = np.column_stack([frames, rng.uniform(4, width - 4, n), rng.uniform(4, height - 4, n)])
        layer = query_layers(scene, cand)
        clean = (layer > 0) | (rng.uniform(0, 1, n) < background_keep)
        for dx, dy in ((edge_margin, 0), (-edge_margin, 0), (0, edge_margin), (0, -edge_margin)):
            clean &= query_layers(scene, cand + (0, dx, dy)) == layer
        picked.append(cand[clean])
    queries = np.concatenate(picked)[:count]
    tracks, visible = ground_truth(scene, queries)
    return PointSet(queries, tracks, visible, query_layers(scene, queries))


def tapvid_queries(points: PointSet, mode: str = "strided", stride: int = 5) -> PointSet:
    """TAP-Vid query sampling over GT trajectories. 'strided': a query at every `stride`-th frame (0, 5, 10, ...)
    where the point is visible; 'first': one query at the first visible frame. GT is copied per query."""
    rows, frames = [], []
    for n, vis in enumerate(points.visible):
        if mode == "strided":
            ts = [t for t in range(0, vis.shape[0], stride) if vis[t]]
        elif mode == "first":
            ts = [int(np.argmax(vis))] if vis.any() else []
        else:
            raise ValueError(f"unknown query mode {mode!r}; use 'strided' or 'first'")
        rows += [n] * len(ts)
        frames += ts
    rows_a, frames_a = np.asarray(rows, np.int64), np.asarray(frames, np.int64)
    xy = points.tracks[rows_a, frames_a]
    queries = np.column_stack([frames_a, xy]).astype(np.float64)
    return PointSet(queries, points.tracks[rows_a], points.visible[rows_a], points.layers[rows_a])
