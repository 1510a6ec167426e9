"""A fake `nuke` module for testing the Nuke bridge without Nuke: only the calls the bridge uses, with the
signatures Nuke documents, stricter where Nuke misbehaves silently, and a record of every call.

Enforced: node graph and panel knobs only on the main thread (Nuke hangs or crashes otherwise);
executeInMainThread(callable, args=tuple, kwargs=dict); executeInMainThreadWithResult never from the main thread
(Nuke deadlocks); setValueAt only on an index made animated with setAnimated; unknown knobs raise NameError like
Nuke. The main thread's event loop is `process_events()`: tests call it as Nuke's loop would run it.
Curves interpolate linearly between keys and hold outside them (Nuke's default is smooth; tests read keys).
"""

from __future__ import annotations

import queue
import re
import threading
import time
from typing import Any, Callable

CALLS: list[tuple[str, str, tuple]] = []  # (thread name, call, arguments)
NODES: list["Node"] = []
MENUS: dict[str, "Menu"] = {}
PROGRESS_TASKS: list["ProgressTask"] = []
_main_queue: "queue.Queue[tuple]" = queue.Queue()
_state = {"frame": 1}


def _record(call: str, *args: Any) -> None:
    CALLS.append((threading.current_thread().name, call, args))


def _require_main(call: str) -> None:
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError(f"nuke.{call} called from thread {threading.current_thread().name}; "
                           "use nuke.executeInMainThread")


def reset() -> None:
    """Fake only: a new empty script."""
    for registry in (CALLS, NODES, MENUS, PROGRESS_TASKS):
        registry.clear()
    _state["frame"] = 1


# --- threads ------------------------------------------------------------------------------------------------

def executeInMainThread(call: Callable, args: tuple = (), kwargs: dict | None = None) -> None:
    if not callable(call) or not isinstance(args, tuple) or not isinstance(kwargs or {}, dict):
        raise TypeError("executeInMainThread(callable, args=tuple, kwargs=dict)")
    _record("executeInMainThread", getattr(call, "__name__", call))
    _main_queue.put((call, args, kwargs or {}, None))


def executeInMainThreadWithResult(call: Callable, args: tuple = (), kwargs: dict | None = None) -> Any:
    if not callable(call) or not isinstance(args, tuple) or not isinstance(kwargs or {}, dict):
        raise TypeError("executeInMainThreadWithResult(callable, args=tuple, kwargs=dict)")
    if threading.current_thread() is threading.main_thread():
        raise RuntimeError("executeInMainThreadWithResult from the main thread deadlocks Nuke")
    _record("executeInMainThreadWithResult", getattr(call, "__name__", call))
    slot: dict = {"done": threading.Event()}
    _main_queue.put((call, args, kwargs or {}, slot))
    slot["done"].wait()
    if "error" in slot:
        raise slot["error"]
    return slot["value"]


def process_events(timeout: float = 0.05) -> int:
    """Fake only: run what worker threads queued for the main thread (Nuke's event loop); returns how many."""
    _require_main("process_events")
    count = 0
    deadline = time.monotonic() + timeout
    while True:
        try:
            call, args, kwargs, slot = _main_queue.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return count
        count += 1
        try:
            value = call(*args, **kwargs)
            if slot is not None:
                slot["value"] = value
        except Exception as exc:
            if slot is None:
                raise
            slot["error"] = exc
        finally:
            if slot is not None:
                slot["done"].set()


# --- progress and menus -------------------------------------------------------------------------------------

class ProgressTask:
    """Usable from any thread (Nuke's threading example drives one from a worker); ends when deleted."""

    def __init__(self, message: str) -> None:
        if not isinstance(message, str):
            raise TypeError("ProgressTask(message: str)")
        self.messages: list[str] = []
        self.progress: list[int] = []
        self.cancelled = False  # tests set this: the artist pressed the progress bar's cancel
        self.ended = False
        PROGRESS_TASKS.append(self)

    def setMessage(self, message: str) -> None:
        if not isinstance(message, str):
            raise TypeError("setMessage(str)")
        self.messages.append(message)

    def setProgress(self, value: int) -> None:
        if not isinstance(value, int) or not 0 <= value <= 100:
            raise TypeError(f"setProgress(int 0-100), got {value!r}")
        self.progress.append(value)

    def isCancelled(self) -> bool:
        return self.cancelled

    def __del__(self) -> None:
        self.ended = True


