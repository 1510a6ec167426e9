"""The summary table printed at the end of a batch: one row per shot, widths fitted to the content."""

from __future__ import annotations

from .runner import ShotReport

HEADERS = ("shot", "status", "seconds", "message")
MAX_MESSAGE = 160


def format_summary(reports: list[ShotReport]) -> str:
    rows = [
        (r.shot, r.status, "-" if r.seconds is None else f"{r.seconds:.1f}", _short(r.message or r.folder))
        for r in reports
    ]
    widths = [max(len(row[i]) for row in [HEADERS, *rows]) for i in range(3)]
    lines = [_line(HEADERS, widths)]
    lines.append(_line(tuple("-" * w for w in widths) + ("-" * 7,), widths))
    lines.extend(_line(row, widths) for row in rows)
    counts: dict[str, int] = {}
    for r in reports:
        counts[r.status] = counts.get(r.status, 0) + 1
    lines.append(f"{len(reports)} shots: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    return "\n".join(lines)


def _line(row: tuple[str, ...], widths: list[int]) -> str:
    return "  ".join([row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2].rjust(widths[2]), row[3]]).rstrip()


def _short(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."
