"""Build a recipe's scene in Blender (runs inside bpy, in the render subprocess only).

A walled yard with a textured ground and walls, props on the ground, and the recipe's moving elements: spinning
objects, crossing movers, bending and twisting bars, waving cloth, thin poles, articulated arms. Every
trackable mesh carries `gt_class` ("background" or "object") for the ground truth. Textures are procedural and
mapped by each mesh's undeformed (generated) coordinates scaled to metres, so they stick to the surface when a
modifier bends it. Modifiers use the same levels in the viewport and the render, so the geometry the ground
truth ray-casts is the geometry Cycles renders.
"""

from __future__ import annotations

import math

import bmesh
import bpy
import numpy as np
from mathutils import Euler, Matrix, Vector

from .recipes import RenderedClip

FOCAL_MM = 35.0
SENSOR_MM = 36.0


def build_scene(recipe: RenderedClip) -> bpy.types.Scene:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    rng = np.random.default_rng(recipe.seed)
    scene = bpy.context.scene
    _render_settings(scene, recipe)
    _world(scene)
    _yard(scene, rng, recipe)
    taken: list[tuple[float, float, float]] = []  # (x, y, radius) of what stands on the ground
    for count, add in ((recipe.props, _prop), (recipe.spinners, _spinner), (recipe.movers, _mover),
                       (recipe.benders, _bender), (recipe.cloths, _cloth), (recipe.poles, _pole), (recipe.arms, _arm)):
        for k in range(count):
            add(scene, rng, recipe, k, taken)
    _sun(scene, rng, recipe)
    _camera(scene, rng, recipe)
    return scene


def _render_settings(scene: bpy.types.Scene, recipe: RenderedClip) -> None:
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = recipe.samples
    scene.cycles.use_adaptive_sampling = True
    scene.cycles.use_denoising = True
    scene.cycles.seed = recipe.seed
    scene.cycles.max_bounces = 3
    scene.render.resolution_x, scene.render.resolution_y = recipe.width, recipe.height
    scene.render.resolution_percentage = 100
    scene.render.pixel_aspect_x = scene.render.pixel_aspect_y = 1.0
    scene.render.use_motion_blur = recipe.motion_blur
    scene.render.motion_blur_shutter = 0.5
    scene.cycles.motion_blur_position = "CENTER"  # the ground truth is the frame's mid-shutter position
    scene.render.use_persistent_data = True
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    scene.view_settings.view_transform = "Standard"
    scene.frame_start, scene.frame_end = 1, recipe.frames


def _world(scene: bpy.types.Scene) -> None:
    world = bpy.data.worlds.new("sky")
    world.use_nodes = True
    background = world.node_tree.nodes["Background"]
    background.inputs["Color"].default_value = (0.45, 0.55, 0.7, 1.0)
    background.inputs["Strength"].default_value = 0.6
    scene.world = world


def _mesh_object(scene: bpy.types.Scene, name: str, build, gt_class: str) -> bpy.types.Object:
    """A mesh object from a bmesh builder `build(bm)`; its generated texture space spans its own bounds."""
    mesh = bpy.data.meshes.new(name)
    bm = bmesh.new()
    build(bm)
    bm.to_mesh(mesh)
    bm.free()
    obj = bpy.data.objects.new(name, mesh)
    scene.collection.objects.link(obj)
    obj["gt_class"] = gt_class
    return obj


def _box(size: tuple[float, float, float], base: tuple[float, float, float] = (0, 0, 0)):
    def build(bm: bmesh.types.BMesh) -> None:
        bmesh.ops.create_cube(bm, size=1.0)
        bmesh.ops.transform(bm, matrix=Matrix.Translation(base) @ Matrix.Diagonal((*size, 1.0)), verts=bm.verts)
    return build


def _sphere(radius: float, base=(0, 0, 0)):
    def build(bm: bmesh.types.BMesh) -> None:
        bmesh.ops.create_uvsphere(bm, u_segments=32, v_segments=16, radius=radius)
        bmesh.ops.translate(bm, vec=base, verts=bm.verts)
        for face in bm.faces:
            face.smooth = True
    return build


