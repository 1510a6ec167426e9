"""Settings of the flow-link fusion, apart from the engine's: changing one re-uses the fitted model (the engine
checkpoint never sees them) and the flow cache. Run presets (tracking/presets.py) name one per preset; users
override single fields as `fusion.NAME` (docs/engine.md)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..dotted_overrides import apply_overrides
from ..errors import InputError

VISIBILITY_RULES = ("flow", "model", "both", "flow+model")


@dataclass
class FusionConfig:
    enabled: bool = False  # fuse the fitted tracks with the input flow links (link_fusion.py)
    refine_model_weight: float = 0.003  # pull of the fitted track on frames the walk does not reach, vs one flow link
    refine_walk_weight: float = 0.3  # pull of the walk's position on frames it reaches, vs one flow link
    refine_link_cost_px: float = 0.5  # walk: cost of one link, added to its cycle error (256 raster): fewer links win
    refine_cycle_sigma_px: float = 0.5  # re-solve: a link's weight falls as a Gaussian of its cycle error
    refine_iterations: int = 4
    refine_sigma_start_px: float = 16.0  # robust scale of the first iteration (256 raster), halved each iteration
    refine_sigma_px: float = 2.0  # final robust scale
    # weight of the squared acceleration of the track (per frame, vs one link). 3.0 until 2026-12-04: it smoothed
    # away handheld shake (cloth-shake-480 AJ 73.9 -> 95.1 at 0.3, flow alone, docs/engine.md "Issue 24")
    refine_smoothness: float = 0.3
    # also hide frames where the track leaves a link-consensus solve (below): AJ-neutral on the rendered suite
    # (-1.7 OA there), +11.8 AJ on the sample plate, whose layers slide over each other (docs/engine.md "Issue 24")
    refine_consensus_check: bool = True
    refine_consensus_smoothness: float = 0.1  # the acceleration weight of that consensus solve
    # ... and the pull of the fitted track on every frame of it (vs one flow link). It places only what no link
    # reaches, and there a closely fitted model can follow the flow onto an occluder. 0.003 (`refine_model_weight`)
    # until 2026-12-06; at 0.0003, same fits, 12 rendered clips AJ / OA 77.0 / 89.1 -> 77.4 / 89.9 (long clips +1.7,
    # +3.2), sample plate 89.3 -> 91.1; with the query's position instead of the model, 76.5 (docs/engine.md "Issue 24")
    refine_consensus_model_weight: float = 0.0003
    # "flow" | "model" | "both" | "flow+model" (link_fusion.py). "flow+model" lets the fitted model's depth order
    # decide frames the walk reaches but no link chain joins, or the reverse, where the model's track is the fused
    # one: on the rendered suite (same fits) AJ 76.6 -> 76.6, OA 88.6 -> 88.8; on the sample plate AJ 89.7 -> 89.2.
    # Not the default: no measurable gain (docs/engine.md "Issue 24"). Without a fit it means "flow" (`without_model`).
    refine_visibility: str = "flow"
    refine_visibility_px: float = 1.0  # a link agrees with a visible track within about this (256 raster)
    refine_support: float = 0.5  # agreeing-link weight that joins two frames
    refine_disagreement_px: float = 4.0  # track vs link consensus (or a re-found position) beyond this -> occluded (256 raster)
    reacquire: bool = True  # re-find lost frames from the query's surface (surface_reacquisition.py); needs enabled
    reacquire_spacing_px: float = 12.0  # support grid spacing (256 raster)
    reacquire_radius_px: float = 48.0  # supports within this of the query in its frame (256 raster)
    reacquire_inlier_px: float = 1.5  # a support is on the query's surface within this of its affine map (256 raster)
    reacquire_ncc: float = 0.6  # the warped query patch must correlate above this with the image there
    reacquire_half_ncc: float = 0.7  # or one half of the patch (left/right/top/bottom, centre included) above this:
    # a point beside an edge (its surface's or an occluder's) is seen by the half on its own side; above 1 = off
    reacquire_patch_px: int = 5  # patch radius for that check (processing pixels)
    reacquire_search_px: int = 0  # the check also tries positions this many whole pixels around the prediction
    reacquire_pull: float = 3.0  # pull of a re-found position in the re-solve, vs one flow link (the walk's is 0.3)
    # also place visible frames by the surface's affine prediction where the image confirms it; off since
    # 2026-12-04: the affine is wrong on deforming and articulated surfaces (cloth -2.2 AJ, arms -1.3, textureless -2.6)
    reacquire_visible: bool = False
    reacquire_visible_px: float = 8.0  # ... and it lies within this of the fused track (256 raster)
    redetect: bool = True  # then search frames still lost for the query's patch (appearance_redetection.py); needs reacquire
    redetect_scales: tuple[float, ...] = (0.85, 1.0, 1.18)  # patch scales tried (surfaces grow and shrink while hidden)
    # the best match in the frame must correlate above this ... 0.85 until 2026-12-05: a returned point's look has
    # changed, and 0.75 re-finds more of them (flow alone: thin-poles AJ 46.6 -> 47.9, long-sweep 60.7 -> 61.1, no
    # clip down by more than 0.2; sample plate unchanged; docs/engine.md "Issue 24")
    redetect_ncc: float = 0.75
    redetect_margin: float = 0.1  # ... and this much above the best match elsewhere (4 px or more away)
    redetect_back_px: float = 2.0  # the match searched back over the query frame lands this near the query (256 raster)
    redetect_confirm_px: float = 2.0  # a flow link carries a match this near another match or visible frame (256 raster)
    redetect_follow_ncc: float = 0.75  # neighbouring lost frames reached by flow from a match keep it above this
    # pass 6: the walk again from every visible frame, re-found ones included, into the frames the first walk never
    # reached. Flow alone, 12 rendered clips: AJ / OA 76.1 / 87.6 -> 76.3 / 88.0 (docs/engine.md, Issue 24), 1.03x time
    rewalk: bool = True
    # ... into frames a path cheaper than this reaches (summed cycle errors + `refine_link_cost_px` per link, 256
    # raster). On the four clips it moves, turned-visible frames right (visible, within 4 px): 60 % at 1 px, and at
    # 2 px 56 % on long-sweep but 32 % on long-orbit (62.2 -> 61.1 AJ; 62.3 at 1 px)
    rewalk_max_cost_px: float = 1.0
    # last pass: every hidden frame between two visible ones re-placed on the smoothest path through the visible
    # frames (hidden_bridge.py); visible frames and visibility untouched: AJ and OA cannot move. `default`, same
    # fits, 12 rendered clips: <delta_avg / TC 86.49 / 0.266 -> 86.71 / 0.247 strided, 79.80 / 0.308 -> 79.98 /
    # 0.281 first; long-sweep TC 0.247 -> 0.180; 0.01 s a clip (docs/engine.md, "2026-12-06: hidden frames bridged")
    bridge_hidden: bool = True
    # ... held to where the passes left it at this weight per unit of squared acceleration: small, so the path
    # through the visible frames decides (1e-3: 86.67 / 0.249 strided, within 0.05 of 1e-4)
    bridge_hidden_pull: float = 1e-4

    def with_overrides(self, overrides: dict[str, Any]) -> "FusionConfig":
        """Field overrides, e.g. {"refine_smoothness": 2.0} (the user writes `fusion.refine_smoothness`); unknown
        names and out-of-range values are an InputError."""
        out = apply_overrides(self, overrides, "fusion", prefix="fusion.")
        out.check()
        return out

    def without_model(self) -> "FusionConfig":
        """These settings for a fusion with no fitted model behind it (the flow-fusion baseline, the levers
        benchmark): only the flow's visibility evidence, since there is no depth order to ask."""
        return dataclasses.replace(self, refine_visibility="flow")

    def check(self) -> None:
        """Fusion settings a user can override: a clear error before minutes of flow and fitting, not a
        traceback from inside the fusion."""
        if self.refine_visibility not in VISIBILITY_RULES:
            raise InputError(f"fusion.refine_visibility must be one of {', '.join(VISIBILITY_RULES)}, got {self.refine_visibility!r}")
        positive = ("refine_sigma_px", "refine_sigma_start_px", "reacquire_spacing_px", "reacquire_radius_px",
                    "reacquire_inlier_px", "reacquire_patch_px", "reacquire_pull", "reacquire_visible_px",
                    "redetect_back_px", "redetect_confirm_px", "rewalk_max_cost_px", "refine_consensus_model_weight",
                    "bridge_hidden_pull")
        for name in positive:
            if not getattr(self, name) > 0:
                raise InputError(f"fusion.{name} must be above 0, got {getattr(self, name)!r}")
        for name in ("refine_iterations", "reacquire_search_px"):
            if getattr(self, name) < 0:
                raise InputError(f"fusion.{name} must be 0 or more, got {getattr(self, name)!r}")
        if not -1.0 <= self.reacquire_ncc <= 1.0:
            raise InputError(f"fusion.reacquire_ncc is a correlation, -1 to 1; got {self.reacquire_ncc!r}")
        for name in ("redetect_ncc", "redetect_follow_ncc"):
            if not -1.0 <= getattr(self, name) <= 1.0:
                raise InputError(f"fusion.{name} is a correlation, -1 to 1; got {getattr(self, name)!r}")
        if not 0.0 <= self.redetect_margin <= 2.0:
            raise InputError(f"fusion.redetect_margin is a difference of correlations, 0 to 2; got {self.redetect_margin!r}")
        if not self.redetect_scales or not all(isinstance(s, (int, float)) and 0.25 <= s <= 4 for s in self.redetect_scales):
            raise InputError(f"fusion.redetect_scales are patch scales, each 0.25 to 4 (like [0.85, 1.0, 1.18]); "
                             f"got {list(self.redetect_scales)!r}")
        if not -1.0 <= self.reacquire_half_ncc:
            raise InputError(f"fusion.reacquire_half_ncc is a correlation, -1 to 1 (above 1 turns the half-patch check off); "
                             f"got {self.reacquire_half_ncc!r}")
