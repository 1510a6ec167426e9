"""C libraries' direct stderr output is held while decoding: replayed on success, their error lines dropped on failure."""

from __future__ import annotations

import os

import pytest

from omnimotion_vfx.io.c_stderr import held_c_stderr


def test_text_written_to_fd2_comes_back_after_a_successful_read(capfd):
    with held_c_stderr():
        os.write(2, b"libpng warning: iCCP: known incorrect sRGB profile\n")
        assert capfd.readouterr().err == ""  # held, not yet shown
    assert capfd.readouterr().err == "libpng warning: iCCP: known incorrect sRGB profile\n"


def test_library_error_lines_are_dropped_when_the_read_fails(capfd):
    with pytest.raises(ValueError):
        with held_c_stderr():
            os.write(2, b"libpng error: IDAT: Read error\nsomething else\n")
            raise ValueError("the read failed")
    assert capfd.readouterr().err == "something else\n"
