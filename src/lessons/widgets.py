"""Show an ipywidgets control so that a stored notebook says what it is before it runs.

A widget's view only renders in the kernel that made it. In a notebook opened from disk, an
interactive cell therefore shows its plain-text fallback, which for ``ipywidgets.interactive``
is a long ``interactive(children=(IntSlider(...`` repr. ``show`` keeps the widget and replaces
that fallback with one sentence telling the reader to run the cell::

    from lessons.widgets import show
    show(ipywidgets.interactive(draw, threads=(1, 4)), "threads and switch interval")

The plain text is also what nbval compares, so it must be the same on every run: no model ids.
"""

from __future__ import annotations

from typing import Any


def show(widget: Any, what: str = "an interactive control") -> None:
    """Display ``widget``; its plain-text fallback reads ``[<what>: run this cell to use it]``."""
    from IPython.display import display
    bundle = dict(widget._repr_mimebundle_())
    bundle["text/plain"] = f"[{what}: run this cell to use it]"
    display(bundle, raw=True)
