"""Nuke start-up (menu.py, found through NUKE_PATH): the OmniVFX entry in the Nuke menu."""

import nuke

from omnivfx_nuke import panel

nuke.menu("Nuke").addCommand("OmniVFX/Track with daemon...", panel.show, shortcut="")