def _cylinder(radius: float, height: float, segments: int = 24, base=(0, 0, 0), top_radius: float | None = None):
    def build(bm: bmesh.types.BMesh) -> None:
        bmesh.ops.create_cone(bm, cap_ends=True, segments=segments, radius1=radius,
                              radius2=radius if top_radius is None else top_radius, depth=height)
        bmesh.ops.translate(bm, vec=(base[0], base[1], base[2] + height / 2), verts=bm.verts)
    return build


def _monkey(scale: float, base=(0, 0, 0)):
    def build(bm: bmesh.types.BMesh) -> None:
        bmesh.ops.create_monkey(bm)
        bmesh.ops.transform(bm, matrix=Matrix.Translation(base) @ Matrix.Scale(scale, 4), verts=bm.verts)
    return build


def _grid(size_x: float, size_y: float, cuts_x: int, cuts_y: int):
    def build(bm: bmesh.types.BMesh) -> None:
        bmesh.ops.create_grid(bm, x_segments=cuts_x, y_segments=cuts_y, size=0.5)
        bmesh.ops.transform(bm, matrix=Matrix.Diagonal((size_x, size_y, 1.0, 1.0)), verts=bm.verts)
    return build


def _material(obj: bpy.types.Object, rng: np.random.Generator, recipe: RenderedClip, density: float = 2.5,
              flat: bool | None = None) -> None:
    """A procedural texture: band-limited noise coloured by a random ramp, crossed by cells, checks or bricks;
    `flat` (or the recipe's textureless share) gives one colour instead."""
    material = bpy.data.materials.new(f"{obj.name}-material")
    material.use_nodes = True
    nodes, links = material.node_tree.nodes, material.node_tree.links
    shader = nodes["Principled BSDF"]
    glossy = rng.uniform() < recipe.glossy
    shader.inputs["Roughness"].default_value = float(rng.uniform(0.08, 0.2) if glossy else rng.uniform(0.55, 0.85))
    shader.inputs["Specular IOR Level"].default_value = 0.9 if glossy else 0.35
    flat = (rng.uniform() < recipe.textureless) if flat is None else flat
    if flat:
        shader.inputs["Base Color"].default_value = (*rng.uniform(0.15, 0.7, 3), 1.0)
    else:
        lo, hi = np.array(obj.bound_box).min(0), np.array(obj.bound_box).max(0)
        coords = nodes.new("ShaderNodeTexCoord")
        mapping = nodes.new("ShaderNodeMapping")
        mapping.inputs["Scale"].default_value = tuple(np.maximum(hi - lo, 0.05) * density)
        links.new(coords.outputs["Generated"], mapping.inputs["Vector"])
        noise = nodes.new("ShaderNodeTexNoise")
        noise.inputs["Scale"].default_value = float(rng.uniform(1.5, 3.0))
        noise.inputs["Detail"].default_value = 10.0
        noise.inputs["Roughness"].default_value = float(rng.uniform(0.55, 0.7))
        links.new(mapping.outputs["Vector"], noise.inputs["Vector"])
        ramp = nodes.new("ShaderNodeValToRGB")
        ramp.color_ramp.elements[0].position, ramp.color_ramp.elements[1].position = 0.3, 0.7
        ramp.color_ramp.elements[0].color = (*rng.uniform(0.0, 0.35, 3), 1.0)
        ramp.color_ramp.elements[1].color = (*rng.uniform(0.45, 1.0, 3), 1.0)
        middle = ramp.color_ramp.elements.new(0.5)
        middle.color = (*rng.uniform(0.1, 0.9, 3), 1.0)
        links.new(noise.outputs["Fac"], ramp.inputs["Fac"])
        pattern = _pattern(nodes, rng)
        links.new(mapping.outputs["Vector"], pattern.inputs["Vector"])
        mix = nodes.new("ShaderNodeMixRGB")
        mix.blend_type = "MULTIPLY"
        mix.inputs["Fac"].default_value = float(rng.uniform(0.35, 0.7))
        links.new(ramp.outputs["Color"], mix.inputs["Color1"])
        links.new(pattern.outputs["Color"], mix.inputs["Color2"])
        links.new(mix.outputs["Color"], shader.inputs["Base Color"])
    obj.data.materials.append(material)


