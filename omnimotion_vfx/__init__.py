"""omnimotion_vfx: dense point tracking through occlusions for VFX plates.

Data flows one way: io -> flow -> engine -> results -> exporters / daemon -> bridges.
"""

__version__ = "0.1.0"
