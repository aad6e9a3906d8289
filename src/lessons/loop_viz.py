"""See the teaching event loop work, one pass at a time: a stepper widget and a timeline plot.

Three pieces, all built on ``lessons.eventloop``:

- ``demo_loop()`` makes a (Loop, FakeClock, ScriptedSelector) holding a small scripted program
  in which every rule of a pass shows up within seven passes (the ntodo rule, FIFO for equal
  timers, lazy cancellation, "I/O wakes the loop before the next timer", select(None) when
  there is nothing left to do).
- ``Stepper(demo_loop)`` is an ipywidgets control: each click on "next pass" runs one
  ``loop.run_once()`` and redraws the ready queue, the timer heap, the select timeout chosen and
  the callbacks run. In a notebook::

      from lessons.loop_viz import Stepper, demo_loop
      from lessons.widgets import show
      stepper = Stepper(demo_loop)
      show(stepper.widget, "the loop stepper")

  Without a browser (tests, a stored notebook) use ``stepper.step()`` and
  ``stepper.render_state()`` (the HTML the widget shows) or ``stepper.render_text()``.
- ``record_run(loop, passes)`` runs passes and returns one plain dict per pass;
  ``plot_timeline(records)`` draws them against loop time.

Nothing here reaches into the loop's private state: it reads ``loop.ready()``,
``loop.scheduled()``, ``loop.time()`` and the ``PassRecord`` each pass hands to the observer.
"""

from __future__ import annotations

import dataclasses
import html
from typing import Any, Callable

from lessons.eventloop import FakeClock, Loop, PassRecord, ScriptedSelector

__all__ = ["demo_loop", "Stepper", "record_run", "plot_timeline", "waits_of", "DEMO_FD"]

#: The descriptor the demo's ScriptedSelector reports readable at t=2 (a number, no real socket:
#: the scripted selector never asks the kernel about it).
DEMO_FD = 1000


# ---------------------------------------------------------------------- the demo program
# Module-level functions, so that describe() shows short names ("tick", not "<locals>.tick").

def start(loop: Loop) -> None:
    """Runs in pass 0; what it schedules with call_soon waits for pass 1 (the ntodo rule)."""
    loop.call_soon(follow_up)


def follow_up() -> None:
    """Queued by ``start`` while pass 0 was running callbacks."""


def tick() -> None:
    """Due at t=1, scheduled before ``tock`` for the same time: runs first (FIFO)."""


def tock() -> None:
    """Due at t=1 too, scheduled second."""


def never() -> None:
    """Due at t=3.5 but cancelled at once: stays in the heap, marked, until it reaches the top."""


def on_readable(loop: Loop, fd: int) -> None:
    """The reader of DEMO_FD: takes the data (here: stops watching) and queues its handling."""
    loop.remove_reader(fd)
    loop.call_soon(handle_data)


def handle_data() -> None:
    """Queued by the I/O callback; runs in the next pass."""


def deadline() -> None:
    """The last timer (t=3); after it the loop has nothing to do but wait for I/O forever."""


def demo_loop() -> tuple[Loop, FakeClock, ScriptedSelector]:
    """A fresh loop at t=0 with the demo program scheduled, not yet run.

    Passes: 0 runs ``start`` (timeout 0); 1 runs ``follow_up`` (0); 2 waits 1.0 and runs
    ``tick``, ``tock``; 3 would wait 2.0 for ``deadline`` at t=3 but DEMO_FD becomes readable at
    t=2.0, so it runs ``on_readable``; 4 runs ``handle_data`` (0); 5 waits 1.0 and runs
    ``deadline``; 6 pops the cancelled ``never`` (t=3.5, struck through until now) from the
    heap's top and, with nothing left, would call select(None), which the scripted selector
    refuses (a real loop would sleep until I/O arrives): the stepper says "finished".
    """
    clock = FakeClock(0.0)
    selector = ScriptedSelector(clock)
    loop = Loop(clock=clock, selector=selector)
    loop.call_soon(start, loop)
    loop.call_later(1.0, tick)
    loop.call_later(1.0, tock)
    loop.call_later(3.5, never).cancel()
    loop.call_later(3.0, deadline)
    loop.add_reader(DEMO_FD, on_readable, loop, DEMO_FD)
    selector.deliver(2.0, DEMO_FD)
    return loop, clock, selector


# ---------------------------------------------------------------------- recording

def _heap_rows(loop: Loop) -> list[dict[str, Any]]:
    rows = []
    for timer in loop.scheduled():
        rows.append({"when": timer.when(), "seq": timer.seq, "name": timer.name,
                     "cancelled": timer.cancelled()})
    return rows


