"""Many shots at once on a Ray cluster (`omnivfx batch`), and the daemon's hand-off to Ray.

Entry points: `batch.runner.run_batch` (many shots), `batch.submit.submit_to_ray` (one job, shaped like
`run_track_job`), `batch.shot_list.load_shot_list`. Ray is optional (`pip install 'omnimotion-vfx[ray]'`), so
this package imports nothing from Ray itself: reading a shot list works without it.
"""