class Menu:
    def __init__(self, name: str) -> None:
        self.name = name
        self.commands: dict[str, tuple[Any, str]] = {}

    def addCommand(self, name: str, command: Any = None, shortcut: str = "", icon: str = "", tooltip: str = "",
                   index: int = -1, readonly: bool = False) -> "Menu":
        _require_main("menu().addCommand")
        if not isinstance(name, str) or not (isinstance(command, str) or callable(command)) or not isinstance(shortcut, str):
            raise TypeError("addCommand(name: str, command: str | callable, shortcut: str)")
        self.commands[name] = (command, shortcut)
        return self


def menu(name: str) -> Menu:
    _require_main("menu")
    if name not in ("Nuke", "Nodes", "Pane", "Viewer", "Node Graph", "Properties", "Animation"):
        raise ValueError(f"no menu named {name}")
    return MENUS.setdefault(name, Menu(name))


def message(text: str) -> None:
    _require_main("message")
    _record("message", text)


def frame(value: int | None = None) -> int:
    _require_main("frame")
    if value is not None:
        _state["frame"] = int(value)
    return _state["frame"]


# --- knobs ----------------------------------------------------------------------------------------------------

class Knob:
    def __init__(self, name: str, label: str = "", value: Any = None) -> None:
        if not isinstance(name, str) or not isinstance(label, str):
            raise TypeError("Knob(name: str, label: str)")
        self._name, self._label, self._value = name, label, value

    def name(self) -> str:
        return self._name

    def value(self) -> Any:
        _require_main(f"{self._name}.value")
        return self._value

    def getValue(self) -> Any:
        return self.value()

    def setValue(self, value: Any) -> bool:
        _require_main(f"{self._name}.setValue")
        _record("setValue", self._name, value)
        self._value = self._check(value)
        return True

    def _check(self, value: Any) -> Any:
        return value

    def setTooltip(self, text: str) -> None:
        _require_main(f"{self._name}.setTooltip")
        if not isinstance(text, str):
            raise TypeError(f"{self._name}.setTooltip(text: str)")
        self.tooltip = text


