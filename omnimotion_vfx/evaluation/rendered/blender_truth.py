"""Exact ground truth of a built scene (runs inside bpy): surface points picked as annotators pick them, then
followed through every frame by the geometry itself.

A point is a fixed spot on a mesh: a loop triangle and barycentric weights on it. Its position in frame t is
those weights applied to the triangle's vertices as Blender evaluates them at t (modifiers, parents and
animation included), projected through the camera. It is visible when it lies in front of the camera, inside
the image, and a ray from the camera reaches it before any other surface (self-occlusion included).

Picking (TAP-Vid style): rays through random pixels of a few frames land on surfaces; a hit is kept only when
its four neighbours one pixel away land on the same object at nearly the same depth and the surface is not seen
edge-on, so no point sits on a depth edge. Half the points (rounded up) are shared out evenly among the
objects, the rest go to the background (ground, walls), which also fills any shortfall; a third are picked in
frame 0 so that long clips have points to score at their last frame. Occluders closer than 0.2 % of the
distance (plus 2 mm) in front of a point do not count: surfaces that touch it are not occluders.
"""

from __future__ import annotations

from dataclasses import dataclass

import bpy
import numpy as np
from mathutils import Vector

NEIGHBOUR_PX = 1.0
DEPTH_EDGE = 0.03  # relative depth change to a neighbour that marks a depth edge
GRAZING = 0.2  # |cos| between the view ray and the surface normal below which a surface is seen edge-on


@dataclass
class SurfacePoints:
    obj: np.ndarray  # [N] index into the trackable objects
    triangle: np.ndarray  # [N] loop-triangle index of the evaluated mesh
    weights: np.ndarray  # [N, 3] barycentric weights
    picked_frame: np.ndarray  # [N] 0-based frame the point was picked in


def trackable_objects(scene: bpy.types.Scene) -> list[bpy.types.Object]:
    return [obj for obj in scene.objects if obj.type == "MESH" and "gt_class" in obj]


def _set_frame(scene: bpy.types.Scene, index: int) -> bpy.types.Depsgraph:
    scene.frame_set(index + 1)
    return bpy.context.evaluated_depsgraph_get()