def _pattern(nodes: bpy.types.Nodes, rng: np.random.Generator) -> bpy.types.Node:
    kind = rng.choice(["voronoi", "checker", "brick"])
    if kind == "voronoi":
        node = nodes.new("ShaderNodeTexVoronoi")
        node.inputs["Scale"].default_value = float(rng.uniform(2.0, 5.0))
    elif kind == "checker":
        node = nodes.new("ShaderNodeTexChecker")
        node.inputs["Scale"].default_value = float(rng.uniform(2.0, 4.0))
        node.inputs["Color1"].default_value = (1.0, 1.0, 1.0, 1.0)
        node.inputs["Color2"].default_value = (*rng.uniform(0.2, 0.6, 3), 1.0)
    else:
        node = nodes.new("ShaderNodeTexBrick")
        node.inputs["Scale"].default_value = float(rng.uniform(1.0, 2.5))
        node.inputs["Color1"].default_value = (1.0, 1.0, 1.0, 1.0)
        node.inputs["Color2"].default_value = (*rng.uniform(0.4, 0.8, 3), 1.0)
    return node


def _yard(scene: bpy.types.Scene, rng: np.random.Generator, recipe: RenderedClip) -> None:
    """Ground and four walls: wherever the camera looks there is textured background, as in a real set."""
    ground = _mesh_object(scene, "ground", _box((28.0, 28.0, 0.2), (0, 0, -0.1)), "background")
    _material(ground, rng, recipe, density=1.2, flat=False)
    for k, (x, y, angle) in enumerate(((0, 12, 0), (0, -12, 0), (12, 0, 90), (-12, 0, 90))):
        wall = _mesh_object(scene, f"wall-{k}", _box((24.0, 0.4, 5.0), (0, 0, 2.5)), "background")
        wall.location = (x, y, 0)
        wall.rotation_euler = (0, 0, math.radians(angle))
        _material(wall, rng, recipe, density=1.0)


def _ground_spot(rng: np.random.Generator, radius: float, taken: list[tuple[float, float, float]], size: float) -> tuple[float, float]:
    """A free spot on the ground within `radius` of the centre (rejection sampling against earlier objects)."""
    for _ in range(200):
        x, y = rng.uniform(-radius, radius, 2)
        if math.hypot(x, y) <= radius and all(math.hypot(x - a, y - b) > size + r for a, b, r in taken):
            break
    taken.append((x, y, size))
    return float(x), float(y)


def _prop(scene: bpy.types.Scene, rng: np.random.Generator, recipe: RenderedClip, k: int,
           taken: list) -> None:
    size = float(rng.uniform(0.4, 1.3))
    x, y = _ground_spot(rng, 4.0, taken, size * 0.6)
    kind = rng.choice(["box", "sphere", "cylinder", "cone", "monkey"])
    if kind == "box":
        build = _box((size, size * rng.uniform(0.6, 1.4), size * rng.uniform(0.6, 1.6)), (0, 0, 0))
    elif kind == "sphere":
        build = _sphere(size / 2)
    elif kind == "cylinder":
        build = _cylinder(size * 0.4, size * rng.uniform(1.0, 2.2))
    elif kind == "cone":
        build = _cylinder(size * 0.5, size * 1.4, top_radius=size * 0.1)
    else:
        build = _monkey(size * 0.5)
    obj = _mesh_object(scene, f"prop-{k}", build, "object")
    lowest = min(v.co.z for v in obj.data.vertices)
    obj.location = (x, y, -lowest)
    obj.rotation_euler = (0, 0, float(rng.uniform(0, 2 * math.pi)))
    _material(obj, rng, recipe)


