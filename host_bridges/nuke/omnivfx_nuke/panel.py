"""The OmniVFX panel: pick a Read node (and a Tracker4 whose tracks are the query points, or a grid), track
with the daemon in a worker thread, and build the nodes when the result arrives.

Threading follows Nuke's guide: the worker owns the client and a nuke.ProgressTask; everything that touches the
node graph or the panel's knobs goes through nuke.executeInMainThread(WithResult). The panel's Cancel button and
the progress bar's own cancel both stop the daemon's job (it stays resumable).
"""

from __future__ import annotations

import threading
import time
import uuid

import nuke
import nukescripts

from . import nodes
from .knob_math import track_index
from .plate_pattern import ReadPlate, read_plate
from .tcl_list import tracker_track_names
from .vendor.omnimotion_vfx.client import FALLBACK_TRACKERS, Client, DaemonError, DaemonUnavailable, Progress, tracker_menu
from .vendor.omnimotion_vfx.daemon.protocol import DEFAULT_ENDPOINT

SOURCES = ["selected Tracker4", "grid"]
PROBE_TIMEOUT = 1.0


def not_running_message(endpoint: str) -> str:
    return f"No omnivfx daemon at {endpoint}: start it with `omnivfx serve --bind {endpoint}` (or check the CURVE keys)"


def selected_read() -> "nuke.Node":
    reads = nuke.selectedNodes("Read")
    if len(reads) != 1:
        raise ValueError("select one Read node (the plate to track)")
    return reads[0]


def plate_of(read: "nuke.Node") -> ReadPlate:
    return read_plate(read["file"].value(), int(read["first"].value()), int(read["last"].value()),
                      str(read["frame_mode"].value()), str(read["frame"].value()), read.width(), read.height())


def tracker_queries(tracker: "nuke.Node", plate: ReadPlate, script_frame: int) -> tuple[list[str], list[list[float]]]:
    """The Tracker4's tracks at the current frame as (plate frame, x, y) queries in Nuke's pixels (origin
    bottom-left, y up): the job says origin=bottom-left and the daemon flips them at read time."""
    table = tracker["tracks"]
    names = tracker_track_names(table.toScript())
    if not names:
        raise ValueError(f"{tracker.name()} has no tracks; add some, or use a grid")
    points = []
    for track in range(len(names)):
        x = table.getValueAt(script_frame, track_index(track, "track_x"))
        y = table.getValueAt(script_frame, track_index(track, "track_y"))
        points.append([float(plate.plate_frame(script_frame)), float(x), float(y)])
    return names, points


