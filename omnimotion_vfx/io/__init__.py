"""Plate input/output: frame sequences, image and video readers, colour to a working encoding, EXR writing."""

from .plate import Plate, open_plate

__all__ = ["Plate", "open_plate"]