def _spinner(scene: bpy.types.Scene, rng: np.random.Generator, recipe: RenderedClip, k: int,
           taken: list) -> None:
    """Turns 0.6-1.2 times about its vertical axis over the clip: its surface rotates out of view and back."""
    size = float(rng.uniform(0.7, 1.2))
    x, y = _ground_spot(rng, 2.5, taken, size * 0.6)
    build = [_monkey(size * 0.6), _box((size, size * 0.7, size)), _cylinder(size * 0.35, size * 1.3, segments=7)][k % 3]
    obj = _mesh_object(scene, f"spinner-{k}", build, "object")
    obj.location = (x, y, size * 0.75)
    turns = rng.uniform(0.6, 1.2) * rng.choice([-1, 1])
    tilt = rng.uniform(-0.3, 0.3)
    for f in range(1, recipe.frames + 1):
        u = (f - 1) / max(recipe.frames - 1, 1)
        obj.rotation_euler = (tilt, 0.0, 2 * math.pi * turns * u)
        obj.keyframe_insert("rotation_euler", frame=f)
    _material(obj, rng, recipe)


def _mover(scene: bpy.types.Scene, rng: np.random.Generator, recipe: RenderedClip, k: int,
           taken: list) -> None:
    """Swings across the view between the camera and the set, peaking at `mover_speed` metres a frame."""
    size = float(rng.uniform(0.4, 0.8))
    obj = _mesh_object(scene, f"mover-{k}", [_sphere(size / 2), _box((size, size, size))][k % 2], "object")
    amplitude = float(rng.uniform(2.0, 3.0))
    omega = recipe.mover_speed / amplitude
    phase, depth, height = rng.uniform(0, 2 * math.pi), rng.uniform(-3.5, -1.5), rng.uniform(0.5, 1.6)
    for f in range(1, recipe.frames + 1):
        obj.location = (amplitude * math.sin(omega * f + phase), depth + 0.4 * math.cos(0.5 * omega * f), height)
        obj.rotation_euler = (0.05 * f, 0.03 * f, 0.0)
        obj.keyframe_insert("location", frame=f)
        obj.keyframe_insert("rotation_euler", frame=f)
    _material(obj, rng, recipe)


def _bender(scene: bpy.types.Scene, rng: np.random.Generator, recipe: RenderedClip, k: int,
           taken: list) -> None:
    """A bar that bends (up to +-70 degrees) and twists (up to +-90 degrees) along its length."""
    height = float(rng.uniform(1.6, 2.4))
    x, y = _ground_spot(rng, 2.5, taken, 0.4)
    obj = _mesh_object(scene, f"bender-{k}", _box((0.35, 0.25, height), (0, 0, height / 2)), "object")
    obj.location = (x, y, 0.0)
    subdivide = obj.modifiers.new("subdivide", "SUBSURF")
    subdivide.subdivision_type = "SIMPLE"
    subdivide.levels = subdivide.render_levels = 4
    bend = obj.modifiers.new("bend", "SIMPLE_DEFORM")
    bend.deform_method, bend.deform_axis = "BEND", "X"
    twist = obj.modifiers.new("twist", "SIMPLE_DEFORM")
    twist.deform_method, twist.deform_axis = "TWIST", "Z"
    period_b, period_t = rng.uniform(24, 40), rng.uniform(30, 50)
    for f in range(1, recipe.frames + 1):
        bend.angle = math.radians(70) * math.sin(2 * math.pi * f / period_b)
        twist.angle = math.radians(90) * math.sin(2 * math.pi * f / period_t + 1.0)
        obj.keyframe_insert('modifiers["bend"].angle', frame=f)
        obj.keyframe_insert('modifiers["twist"].angle', frame=f)
    _material(obj, rng, recipe, density=4.0, flat=False)


def _cloth(scene: bpy.types.Scene, rng: np.random.Generator, recipe: RenderedClip, k: int,
           taken: list) -> None:
    """A hanging sheet with travelling waves across it (cloth in wind)."""
    obj = _mesh_object(scene, f"cloth-{k}", _grid(2.6, 1.8, 52, 36), "object")
    x, y = _ground_spot(rng, 2.0, taken, 1.0)
    obj.location = (x, min(y, 0.5) - 1.0, 1.4)
    obj.rotation_euler = (math.radians(90), 0, float(rng.uniform(-0.5, 0.5)))
    wave = obj.modifiers.new("wind", "WAVE")
    wave.use_x, wave.use_y = True, bool(k % 2)
    wave.height, wave.width, wave.narrowness = float(rng.uniform(0.12, 0.2)), float(rng.uniform(0.7, 1.1)), 1.2
    wave.speed = float(rng.uniform(0.03, 0.06))
    wave.start_position_x = float(rng.uniform(-1.5, -1.0))
    _material(obj, rng, recipe, density=3.0, flat=False)