def _world_triangles(obj: bpy.types.Object, depsgraph: bpy.types.Depsgraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World vertex positions [V, 3], loop triangles [F, 3] and each triangle's polygon [F] at this frame."""
    evaluated = obj.evaluated_get(depsgraph)
    mesh = evaluated.to_mesh()
    mesh.calc_loop_triangles()
    co = np.empty(len(mesh.vertices) * 3, np.float64)
    mesh.vertices.foreach_get("co", co)
    tris = np.empty(len(mesh.loop_triangles) * 3, np.int64)
    mesh.loop_triangles.foreach_get("vertices", tris)
    polys = np.empty(len(mesh.loop_triangles), np.int64)
    mesh.loop_triangles.foreach_get("polygon_index", polys)
    matrix = np.array(evaluated.matrix_world)
    evaluated.to_mesh_clear()
    world = co.reshape(-1, 3) @ matrix[:3, :3].T + matrix[:3, 3]
    return world, tris.reshape(-1, 3), polys


class Camera:
    """The scene camera at one frame: pixel rays and projection (x right, y down, origin top-left corner)."""

    def __init__(self, scene: bpy.types.Scene) -> None:
        camera = scene.camera
        self.width, self.height = scene.render.resolution_x, scene.render.resolution_y
        self.focal_px = camera.data.lens / camera.data.sensor_width * self.width  # horizontal sensor fit
        matrix = np.array(camera.matrix_world)
        self.rotation, self.origin = matrix[:3, :3], matrix[:3, 3]

    def rays(self, xy: np.ndarray) -> np.ndarray:
        """Unit world directions [N, 3] through pixel positions xy [N, 2]."""
        local = np.column_stack([(xy[:, 0] - self.width / 2) / self.focal_px, -(xy[:, 1] - self.height / 2) / self.focal_px,
                                 -np.ones(len(xy))])
        world = local @ self.rotation.T
        return world / np.linalg.norm(world, axis=1, keepdims=True)

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel positions [N, 2] of world points [N, 3] and whether each is in front of the camera."""
        local = (points - self.origin) @ self.rotation
        depth = -local[:, 2]
        ahead = depth > 1e-6
        safe = np.where(ahead, depth, 1.0)
        x = self.width / 2 + self.focal_px * local[:, 0] / safe
        y = self.height / 2 - self.focal_px * local[:, 1] / safe
        return np.column_stack([x, y]), ahead


def _cast(scene: bpy.types.Scene, depsgraph: bpy.types.Depsgraph, origin: np.ndarray, direction: np.ndarray,
          distance: float = 1.0e4):
    return scene.ray_cast(depsgraph, Vector(origin), Vector(direction), distance=distance)


def _barycentric(point: np.ndarray, triangle: np.ndarray) -> np.ndarray:
    a, b, c = triangle
    v0, v1, v2 = b - a, c - a, point - a
    d00, d01, d11, d20, d21 = v0 @ v0, v0 @ v1, v1 @ v1, v2 @ v0, v2 @ v1
    denom = d00 * d11 - d01 * d01
    if abs(denom) < 1e-18:
        return np.array([-1.0, -1.0, -1.0])
    v = (d11 * d20 - d01 * d21) / denom
    w = (d00 * d21 - d01 * d20) / denom
    return np.array([1.0 - v - w, v, w])


def _candidates(scene: bpy.types.Scene, objects: list, frame: int, count: int,
                rng: np.random.Generator) -> list[tuple[int, int, np.ndarray]]:
    """Clean surface hits (object, triangle, weights) through `count` random pixels of one frame."""
    depsgraph = _set_frame(scene, frame)
    camera = Camera(scene)
    index = {obj.name: k for k, obj in enumerate(objects)}
    geometry: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    margin = 4.0
    xy = np.column_stack([rng.uniform(margin, camera.width - margin, count), rng.uniform(margin, camera.height - margin, count)])
    found = []
    for pixel, ray in zip(xy, camera.rays(xy)):
        hit, location, normal, polygon, obj, _ = _cast(scene, depsgraph, camera.origin, ray)
        if not hit or obj.original.name not in index:
            continue
        k = index[obj.original.name]
        if abs(float(np.dot(ray, np.array(normal)))) < GRAZING:
            continue
        depth = float(np.linalg.norm(np.array(location) - camera.origin))
        if not _flat_neighbourhood(scene, depsgraph, camera, pixel, obj.original.name, depth):
            continue
        if k not in geometry:
            geometry[k] = _world_triangles(objects[k], depsgraph)
        world, tris, polys = geometry[k]
        best, best_weights = -1, None
        for tri in np.nonzero(polys == polygon)[0]:
            weights = _barycentric(np.array(location), world[tris[tri]])
            if best_weights is None or weights.min() > best_weights.min():
                best, best_weights = int(tri), weights
        if best_weights is not None and best_weights.min() > -1e-4:
            found.append((k, best, np.clip(best_weights, 0.0, 1.0) / np.clip(best_weights, 0.0, 1.0).sum()))
    return found


def _flat_neighbourhood(scene, depsgraph, camera: Camera, pixel: np.ndarray, name: str, depth: float) -> bool:
    offsets = np.array([[NEIGHBOUR_PX, 0], [-NEIGHBOUR_PX, 0], [0, NEIGHBOUR_PX], [0, -NEIGHBOUR_PX]])
    for ray in camera.rays(pixel[None] + offsets):
        hit, location, _, _, obj, _ = _cast(scene, depsgraph, camera.origin, ray)
        if not hit or obj.original.name != name:
            return False
        if abs(float(np.linalg.norm(np.array(location) - camera.origin)) - depth) > DEPTH_EDGE * depth:
            return False
    return True


def pick_points(scene: bpy.types.Scene, objects: list, frames: int, count: int, seed: int) -> SurfacePoints:
    """`count` points: a third picked in frame 0, the rest in other frames; half background, half objects."""
    rng = np.random.default_rng([seed, 7])
    background = np.array([obj["gt_class"] == "background" for obj in objects])
    from_first = count // 3
    other_frames = sorted(rng.choice(np.arange(1, frames), size=min(6, frames - 1), replace=False).tolist())
    chosen: list[tuple[int, int, np.ndarray, int]] = []
    for frame_list, quota in (([0], from_first), (other_frames, count - from_first)):
        pool = [(*hit, frame) for frame in frame_list for hit in _candidates(scene, objects, frame, 700 // len(frame_list) + 150, rng)]
        order = rng.permutation(len(pool))
        pool = [pool[i] for i in order]
        back = [p for p in pool if background[p[0]]]
        fore: dict[int, list] = {}
        for p in pool:
            if not background[p[0]]:
                fore.setdefault(p[0], []).append(p)
        take_fore: list = []
        queues = list(fore.values())
        while len(take_fore) < quota - quota // 2 and any(queues):
            for queue in queues:
                if queue and len(take_fore) < quota - quota // 2:
                    take_fore.append(queue.pop())
        chosen += take_fore + back[: quota - len(take_fore)]
    return SurfacePoints(np.array([c[0] for c in chosen], np.int64), np.array([c[1] for c in chosen], np.int64),
                         np.array([c[2] for c in chosen], np.float64).reshape(-1, 3),
                         np.array([c[3] for c in chosen], np.int64))


def follow_points(scene: bpy.types.Scene, objects: list, points: SurfacePoints, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Tracks [N, T, 2] (pixels, top-left origin) and visibility [N, T] of the surface points."""
    n = len(points.obj)
    tracks = np.zeros((n, frames, 2), np.float32)
    visible = np.zeros((n, frames), bool)
    for t in range(frames):
        depsgraph = _set_frame(scene, t)
        camera = Camera(scene)
        world_points = np.zeros((n, 3))
        for k in np.unique(points.obj):
            rows = np.nonzero(points.obj == k)[0]
            world, tris, _ = _world_triangles(objects[k], depsgraph)
            corners = world[tris[points.triangle[rows]]]  # [M, 3, 3]
            world_points[rows] = np.einsum("mi,mij->mj", points.weights[rows], corners)
        xy, ahead = camera.project(world_points)
        tracks[:, t] = xy
        inside = ahead & (xy[:, 0] >= 0) & (xy[:, 0] <= camera.width) & (xy[:, 1] >= 0) & (xy[:, 1] <= camera.height)
        for i in np.nonzero(inside)[0]:
            offset = world_points[i] - camera.origin
            distance = float(np.linalg.norm(offset))
            tolerance = 2e-3 * distance + 2e-3
            hit = _cast(scene, depsgraph, camera.origin, offset / distance, max(distance - tolerance, 1e-4))[0]
            visible[i, t] = not hit
    return tracks, visible
