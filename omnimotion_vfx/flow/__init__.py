"""Pairwise optical flow and the filtered correspondences the engine is fitted to."""