def _pole(scene: bpy.types.Scene, rng: np.random.Generator, recipe: RenderedClip, k: int,
           taken: list) -> None:
    """A thin pole or branch (2.5-6 cm across) between the camera and the set."""
    radius = float(rng.uniform(0.025, 0.06))
    height = float(rng.uniform(2.5, 3.8))
    obj = _mesh_object(scene, f"pole-{k}", _cylinder(radius, height, segments=10), "object")
    obj.location = (float(rng.uniform(-3.5, 3.5)), float(rng.uniform(-4.0, -1.5)), 0.0)
    obj.rotation_euler = (float(rng.uniform(-0.4, 0.4)), float(rng.uniform(-0.6, 0.6)) if k % 3 == 2 else 0.0, 0.0)
    _material(obj, rng, recipe, density=8.0, flat=False)


def _arm(scene: bpy.types.Scene, rng: np.random.Generator, recipe: RenderedClip, k: int,
           taken: list) -> None:
    """A post with an upper arm and a forearm that swing at the shoulder and elbow (articulated motion)."""
    x, y = _ground_spot(rng, 2.5, taken, 0.8)
    post = _mesh_object(scene, f"arm-{k}-post", _cylinder(0.12, 1.3), "object")
    post.location = (x, y, 0.0)
    _material(post, rng, recipe)
    upper = _mesh_object(scene, f"arm-{k}-upper", _box((0.9, 0.2, 0.2), (0.45, 0, 0)), "object")
    forearm = _mesh_object(scene, f"arm-{k}-forearm", _box((0.8, 0.16, 0.16), (0.4, 0, 0)), "object")
    upper.parent, forearm.parent = post, upper
    upper.location, forearm.location = (0, 0, 1.3), (0.9, 0, 0)
    swing, lift, bend = (float(rng.uniform(0.6, 1.0)), float(rng.uniform(0.2, 0.5)), float(rng.uniform(0.8, 1.3)))
    period = rng.uniform(20, 32)
    for f in range(1, recipe.frames + 1):
        phase = 2 * math.pi * f / period
        upper.rotation_euler = (0.0, -lift * math.sin(phase + 0.7), swing * math.sin(phase))
        forearm.rotation_euler = (0.0, 0.0, bend * (0.5 + 0.5 * math.sin(1.7 * phase)))
        upper.keyframe_insert("rotation_euler", frame=f)
        forearm.keyframe_insert("rotation_euler", frame=f)
    _material(upper, rng, recipe)
    _material(forearm, rng, recipe)


def _sun(scene: bpy.types.Scene, rng: np.random.Generator, recipe: RenderedClip) -> None:
    light = bpy.data.lights.new("sun", "SUN")
    light.angle = math.radians(1.0)
    sun = bpy.data.objects.new("sun", light)
    scene.collection.objects.link(sun)
    elevation, azimuth = rng.uniform(0.5, 0.9), rng.uniform(0, 2 * math.pi)
    for f in range(1, recipe.frames + 1):
        u = (f - 1) / max(recipe.frames - 1, 1)
        turn = (u - 0.5) * 1.6 if recipe.moving_light else 0.0
        sun.rotation_euler = (float(elevation), 0.0, float(azimuth + turn))
        light.energy = 3.5 * (1.0 + recipe.light_change * math.sin(2 * math.pi * 1.3 * u))
        sun.keyframe_insert("rotation_euler", frame=f)
        light.keyframe_insert("energy", frame=f)


