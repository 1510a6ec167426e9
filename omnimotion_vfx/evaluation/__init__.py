"""Accuracy evaluation with exact ground truth: synthetic plates (synthetic.py, layers.py, textures.py),
benchmark suites (suite.py), TAP-Vid metrics and TC (tapvid_metrics.py), the paper's flow baselines
(baselines.py) and the loop that scores trackers on a suite (runner.py). Not imported by the product."""