def _pass_dict(record: PassRecord, heap: list[dict[str, Any]], ready: list[str],
               ended: float) -> dict[str, Any]:
    out = dataclasses.asdict(record)
    out["spans"] = [list(span) for span in record.spans]
    out["events"] = [list(event) for event in record.events]
    # The select call returns when the first callback starts (a fake clock does not move
    # while callbacks run); with no callback, when the pass ends.
    out["select_end"] = record.spans[0][1] if record.spans else ended
    out["ended"] = ended
    out["heap_at_start"] = heap        # the timers as the pass found them (cancelled included)
    out["ready_at_start"] = ready
    return out


def _run_one(loop: Loop) -> dict[str, Any] | None:
    """One observed pass as a dict, or None when the scripted selector refuses select(None)."""
    heap = _heap_rows(loop)
    ready = [h.name for h in loop.ready()]
    seen: list[PassRecord] = []
    previous = loop.observer

    def observe(record: PassRecord) -> None:
        seen.append(record)
        if previous is not None:
            previous(record)

    loop.observer = observe
    try:
        loop.run_once()
    except RuntimeError as exc:
        if "forever" not in str(exc):
            raise
        return None
    finally:
        loop.observer = previous
    return _pass_dict(seen[-1], heap, ready, loop.time())


def record_run(loop: Loop, passes: int) -> list[dict[str, Any]]:
    """Run up to ``passes`` passes; return one dict per pass (the PassRecord's fields plus
    ``select_end``, ``ended``, ``heap_at_start`` and ``ready_at_start``).

    Stops early when a ScriptedSelector is asked to wait forever. Plain data (json-able)."""
    records = []
    for _ in range(passes):
        rec = _run_one(loop)
        if rec is None:
            break
        records.append(rec)
    return records


# ---------------------------------------------------------------------- the stepper widget

def _fmt_time(value: float | None) -> str:
    return "None (wait forever)" if value is None else f"{value:g}"


class Stepper:
    """Step a loop one pass per click. ``loop_factory()`` returns a Loop (or a tuple whose first
    item is one, as ``demo_loop`` does); "reset" calls it again.

    ``step()`` runs one pass (what "next pass" does); ``render_state()`` returns the HTML shown;
    ``widget`` is the ipywidgets control (built on first use, so tests need no frontend)."""

    NEXT = "next pass"
    RESET = "reset"
    CSS_CLASS = "loop-stepper-state"

    def __init__(self, loop_factory: Callable[[], Any]) -> None:
        self._factory = loop_factory
        self._widget: Any = None
        self._html: Any = None
        self.reset()

    # -- model
    def reset(self) -> None:
        """Close the current loop (if any) and start again from a fresh one."""
        old = getattr(self, "loop", None)
        if old is not None and not old.is_running():
            old.close()
        made = self._factory()
        self.loop: Loop = made[0] if isinstance(made, tuple) else made
        self.history: list[dict[str, Any]] = []
        self.finished = False
        self._refresh()

    def step(self) -> dict[str, Any] | None:
        """Run one pass; return its record, or None once the loop has nothing left to do."""
        if self.finished:
            return None
        rec = _run_one(self.loop)
        if rec is None:
            self.finished = True
        else:
            self.history.append(rec)
        self._refresh()
        return rec

    # -- view
    def render_text(self) -> str:
        """The state as plain text: the same facts as render_state(), one per line."""
        loop = self.loop
        lines = [f"next pass: {len(self.history)}   loop time: {loop.time():g}"]
        lines.append("ready queue: " + (" | ".join(h.name for h in loop.ready()) or "(empty)"))
        heap = [f"{r['name']} when={r['when']:g} seq={r['seq']}" + (" (cancelled)" if r["cancelled"] else "")
                for r in _heap_rows(loop)]
        lines.append("timer heap: " + ("; ".join(heap) or "(empty)"))
        if self.history:
            last = self.history[-1]
            lines.append(f"last pass {last['index']}: select timeout {_fmt_time(last['timeout'])}, "
                         f"events {len(last['events'])}, ran {', '.join(last['ran']) or '(nothing)'}")
        if self.finished:
            lines.append("finished: nothing ready, no timers; a real loop would now wait in select(None)")
        return "\n".join(lines)

    def render_state(self) -> str:
        """The HTML the widget shows: ready queue as boxes, timer heap (cancelled struck),
        and the last pass's select timeout, I/O events and callbacks run."""
        esc = html.escape
        loop = self.loop
        box = ("display:inline-block;border:1px solid #0072B2;border-radius:3px;"
               "padding:1px 6px;margin:2px;font-family:monospace")
        ready = "".join(f'<span style="{box}">{esc(h.name)}</span>' for h in loop.ready())
        timers = []
        for r in _heap_rows(loop):
            text = esc(f"when={r['when']:g} seq={r['seq']} {r['name']}")
            timers.append(f"<li><s>{text}</s> (cancelled)</li>" if r["cancelled"] else f"<li>{text}</li>")
        parts = [f'<div class="{self.CSS_CLASS}">',
                 f"<b>next pass: {len(self.history)}</b> &nbsp; loop time: {loop.time():g}",
                 f"<div>ready queue: {ready or '<i>(empty)</i>'}</div>",
                 "<div>timer heap (in firing order):"
                 + (f"<ol>{''.join(timers)}</ol>" if timers else " <i>(empty)</i>") + "</div>"]
        if self.history:
            last = self.history[-1]
            ran = ", ".join(esc(n) for n in last["ran"]) or "<i>(nothing)</i>"
            parts.append(f"<div>last pass {last['index']}: select timeout "
                         f"<b>{esc(_fmt_time(last['timeout']))}</b>, {len(last['events'])} I/O event(s), "
                         f"ran: {ran}</div>")
        if self.finished:
            parts.append("<div><b>finished</b>: nothing ready and no timers, so a real loop would "
                         "now wait in select(None) until I/O arrives.</div>")
        parts.append("</div>")
        return "\n".join(parts)

    def _refresh(self) -> None:
        if self._html is not None:
            self._html.value = self.render_state()

    @property
    def widget(self) -> Any:
        """The control: buttons "next pass" and "reset" above an HTML view of the state."""
        if self._widget is None:
            import ipywidgets as w
            next_button = w.Button(description=self.NEXT, tooltip="run one loop.run_once()")
            reset_button = w.Button(description=self.RESET, tooltip="start again from a fresh loop")
            self._html = w.HTML(value=self.render_state())
            self._html.add_class(self.CSS_CLASS)
            next_button.on_click(lambda _b: self.step())
            reset_button.on_click(lambda _b: self.reset())
            self._widget = w.VBox([w.HBox([next_button, reset_button]), self._html])
        return self._widget