class String_Knob(Knob):
    def __init__(self, name: str, label: str = "", value: str = "") -> None:
        super().__init__(name, label, value)

    def _check(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise TypeError(f"{self._name}: a string knob takes str, got {type(value).__name__}")
        return value


File_Knob = String_Knob


class Text_Knob(String_Knob):
    pass


class Int_Knob(Knob):
    def __init__(self, name: str, label: str = "", value: int = 0) -> None:
        super().__init__(name, label, value)

    def _check(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{self._name}: an int knob takes a number, got {value!r}")
        return int(value)


class Double_Knob(Knob):
    def __init__(self, name: str, label: str = "", value: float = 0.0) -> None:
        super().__init__(name, label, float(value))

    def _check(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{self._name}: a double knob takes a number, got {value!r}")
        return float(value)


class Boolean_Knob(Knob):
    def __init__(self, name: str, label: str = "", value: bool = False) -> None:
        super().__init__(name, label, bool(value))

    def _check(self, value: Any) -> Any:
        return bool(value)


class Enumeration_Knob(Knob):
    def __init__(self, name: str, label: str, values: list[str]) -> None:
        if not isinstance(values, list) or not values:
            raise TypeError("Enumeration_Knob(name, label, values: list[str])")
        super().__init__(name, label, values[0])
        self.values = list(values)

    def _check(self, value: Any) -> Any:
        if value not in self.values:
            raise ValueError(f"{self._name}: {value!r} is not one of {self.values}")
        return value

    def setValues(self, values: list[str]) -> None:
        """Nuke keeps the index, not the name, of the current item: callers set the value again."""
        _require_main(f"{self._name}.setValues")
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise TypeError(f"{self._name}.setValues(values: list[str]), got {values!r}")
        _record("setValues", self._name, list(values))
        index = self.values.index(self._value) if self._value in self.values else 0
        self.values = list(values)
        self._value = self.values[min(index, len(self.values) - 1)]


class PyScript_Knob(Knob):
    def __init__(self, name: str, label: str = "", command: str = "") -> None:
        super().__init__(name, label, command)
        self.executed = 0
        self.on_execute: Callable[[], None] | None = None

    def execute(self) -> None:
        _require_main(f"{self._name}.execute")
        _record("execute", self._name)
        self.executed += 1
        if self.on_execute is not None:
            self.on_execute()


class AnimKnob(Knob):
    """Knobs with indexed, animatable values (XY_Knob, the Tracker4 table): curves per index."""

    def __init__(self, name: str, label: str = "", size: int = 2) -> None:
        super().__init__(name, label, None)
        self.static: dict[int, Any] = {i: 0.0 for i in range(size)}
        self.curves: dict[int, dict[float, float]] = {}
        self.size = size

    def _index(self, index: int) -> int:
        if not isinstance(index, int) or not 0 <= index < self.size:
            raise IndexError(f"{self._name}: index {index!r} outside 0..{self.size - 1}")
        return index

    def setAnimated(self, index: int = -1) -> bool:
        _require_main(f"{self._name}.setAnimated")
        _record("setAnimated", self._name, index)
        for i in range(self.size) if index == -1 else [self._index(index)]:
            self.curves.setdefault(i, {})
        return True

    def isAnimated(self, index: int = 0) -> bool:
        return self._index(index) in self.curves

    def setValueAt(self, value: float, time: float, index: int = -1) -> bool:
        _require_main(f"{self._name}.setValueAt")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not isinstance(time, (int, float)):
            raise TypeError(f"{self._name}.setValueAt(value: float, time: float, index: int), got {value!r}, {time!r}")
        for i in range(self.size) if index == -1 else [self._index(index)]:
            if i not in self.curves:
                raise RuntimeError(f"{self._name}[{i}] is not animated: call setAnimated({i}) first")
            self.curves[i][float(time)] = float(value)
        return True

    def setValue(self, value: Any, index: int = -1) -> bool:
        _require_main(f"{self._name}.setValue")
        _record("setValue", self._name, value, index)
        if isinstance(value, (list, tuple)):
            if index != -1 or len(value) != self.size:
                raise ValueError(f"{self._name}: a list value needs {self.size} entries and no index")
            for i, v in enumerate(value):
                self.static[i] = float(v)
            return True
        for i in range(self.size) if index == -1 else [self._index(index)]:
            self.static[i] = value
        return True

    def getValueAt(self, time: float, index: int = 0) -> float:
        _require_main(f"{self._name}.getValueAt")
        curve = self.curves.get(self._index(index))
        if not curve:
            return self.static[index]
        keys = sorted(curve)
        if time <= keys[0]:
            return curve[keys[0]]
        if time >= keys[-1]:
            return curve[keys[-1]]
        after = next(k for k in keys if k >= time)
        before = max(k for k in keys if k <= time)
        if after == before:
            return curve[after]
        t = (time - before) / (after - before)
        return curve[before] * (1 - t) + curve[after] * t

    def getValue(self, index: int = 0) -> Any:
        _require_main(f"{self._name}.getValue")
        return self.static[self._index(index)]

    def value(self, index: int = 0) -> Any:
        return self.getValue(index)

    def keys(self, index: int) -> dict[float, float]:
        """Fake only: the keys of one index."""
        return dict(self.curves.get(index, {}))


class XY_Knob(AnimKnob):
    pass


class TracksKnob(AnimKnob):
    """Tracker4's `tracks` table: 31 columns per track, grown by the node's add_track button."""

    COLUMNS = 31

    def __init__(self) -> None:
        super().__init__("tracks", "", 0)
        self.names: list[str] = []

    def add_track(self) -> None:
        self.names.append(f"track {len(self.names) + 1}")
        for i in range(self.size, self.size + self.COLUMNS):
            self.static[i] = 0.0
        self.size += self.COLUMNS

    def toScript(self) -> str:
        """The table as Nuke writes it (header, column definitions, one row per track: enable, name, x, y)."""
        _require_main("tracks.toScript")
        columns = " ".join(f"{{ 1 1 0 {c} {c} 1 }}" for c in ("enable", "name", "track_x", "track_y"))
        rows = []
        for track, name in enumerate(self.names):
            cells = ["{curve K x1 1}", '"' + name.replace('"', '\\"') + '"']
            for column in (2, 3):
                curve = self.curves.get(track * self.COLUMNS + column)
                if curve:
                    cells.append("{curve " + " ".join(f"x{int(t)} {v}" for t, v in sorted(curve.items())) + "}")
                else:
                    cells.append(str(self.static[track * self.COLUMNS + column]))
            rows.append("{ " + " ".join(cells) + " }")
        return f"{{ {{ 1 31 {len(self.names)} }} {{ {columns} }} {{ {' '.join(rows)} }} }}"

    def fromScript(self, text: str) -> bool:
        """Tracks from a `.nk` tracks table (names and x/y curves with `x<frame>` markers), as Nuke pastes."""
        _require_main("tracks.fromScript")
        self.names, self.curves, self.static, self.size = [], {}, {}, 0
        for row in re.findall(r'\{ \{curve K x\d+ 1\} ("(?:[^"\\]|\\.)*"|\S+) (\{curve[^}]*\}) (\{curve[^}]*\})', text):
            self.add_track()
            track = len(self.names) - 1
            self.names[track] = row[0].strip('"').replace('\\"', '"')
            for column, curve in ((2, row[1]), (3, row[2])):
                keys, frame_no = {}, None
                for word in curve.strip("{}").split()[1:]:
                    if word.startswith("x"):
                        frame_no = float(word[1:])
                    else:
                        keys[frame_no] = float(word)
                        frame_no += 1
                self.curves[track * self.COLUMNS + column] = keys
        return True


# --- nodes ----------------------------------------------------------------------------------------------------

def _knobs_for(node_class: str) -> dict[str, Knob]:
    common = {"label": String_Knob("label"), "name": String_Knob("name")}
    if node_class == "Read":
        return {**common, "file": File_Knob("file"), "first": Int_Knob("first", value=1), "last": Int_Knob("last", value=1),
                "frame_mode": Enumeration_Knob("frame_mode", "frame", ["start at", "offset"]),
                "frame": String_Knob("frame"), "raw": Boolean_Knob("raw")}
    if node_class == "Tracker4":
        return {**common, "tracks": TracksKnob(), "add_track": PyScript_Knob("add_track"),
                "reference_frame": Int_Knob("reference_frame", value=1)}
    if node_class == "CornerPin2D":
        return {**common, **{f"{side}{i}": XY_Knob(f"{side}{i}") for side in ("to", "from") for i in range(1, 5)}}
    raise ValueError(f"the fake nuke knows no node class {node_class}")


class Node:
    def __init__(self, node_class: str, name: str) -> None:
        self._class = node_class
        self._knobs = _knobs_for(node_class)
        self._knobs["name"]._value = name
        self._selected = False
        if node_class == "Tracker4":
            self._knobs["add_track"].on_execute = self._knobs["tracks"].add_track

    def __getitem__(self, knob: str) -> Knob:
        _require_main(f"Node[{knob!r}]")
        if knob not in self._knobs:
            raise NameError(f"knob {knob} does not exist")
        return self._knobs[knob]

    def knobs(self) -> dict[str, Knob]:
        return dict(self._knobs)

    def name(self) -> str:
        return self._knobs["name"]._value

    def Class(self) -> str:
        return self._class

    def setSelected(self, selected: bool) -> None:
        _require_main("Node.setSelected")
        self._selected = bool(selected)

    def isSelected(self) -> bool:
        return self._selected

    def width(self) -> int:
        return self._format()[0]

    def height(self) -> int:
        return self._format()[1]

    def _format(self) -> tuple[int, int]:
        """A Read node's format is its first file's size (read with OpenImageIO, as Nuke reads the header)."""
        _require_main("Node.width/height")
        import OpenImageIO as oiio

        path = re.sub(r"#+", lambda m: "%0" + str(len(m.group(0))) + "d", self._knobs["file"]._value)
        spec = oiio.ImageInput.open(path % self._knobs["first"]._value).spec()
        return spec.width, spec.height


def createNode(node_class: str, knobs: str = "", inpanel: bool = True) -> Node:
    _require_main("createNode")
    if not isinstance(node_class, str) or not isinstance(knobs, str) or not isinstance(inpanel, bool):
        raise TypeError("createNode(node_class: str, knobs: str = '', inpanel: bool = True)")
    _record("createNode", node_class, knobs, inpanel)
    count = sum(n.Class() == node_class for n in NODES) + 1
    node = Node(node_class, f"{node_class}{count}")
    words = knobs.split()
    for name, value in zip(words[::2], words[1::2]):
        knob = node[name]
        knob.setValue(int(value) if isinstance(knob, Int_Knob) else value)
    for other in NODES:
        other._selected = False
    node._selected = True
    NODES.append(node)
    return node


def toNode(name: str) -> Node | None:
    _require_main("toNode")
    return next((n for n in NODES if n.name() == name), None)


def selectedNode() -> Node:
    _require_main("selectedNode")
    chosen = [n for n in NODES if n.isSelected()]
    if not chosen:
        raise ValueError("no node selected")
    return chosen[-1]


def selectedNodes(filter: str = "") -> list[Node]:
    _require_main("selectedNodes")
    if not isinstance(filter, str):
        raise TypeError("selectedNodes(filter: str)")
    return [n for n in NODES if n.isSelected() and (not filter or n.Class() == filter)]
