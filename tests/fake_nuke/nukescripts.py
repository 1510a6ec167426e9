"""A fake `nukescripts` with the PythonPanel API the bridge uses (see tests/fake_nuke/nuke.py)."""

from __future__ import annotations

import nuke


class PythonPanel:
    def __init__(self, title: str = "", id: str = "", scrollable: bool = True) -> None:
        nuke._require_main("PythonPanel")
        if not isinstance(title, str) or not isinstance(id, str):
            raise TypeError("PythonPanel(title: str, id: str)")
        self.title, self.id = title, id
        self._knobs: dict[str, nuke.Knob] = {}
        self.shown = False

    def addKnob(self, knob: nuke.Knob) -> None:
        nuke._require_main("PythonPanel.addKnob")
        if not isinstance(knob, nuke.Knob):
            raise TypeError("addKnob(knob: nuke.Knob)")
        if knob.name() in self._knobs:
            raise ValueError(f"the panel already has a knob {knob.name()}")
        self._knobs[knob.name()] = knob

    def knobs(self) -> dict[str, nuke.Knob]:
        return dict(self._knobs)

    def show(self) -> None:
        nuke._require_main("PythonPanel.show")
        self.shown = True

    def knobChanged(self, knob: nuke.Knob) -> None:
        """Nuke calls this on the main thread when a knob changes or a button is pressed."""
