"""The rendered development suite: 3-D scenes built and rendered by Blender (bpy 4.2, Cycles on the CPU) with
exact per-point ground truth. recipes.py says what each clip holds (no bpy); blender_scene.py builds it,
blender_truth.py picks and follows surface points, render_clip.py renders in a child process, cache.py keeps
the frames outside the repository and renders on first use. docs/evaluation.md has the suite and its figures."""
