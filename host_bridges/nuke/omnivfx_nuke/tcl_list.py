"""A reader for the TCL list text Nuke writes for table knobs (Tracker4's `tracks` from `knob.toScript()`).

The Python API has no call for a Tracker4's track count or names; they are in the knob's script text:
`{ 1 31 N } { <column definitions> } { <one row per track> }`, a row being `{ e "name" x-curve y-curve ... }`.
"""

from __future__ import annotations

def parse(text: str) -> list:
    """Nested lists of words; braces nest, double quotes group (backslash escapes inside them)."""
    stack: list[list] = [[]]
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == "{":
            stack.append([])
            i += 1
        elif ch == "}":
            if len(stack) == 1:
                raise ValueError("unbalanced } in knob script")
            done = stack.pop()
            stack[-1].append(done)
            i += 1
        elif ch == '"':
            word, i = [], i + 1
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                word.append(text[i])
                i += 1
            stack[-1].append("".join(word))
            i += 1
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in "{}":
                i += 1
            stack[-1].append(text[start:i])
    if len(stack) != 1:
        raise ValueError("unbalanced { in knob script")
    return stack[0]


def tracker_track_names(tracks_script: str) -> list[str]:
    """Names of the tracks in a Tracker4 `tracks` knob script, in table order."""
    items = parse(tracks_script)
    if len(items) == 1 and isinstance(items[0], list):
        items = items[0]  # toScript() of the knob alone may come wrapped in one more brace level
    if len(items) < 3 or not isinstance(items[0], list) or len(items[0]) < 3:
        raise ValueError("not a Tracker4 tracks table")
    count = int(items[0][2])
    columns = [c[3] if isinstance(c, list) and len(c) > 3 else "" for c in items[1]]
    name_column = columns.index("name") if "name" in columns else 1
    rows = items[2] if count else []
    return [row[name_column] for row in rows[:count]]