# ---------------------------------------------------------------------- the timeline plot

def waits_of(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The passes whose select call let loop time pass (timeout 0 polls take none)."""
    return [r for r in records if r["select_end"] > r["started"]]


def plot_timeline(records: list[dict[str, Any]], ax: Any = None, *, title: str | None = None) -> Any:
    """Draw a run from ``record_run`` against loop time and return the Axes.

    Rows, top to bottom: "select" (the time each pass spent waiting in select, as spans),
    "callbacks" (a mark per pass that ran callbacks, labelled with their names) and "timers"
    (each timer's due time; hollow grey for a cancelled one)."""
    import matplotlib.pyplot as plt
    from lessons.plotting import PALETTE, mark_events, timeline

    if ax is None:
        _, ax = plt.subplots()
    lanes = ["select", "callbacks", "timers"]
    waits = [("select", r["started"], r["select_end"], "waiting in select") for r in waits_of(records)]
    timeline(ax, waits, lane_order=lanes, colors={"waiting in select": PALETTE[5]}, unit="loop time (s)",
             legend=False, title=title)
    marks = []
    for r in records:
        if r["ran"]:
            t = r["select_end"]
            marks.append(("callbacks", t))
            ax.annotate(f"{r['index']}: " + ", ".join(r["ran"]), (t, 1), xytext=(4, 6 + 9 * (r["index"] % 3)),
                        textcoords="offset points", fontsize=7, rotation=20)
    mark_events(ax, marks, lanes, marker="o", color=PALETTE[0])
    timers: dict[int, dict[str, Any]] = {}
    for r in records:
        for t in r["heap_at_start"]:
            timers[t["seq"]] = t           # the latest sighting says whether it was cancelled
    live = [("timers", t["when"]) for t in timers.values() if not t["cancelled"]]
    dead = [t["when"] for t in timers.values() if t["cancelled"]]
    mark_events(ax, live, lanes, marker="v", color=PALETTE[3])
    if dead:
        ax.scatter(dead, [2] * len(dead), marker="v", s=40, facecolors="none", edgecolors="#888888",
                   zorder=3)
    by_when: dict[float, list[dict[str, Any]]] = {}
    for t in sorted(timers.values(), key=lambda t: t["seq"]):
        by_when.setdefault(t["when"], []).append(t)
    for when, group in by_when.items():     # equal times share one label, in firing order
        names = ", ".join(t["name"] + (" (cancelled)" if t["cancelled"] else "") for t in group)
        grey = all(t["cancelled"] for t in group)
        ax.annotate(names, (when, 2), xytext=(0, -12), textcoords="offset points",
                    fontsize=7, ha="center", color="#888888" if grey else "black")
    for r in waits_of(records):
        ax.annotate(f"timeout {r['timeout']:g}", ((r["started"] + r["select_end"]) / 2, 0),
                    ha="center", va="center", fontsize=7)
    ends = [r["ended"] for r in records] + [t["when"] for t in timers.values()]
    if ends:
        ax.set_xlim(min(r["started"] for r in records) - 0.1 if records else 0, max(ends) + 0.3)
    return ax