class TrackRun:
    """One job: the worker thread, its progress task and the cancel watcher."""

    def __init__(self, panel: "OmniVFXPanel", endpoint: str, client_args: dict, submit_args: dict, plate: ReadPlate,
                 names: list[str] | None, cornerpin: bool, dense_reads: bool) -> None:
        self.panel, self.endpoint, self.client_args = panel, endpoint, client_args
        self.submit_args, self.plate = submit_args, plate
        self.names, self.cornerpin, self.dense_reads = names, cornerpin, dense_reads
        self.job_id = uuid.uuid4().hex
        self.cancel_requested = threading.Event()
        self.done = threading.Event()
        self.nodes: list = []
        self.thread = threading.Thread(target=self._work, name=f"omnivfx-{self.job_id[:8]}", daemon=True)

    def _status(self, text: str) -> None:
        nuke.executeInMainThread(self.panel.set_status, args=(text,))

    def _work(self) -> None:
        task = nuke.ProgressTask("OmniVFX tracking")
        try:
            self._track(task)
        except DaemonError as exc:
            self._status("Cancelled (the daemon can resume it)" if exc.code == "cancelled" else f"Daemon error ({exc.code}): {exc}")
        except DaemonUnavailable:
            self._status(not_running_message(self.endpoint))
        except Exception as exc:  # the worker must always report back, or the panel would wait forever
            self._status(f"{type(exc).__name__}: {exc}")
        finally:
            del task
            self.done.set()
            nuke.executeInMainThread(self.panel.run_finished, args=(self,))

    def _track(self, task: "nuke.ProgressTask") -> None:
        try:
            with Client(self.endpoint, timeout=PROBE_TIMEOUT, retries=0, **self.client_args) as probe:
                probe.status()
        except DaemonUnavailable:
            self._status(not_running_message(self.endpoint))
            return
        task.setMessage("submitting")
        with Client(self.endpoint, **self.client_args) as client:
            client.submit(job_id=self.job_id, **self.submit_args)
            threading.Thread(target=self._watch_cancel, args=(task,), name="omnivfx-cancel", daemon=True).start()
            result = client.wait(self.job_id, on_progress=lambda p: self._progress(task, p))
        task.setMessage("building nodes")
        task.setProgress(100)
        summary = nuke.executeInMainThreadWithResult(self._build, args=(result,))
        self._status(summary)

    def _progress(self, task: "nuke.ProgressTask", progress: Progress) -> None:
        stage = progress.stage or progress.state
        task.setMessage(f"{stage} {progress.step}/{progress.total}" if progress.total else stage)
        task.setProgress(int(100 * progress.step / progress.total) if progress.total else 0)

    def _watch_cancel(self, task: "nuke.ProgressTask") -> None:
        """Its own thread and client: the progress bar's cancel or the panel's Cancel stops the daemon's job."""
        while not self.done.is_set():
            if task.isCancelled() or self.cancel_requested.is_set():
                try:
                    with Client(self.endpoint, timeout=PROBE_TIMEOUT, retries=1, **self.client_args) as client:
                        client.cancel(self.job_id)
                except (DaemonError, DaemonUnavailable) as exc:
                    self._status(f"Cancel failed: {exc}")
                return
            time.sleep(0.1)

    def _build(self, result) -> str:
        """Main thread: the nodes, and the panel's summary line."""
        self.nodes = [nodes.create_tracker(result, self.plate, self.names or list(result.names))]
        text = f"Tracker4 {self.nodes[0].name()}: {len(result.tracks)} tracks, {int((~result.visible).sum())} occluded keys left out"
        if self.cornerpin:
            try:
                self.nodes.append(nodes.create_cornerpin(result, self.plate))
                text += f"; {self.nodes[-1].name()}"
            except ValueError as exc:
                text += f"; no CornerPin2D: {exc}"
        if self.dense_reads and result.results_dir:
            reads = nodes.create_dense_reads(result.results_dir, self.plate)
            self.nodes += reads
            text += f"; {len(reads)} Read nodes" if reads else f"; no mattes/STMaps yet (omnivfx export {result.results_dir} --format mattes,stmap)"
        return text


