"""Run in a child process by tests/test_evaluation_rendered.py: render a small glowing sphere with Cycles and
print, as JSON, where its image centroid is and where the ground truth's camera model projects its centre."""

from __future__ import annotations

import json
import sys

import bpy
import numpy as np
from bpy_extras.object_utils import world_to_camera_view
from mathutils import Euler, Vector

from omnimotion_vfx.evaluation.rendered.blender_truth import Camera


def main(out_png: str) -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.samples = 32
    scene.cycles.use_denoising = False
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 80, 48, 100
    scene.view_settings.view_transform = "Standard"
    data = bpy.data.cameras.new("camera")
    data.sensor_fit, data.sensor_width, data.lens = "HORIZONTAL", 36.0, 35.0
    camera = bpy.data.objects.new("camera", data)
    scene.collection.objects.link(camera)
    scene.camera = camera
    camera.location = (0.3, -5.0, 1.2)
    camera.rotation_euler = Euler((1.45, 0.05, 0.12), "XYZ")
    centre = Vector((0.9, 0.0, 1.35))
    bpy.ops.mesh.primitive_uv_sphere_add(radius=0.07, location=centre, segments=48, ring_count=24)
    glow = bpy.data.materials.new("glow")
    glow.use_nodes = True
    nodes = glow.node_tree.nodes
    emission = nodes.new("ShaderNodeEmission")
    emission.inputs["Strength"].default_value = 5.0
    glow.node_tree.links.new(emission.outputs["Emission"], nodes["Material Output"].inputs["Surface"])
    bpy.context.object.data.materials.append(glow)
    scene.render.filepath = out_png
    scene.render.image_settings.file_format = "PNG"
    scene.frame_set(1)
    bpy.ops.render.render(write_still=True)
    pixels = np.array(bpy.data.images.load(out_png).pixels[:]).reshape(48, 80, 4)[::-1, :, 0]  # rows from the top
    rows, cols = np.mgrid[0:48, 0:80]
    signal = np.clip(pixels - np.median(pixels), 0.0, None)  # the empty world is not quite black
    signal[signal < 0.05 * signal.max()] = 0.0
    weight = signal / signal.sum()
    centroid = [float((weight * (cols + 0.5)).sum()), float((weight * (rows + 0.5)).sum())]
    projected, _ = Camera(scene).project(np.array([centre]))
    blender = world_to_camera_view(scene, camera, centre)
    print(json.dumps({"centroid": centroid, "projected": projected[0].tolist(),
                      "blender": [blender.x * 80, (1 - blender.y) * 48]}))


if __name__ == "__main__":
    main(sys.argv[1])
