"""Kit tests of lessons.loop_viz: the demo program shows each rule in the passes its docstring
names, the stepper's state changes with each pass (text, HTML and the ipywidgets control),
record_run gives plain data, plot_timeline draws."""

import json

import pytest

from lessons.eventloop import FakeClock, Loop, ScriptedSelector
from lessons.loop_viz import DEMO_FD, Stepper, demo_loop, plot_timeline, record_run


def test_demo_passes_show_every_rule():
    loop, clock, selector = demo_loop()
    records = record_run(loop, 20)
    # 7th pass would be select(None): the scripted selector refuses, record_run stops
    assert [r["timeout"] for r in records] == [0, 0, 1.0, 2.0, 0, 1.0], selector.timeouts
    assert [r["ran"] for r in records] == [["start"], ["follow_up"], ["tick", "tock"],
                                           ["on_readable"], ["handle_data"], ["deadline"]]
    assert [len(r["events"]) for r in records] == [0, 0, 0, 1, 0, 0]
    assert records[3]["events"][0][0] == DEMO_FD
    assert records[3]["select_end"] == 2.0            # woken by I/O before the timer at 3
    assert selector.timeouts[-1] is None              # the refused pass asked to wait forever
    cancelled = [t for t in records[0]["heap_at_start"] if t["cancelled"]]
    assert [t["name"] for t in cancelled] == ["never"]
    assert loop.scheduled() == []                     # popped from the top in the last pass
    json.dumps(records)                               # plain data for the notebook / a child
    loop.close()


def test_stepper_state_changes_with_each_pass():
    stepper = Stepper(demo_loop)
    seen = [stepper.render_state()]
    texts = [stepper.render_text()]
    assert 'class="loop-stepper-state"' in seen[0]
    assert "<s>" in seen[0] and "never" in seen[0]     # the cancelled timer is struck through
    while not stepper.finished:
        stepper.step()
        seen.append(stepper.render_state())
        texts.append(stepper.render_text())
    assert len(seen) == 8                              # 6 passes, then "finished"
    assert all(a != b for a, b in zip(seen, seen[1:])), "every step must change what is shown"
    assert "ready queue: follow_up" in texts[1]
    assert "select timeout 1, events 0, ran tick, tock" in texts[3]
    assert "select timeout 2, events 1, ran on_readable" in texts[4]
    assert "finished" in seen[-1] and "<s>" not in seen[-1]
    assert stepper.step() is None                      # stepping a finished loop does nothing
    stepper.reset()
    assert stepper.render_state() == seen[0]
    stepper.loop.close()


def test_widget_buttons_drive_the_stepper():
    pytest.importorskip("ipywidgets")
    stepper = Stepper(demo_loop)
    widget = stepper.widget
    buttons = {b.description: b for b in widget.children[0].children}
    view = widget.children[1]
    assert set(buttons) == {"next pass", "reset"}
    assert "loop-stepper-state" in view._dom_classes
    first = view.value
    buttons["next pass"].click()
    assert view.value != first and "ran: start" in view.value
    buttons["reset"].click()
    assert view.value == first
    stepper.loop.close()


def test_stepper_accepts_a_bare_loop_factory():
    def factory():
        clock = FakeClock()
        loop = Loop(clock=clock, selector=ScriptedSelector(clock))
        loop.call_later(0.5, print)
        return loop
    stepper = Stepper(factory)
    assert stepper.step()["timeout"] == 0.5
    stepper.step()
    assert stepper.finished
    stepper.loop.close()


def test_plot_timeline_draws_on_agg():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes

    loop, _, _ = demo_loop()
    records = record_run(loop, 20)
    loop.close()
    ax = plot_timeline(records, title="demo")
    try:
        assert isinstance(ax, Axes)
        labels = [t.get_text() for t in ax.texts]
        assert "tick, tock" in labels                  # equal timers share one label
        assert "never (cancelled)" in labels
        assert any("on_readable" in t for t in labels)
        assert [t.get_text() for t in ax.get_yticklabels()] == ["select", "callbacks", "timers"]
        assert len(ax.collections) >= 3                # select spans, callback and timer marks
        ax.figure.canvas.draw()
    finally:
        plt.close(ax.figure)
    fig, given = plt.subplots()
    try:
        assert plot_timeline(records, ax=given) is given
    finally:
        plt.close(fig)
