"""Hold what C image libraries print to stderr while a file is decoded.

libpng (through OpenImageIO) prints "libpng error: ..." straight to file descriptor 2 before OIIO reports the
same failure through `geterror()`. The CLI promises one line per bad input, so while a PNG or JPEG frame
decodes (image_reader.py decides which formats), fd 2 points at a temporary file; afterwards the text is written back to the real stderr, except the library's own
error lines when the read failed (the InputError already carries that message). Nothing else is lost, only
delayed by one frame.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from contextlib import contextmanager
from typing import Iterator

_LOCK = threading.Lock()
LIBRARY_ERROR_PREFIXES = ("libpng error", "libpng warning", "Premature end of JPEG", "Corrupt JPEG data")


@contextmanager
def held_c_stderr(drop_on_error: tuple[str, ...] = LIBRARY_ERROR_PREFIXES) -> Iterator[None]:
    """Redirect fd 2 for the duration; replay its text afterwards, minus `drop_on_error` lines on failure."""
    with _LOCK:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):  # no usable fd 2 (embedded hosts): nothing to hold
            yield
            return
        failed = False
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield
            except BaseException:
                failed = True
                raise
            finally:
                try:
                    sys.stderr.flush()
                except (OSError, ValueError):
                    pass
                os.dup2(saved, 2)
                os.close(saved)
                sink.seek(0)
                text = sink.read().decode(errors="replace")
                if failed:
                    text = "".join(line for line in text.splitlines(keepends=True) if not line.startswith(drop_on_error))
                if text:
                    os.write(2, text.encode())