def _smooth_jitter(rng: np.random.Generator, frames: int, amplitude: float) -> np.ndarray:
    """Handheld wobble: a few sinusoids of 3-12 frame periods with random phases, [frames, 3]."""
    t = np.arange(frames)[:, None]
    out = np.zeros((frames, 3))
    for _ in range(3):
        period, phase = rng.uniform(3, 12, 3), rng.uniform(0, 2 * np.pi, 3)
        out += np.sin(2 * np.pi * t / period + phase)
    return amplitude * out / 3.0


def camera_path(recipe: RenderedClip, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per frame the camera position [T, 3] and the point it looks at [T, 3]."""
    u = np.linspace(0.0, 1.0, recipe.frames)[:, None]
    s = recipe.camera_speed
    height = rng.uniform(1.4, 2.2)
    if recipe.camera == "dolly":  # trucking sideways past the set: parallax
        position = np.hstack([(u - 0.5) * 6.0 * s, np.full_like(u, -7.0), np.full_like(u, height)])
        target = np.hstack([position[:, :1] * 0.3, np.zeros_like(u), np.full_like(u, 0.8)])
    elif recipe.camera == "orbit":  # circling the set: every side of every object comes into view
        angle = rng.uniform(0, 2 * np.pi) + np.radians(90.0 * s) * (u - 0.5)
        position = np.hstack([7.0 * np.cos(angle), 7.0 * np.sin(angle), np.full_like(u, height)])
        target = np.hstack([np.zeros_like(u), np.zeros_like(u), np.full_like(u, 0.7)])
    elif recipe.camera == "push":  # walking in towards the set
        position = np.hstack([0.8 * np.sin(np.pi * u), -8.5 + 3.0 * s * u, np.full_like(u, height)])
        target = np.hstack([np.zeros_like(u), np.zeros_like(u), np.full_like(u, 0.8)])
    elif recipe.camera == "sweep":  # panning away and back: points leave the frame and return
        yaw = np.radians(35.0 * s) * np.sin(2 * np.pi * u + rng.uniform(-0.3, 0.3))
        position = np.hstack([np.zeros_like(u) + 0.5 * np.sin(np.pi * u), np.full_like(u, -7.0), np.full_like(u, height)])
        target = position + np.hstack([7.0 * np.sin(yaw), 7.0 * np.cos(yaw), 0.8 - height + np.zeros_like(u)])
    else:  # handheld: standing still, the wobble comes from `shake`
        position = np.hstack([0.3 * np.sin(2 * np.pi * u), np.full_like(u, -6.5), np.full_like(u, height)])
        target = np.hstack([np.zeros_like(u), np.zeros_like(u), np.full_like(u, 0.8)])
    return position, target


def _camera(scene: bpy.types.Scene, rng: np.random.Generator, recipe: RenderedClip) -> None:
    data = bpy.data.cameras.new("camera")
    data.sensor_fit = "HORIZONTAL"
    data.sensor_width = SENSOR_MM
    data.clip_start, data.clip_end = 0.05, 200.0
    camera = bpy.data.objects.new("camera", data)
    scene.collection.objects.link(camera)
    scene.camera = camera
    position, target = camera_path(recipe, rng)
    jitter = _smooth_jitter(rng, recipe.frames, math.radians(recipe.shake))
    zoom_phase = rng.uniform(0, 2 * np.pi)
    previous = Euler()
    for f in range(1, recipe.frames + 1):
        u = (f - 1) / max(recipe.frames - 1, 1)
        look = Vector(target[f - 1]) - Vector(position[f - 1])
        rotation = look.to_track_quat("-Z", "Y").to_euler("XYZ", previous)
        rotation = Euler((rotation.x + jitter[f - 1, 0], rotation.y + jitter[f - 1, 1], rotation.z + jitter[f - 1, 2]), "XYZ")
        previous = rotation
        camera.location = Vector(position[f - 1])
        camera.rotation_euler = rotation
        data.lens = FOCAL_MM * math.exp(recipe.zoom * math.sin(2 * math.pi * u + zoom_phase))
        camera.keyframe_insert("location", frame=f)
        camera.keyframe_insert("rotation_euler", frame=f)
        data.keyframe_insert("lens", frame=f)