class OmniVFXPanel(nukescripts.PythonPanel):
    def __init__(self) -> None:
        super().__init__("OmniVFX tracker", "uk.omnivfx.tracker")
        self.address = nuke.String_Knob("address", "Daemon")
        self.address.setValue(DEFAULT_ENDPOINT)
        self.check = nuke.PyScript_Knob("check", "Check daemon")
        self.curve_keys = nuke.File_Knob("curve_keys", "CURVE keys")
        self.trackers = FALLBACK_TRACKERS  # until the daemon lists its own (`capabilities`)
        self.tracker = nuke.Enumeration_Knob("tracker", "Tracker", list(self.trackers))
        self.preset = nuke.Enumeration_Knob("preset", "Preset", list(self.trackers["omnimotion"]["presets"]))
        self.menu_source = nuke.Text_Knob("menu_source", "", "Trackers and presets: built-in list (asking the daemon...)")
        self.fit_minutes = nuke.Double_Knob("fit_minutes", "Fit minutes (0: full)")
        self.fit_minutes.setValue(0.0)
        self.source = nuke.Enumeration_Knob("source", "Points", SOURCES)
        self.source.setTooltip("Tracker4 positions are sent as Nuke pixels (origin bottom-left, y up) with "
                               "origin=bottom-left; the daemon converts them to omnivfx's top-left pixels.")
        self.grid = nuke.Int_Knob("grid", "Grid N x N")
        self.grid.setValue(8)
        self.cornerpin = nuke.Boolean_Knob("cornerpin", "CornerPin2D from four tracks")
        self.dense_reads = nuke.Boolean_Knob("dense_reads", "Read mattes/STMaps")
        self.track = nuke.PyScript_Knob("track", "Track")
        self.cancel = nuke.PyScript_Knob("cancel", "Cancel")
        self.status = nuke.Text_Knob("status", "", "")
        for knob in (self.address, self.check, self.curve_keys, self.tracker, self.preset, self.menu_source,
                     self.fit_minutes, self.source, self.grid, self.cornerpin, self.dense_reads, self.track, self.cancel,
                     self.status):
            self.addKnob(knob)
        self.run: TrackRun | None = None
        self._fill_presets()
        self._ask_menu()

    def knobChanged(self, knob: "nuke.Knob") -> None:
        if knob is self.track:
            self.start()
        elif knob is self.cancel and self.run is not None:
            self.run.cancel_requested.set()
            self.set_status("Cancelling...")
        elif knob is self.check:
            threading.Thread(target=self._check, args=(self.address.value(), self.client_args()), daemon=True).start()
            self._ask_menu()
        elif knob is self.tracker:
            self._fill_presets()

    def client_args(self) -> dict:
        """Client options: the CURVE key folder (`omnivfx keys DIR --client NAME`) when the daemon encrypts."""
        return {"curve_keys": self.curve_keys.value()} if self.curve_keys.value() else {}

    def set_status(self, text: str) -> None:
        self.status.setValue(text)

    def _ask_menu(self) -> None:
        """Ask the daemon for its trackers and presets off the main thread; the menus change when it answers."""
        endpoint, client_args = self.address.value(), self.client_args()

        def ask() -> None:
            trackers, why = tracker_menu(endpoint, PROBE_TIMEOUT, **client_args)
            nuke.executeInMainThread(self.set_menu, args=(trackers, endpoint, why))

        threading.Thread(target=ask, name="omnivfx-capabilities", daemon=True).start()

    def set_menu(self, trackers: dict, endpoint: str, why: str | None) -> None:
        """Main thread: the daemon's trackers and presets, or the built-in list (`why` says the daemon's absence)."""
        self.trackers = trackers
        current = self.tracker.value()
        self.tracker.setValues(list(trackers))
        self.tracker.setValue(current if current in trackers else list(trackers)[0])
        self._fill_presets()
        self.menu_source.setValue(f"Trackers and presets: built-in list ({why})" if why
                                  else f"Trackers and presets from the daemon at {endpoint}")

    def _fill_presets(self) -> None:
        """The preset menu offers the chosen tracker's presets only; its tooltip describes each."""
        presets = self.trackers.get(self.tracker.value(), {}).get("presets") or {"default": ""}
        current = self.preset.value()
        self.preset.setValues(list(presets))
        self.preset.setValue(current if current in presets else list(presets)[0])
        self.preset.setTooltip("\n".join(f"{name}: {line}" for name, line in presets.items()))

    def run_finished(self, run: TrackRun) -> None:
        if self.run is run:
            self.run = None

    def start(self) -> TrackRun | None:
        """Main thread: read the selection, then hand the job to a worker thread."""
        if self.run is not None:
            self.set_status("A job is running; cancel it first")
            return None
        try:
            plate = plate_of(selected_read())
            submit = {"plate": plate.pattern, "frame_range": plate.frame_range, "tracker": self.tracker.value(),
                      "preset": self.preset.value()}
            if float(self.fit_minutes.value()) > 0:
                submit["fit_minutes"] = float(self.fit_minutes.value())
            names = None
            if self.source.value() == "grid":
                frame = plate.plate_frame(nuke.frame())
                if not plate.first <= frame <= plate.last:
                    raise ValueError(f"the current frame is outside the plate ({plate.frame_range})")
                submit.update(grid=int(self.grid.value()), grid_frame=frame)
            else:
                trackers = nuke.selectedNodes("Tracker4")
                if len(trackers) != 1:
                    raise ValueError("select one Tracker4 whose tracks are the points to track (or choose grid)")
                names, points = tracker_queries(trackers[0], plate, nuke.frame())
                submit.update(queries=points, query_names=names, origin="bottom-left")
        except ValueError as exc:
            self.set_status(str(exc))
            return None
        self.run = TrackRun(self, self.address.value(), self.client_args(), submit, plate, names,
                            bool(self.cornerpin.value()), bool(self.dense_reads.value()))
        self.set_status("Connecting to the daemon...")
        self.run.thread.start()
        return self.run

    def _check(self, endpoint: str, client_args: dict) -> None:
        try:
            with Client(endpoint, timeout=PROBE_TIMEOUT, retries=0, **client_args) as client:
                status = client.status()
            text = f"Daemon {status.get('version', '?')}: {len(status.get('running') or [])} running, {status.get('queue_length', 0)} queued"
        except (DaemonError, DaemonUnavailable):
            text = not_running_message(endpoint)
        nuke.executeInMainThread(self.set_status, args=(text,))


def show() -> OmniVFXPanel:
    """Menu command: open the panel (non-modal, so Nuke stays usable while the job runs)."""
    panel = OmniVFXPanel()
    panel.show()
    return panel
