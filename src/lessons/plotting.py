"""The course's plot house style, and the few plot helpers every lesson shares.

Call ``use_house_style()`` once, in a notebook's first code cell; every figure
after that gets the same size, fonts, grid and colours, so plots from
different lessons look like one book.  Then draw with plain matplotlib or
with the helpers here:

- ``bar_compare(ax, labels, values, unit)``: one bar per thing measured, each
  annotated with its value in readable units (``log=True`` for values that
  span orders of magnitude).
- ``grouped_bars(ax, groups, series, unit)``: several measured series side by
  side for each group (e.g. wall time per number of workers, per mode).
- ``timeline(ax, spans)``: Gantt-style lanes from ``(lane, start, end, label)``
  tuples; later lessons draw scheduler traces with it.
- ``format_quantity(value, unit)``: ``0.000012, "s"`` -> ``"12 µs"``.

This module imports matplotlib, so the package does not import it eagerly:
``from lessons.plotting import use_house_style``.

Colours are the Okabe–Ito palette, which stays distinguishable for the
common forms of colour blindness.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence

import matplotlib as mpl
from cycler import cycler  # installed with matplotlib
from matplotlib.axes import Axes
from matplotlib.container import BarContainer
from matplotlib.patches import Patch

#: Okabe & Ito (2008) colour-blind-safe palette, in the order plots use it.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)

#: Default figure size in inches (width, height); use (7, 3.5 * rows) for grids.
FIGSIZE: tuple[float, float] = (7.0, 3.5)


def use_house_style() -> None:
    """Set matplotlib's defaults to the course style.

    Readable font sizes at notebook width, a light grid behind the data, the
    ``PALETTE`` colour cycle, figures of ``FIGSIZE`` at 100 dpi, no top or
    right spines, and tight layout.  Safe to call more than once.
    """
    mpl.rcParams.update(
        {
            "figure.figsize": FIGSIZE,
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "figure.autolayout": True,
            "font.size": 10,
            "axes.titlesize": 11,
            "axes.titleweight": "bold",
            "axes.labelsize": 10,
            "xtick.labelsize": 9,
            "ytick.labelsize": 9,
            "legend.fontsize": 9,
            "legend.frameon": False,
            "axes.prop_cycle": cycler(color=list(PALETTE)),
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "axes.axisbelow": True,
            "grid.color": "#dddddd",
            "grid.linewidth": 0.6,
            "lines.linewidth": 1.8,
            "image.cmap": "viridis",
        }
    )


_PREFIXES: dict[str, tuple[tuple[float, str], ...]] = {
    "s": ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")),
    "KiB": ((1024.0**2, "GiB"), (1024.0, "MiB"), (1.0, "KiB"), (1 / 1024, "B")),
}


def format_quantity(value: float, unit: str) -> str:
    """Format ``value`` with a readable prefix and three significant digits.

    Seconds become ns/µs/ms/s and KiB become B/KiB/MiB/GiB; any other unit
    is printed as is.

    >>> format_quantity(0.0000123, "s"), format_quantity(8200, "KiB"), format_quantity(3, "x")
    ('12.3 µs', '8.01 MiB', '3 x')
    """
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    if value == 0 or unit not in _PREFIXES:
        return f"{value:.3g} {unit}"
    for scale, name in _PREFIXES[unit]:
        if abs(value) >= scale:
            return f"{value / scale:.3g} {name}"
    scale, name = _PREFIXES[unit][-1]
    return f"{value / scale:.3g} {name}"


def bar_compare(
    ax: Axes,
    labels: Sequence[str],
    values: Sequence[float],
    unit: str,
    *,
    log: bool = False,
    horizontal: bool = True,
    colors: Sequence[str] | None = None,
    title: str | None = None,
) -> BarContainer:
    """Draw one bar per label and write each value, formatted, beside its bar.

    Use it for "how much does each thing cost" comparisons.  With
    ``log=True`` the value axis is logarithmic, so a 30 ns bar and a 50 ms
    bar are both visible; values that are zero or negative cannot be drawn
    on a log axis, so they get a faint hatched stub and their text says so.

    Example::

        fig, ax = plt.subplots()
        bar_compare(ax, ["generator", "thread"], [3e-8, 5e-6], "s", log=True)

    Args:
        ax: the axes to draw on.
        labels: one label per bar, top to bottom (horizontal) or left to right.
        values: the measured values, in ``unit``.
        unit: ``"s"`` or ``"KiB"`` get readable prefixes; anything else is shown as is.
        log: use a logarithmic value axis.
        horizontal: horizontal bars (the default; long labels stay readable).
        colors: one colour per bar; default cycles through ``PALETTE``.
        title: optional axes title.
    """
    if len(labels) != len(values):
        raise ValueError("labels and values must have the same length")
    colors = list(colors) if colors is not None else [PALETTE[i % len(PALETTE)] for i in range(len(values))]
    drawable = [v for v in values if v > 0]  # NaN > 0 is False, so NaN is left out too
    floor = min(drawable, default=1.0) / 3 if log else 0.0

    def height(value: float) -> float:
        if math.isnan(value):
            return floor  # drawn invisible below; its text says "n/a"
        return value if (value > 0 or not log) else floor

    heights = [height(v) for v in values]
    positions = list(range(len(values)))

    if horizontal:
        bars = ax.barh(positions, heights, color=colors)
        ax.set_yticks(positions, labels)
        if not ax.yaxis_inverted():  # first label on top (axes sharing y are inverted only once)
            ax.invert_yaxis()
        ax.grid(axis="y", visible=False)
        if log:
            ax.set_xscale("log")
        ax.set_xlabel(unit)
    else:
        bars = ax.bar(positions, heights, color=colors)
        ax.set_xticks(positions, labels)
        ax.grid(axis="x", visible=False)
        if log:
            ax.set_yscale("log")
        ax.set_ylabel(unit)

    for bar, value in zip(bars, values):
        text = format_quantity(value, unit)
        if math.isnan(value):
            bar.set_visible(False)
        elif log and value <= 0:
            # A stub, not a measurement: draw it faint and hatched, and say so.
            bar.set_alpha(0.3)
            bar.set_hatch("///")
            text += " (not drawn to scale)"
        if horizontal:
            xy = (bar.get_x() + bar.get_width(), bar.get_y() + bar.get_height() / 2)
            ax.annotate(" " + text, xy, va="center", ha="left", fontsize=8)
        else:
            xy = (bar.get_x() + bar.get_width() / 2, bar.get_y() + bar.get_height())
            ax.annotate(text, xy, va="bottom", ha="center", fontsize=8)
    # Leave room for the value labels past the longest bar.
    top = max(heights, default=1.0) or 1.0
    if horizontal:
        ax.set_xlim(right=top * (6.0 if log else 1.25))
    else:
        ax.set_ylim(top=top * (6.0 if log else 1.2))
    if title:
        ax.set_title(title)
    return bars


def grouped_bars(
    ax: Axes,
    groups: Sequence[str],
    series: Mapping[str, Sequence[float]],
    unit: str,
    *,
    log: bool = False,
    annotate: bool = True,
    title: str | None = None,
) -> None:
    """Draw several series side by side for each group, with a legend.

    ``series`` maps a series name (legend entry) to one value per group.
    Typical use: ``groups`` = worker counts, ``series`` = one entry per way
    of running the work, values = measured wall times.

    Example::

        grouped_bars(ax, ["1", "2", "4"], {"threads": [0.4, 0.4, 0.4],
                                          "processes": [0.4, 0.2, 0.2]}, "s")
    """
    names = list(series)
    if any(len(series[name]) != len(groups) for name in names):
        raise ValueError("every series needs one value per group")
    width = 0.8 / max(1, len(names))
    for i, name in enumerate(names):
        offsets = [g + (i - (len(names) - 1) / 2) * width for g in range(len(groups))]
        bars = ax.bar(offsets, series[name], width=width * 0.95, label=name, color=PALETTE[i % len(PALETTE)])
        if annotate:
            for bar, value in zip(bars, series[name]):
                # upright labels: side-by-side bars are too narrow for horizontal ones
                ax.annotate(
                    format_quantity(value, unit),
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    xytext=(0, 2),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    rotation=90,
                    fontsize=7,
                )
        ax.margins(y=0.18)   # room above the tallest bar for its label
    ax.set_xticks(range(len(groups)), groups)
    ax.grid(axis="x", visible=False)
    if log:
        ax.set_yscale("log")
    ax.set_ylabel(unit)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if title:
        ax.set_title(title)


def timeline(
    ax: Axes,
    spans: Sequence[tuple[Hashable, float, float, str]],
    *,
    lane_order: Sequence[Hashable] | None = None,
    colors: Mapping[str, str] | None = None,
    unit: str = "s",
    legend: bool = True,
    title: str | None = None,
) -> None:
    """Draw Gantt-style lanes: one row per lane, one box per ``(lane, start, end, label)``.

    Use it to show *who ran when*: a lane is a worker (a thread, a process,
    a CPU, an M in Go's scheduler), a span is one task or time slice, and the
    label says what ran (spans with the same label share a colour).  Lanes
    appear in ``lane_order``, or in order of first appearance.

    Example::

        timeline(ax, [("thread 0", 0.00, 0.05, "task 1"),
                      ("thread 1", 0.01, 0.06, "task 2")])

    Args:
        ax: the axes to draw on.
        spans: ``(lane, start, end, label)`` tuples; ``end`` must be >= ``start``.
        lane_order: the lanes top to bottom; default: order of first appearance.
        colors: colour per label; default: ``PALETTE`` in order of first appearance.
        unit: label of the time axis.
        legend: show one legend entry per label (skipped above 8 labels).
        title: optional axes title.
    """
    lanes: list[Hashable] = list(lane_order) if lane_order is not None else []
    for lane, *_ in spans:
        if lane not in lanes:
            lanes.append(lane)
    palette: dict[str, str] = dict(colors or {})
    for *_, label in spans:
        if label not in palette:
            palette[label] = PALETTE[len(palette) % len(PALETTE)]
    row = {lane: i for i, lane in enumerate(lanes)}
    for lane, start, end, label in spans:
        if end < start:
            raise ValueError(f"span on lane {lane!r} ends before it starts")
        ax.broken_barh([(start, end - start)], (row[lane] - 0.4, 0.8),
                       facecolors=palette[label], edgecolor="white", linewidth=0.5)
    ax.set_yticks(range(len(lanes)), [str(lane) for lane in lanes])
    ax.set_ylim(len(lanes) - 0.5, -0.5)  # first lane on top
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(unit)
    if legend and 0 < len(palette) <= 8:
        handles = [Patch(facecolor=c, label=name) for name, c in palette.items()]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if title:
        ax.set_title(title)


def mark_events(
    ax: Axes,
    marks: Sequence[tuple[Hashable, float]],
    lane_order: Sequence[Hashable],
    *,
    label: str | None = None,
    marker: str = "v",
    color: str = "#000000",
    size: float = 40.0,
) -> None:
    """Put a marker on a ``timeline`` axes at each ``(lane, time)`` in ``marks``.

    Use it to show instants on top of spans: the moment a waiting thread asks
    for the GIL, a request arrives, a timer fires.  ``lane_order`` must be
    the lanes in the order ``timeline`` drew them (row 0 on top); marks on
    unknown lanes are skipped.  With ``label``, the markers get a legend entry
    (the legend is redrawn, keeping ``timeline``'s entries).

    Example::

        timeline(ax, spans, lane_order=["A", "B"])
        mark_events(ax, [("B", 5.0)], ["A", "B"], label="drop request")
    """
    row = {lane: i for i, lane in enumerate(lane_order)}
    points = [(t, row[lane]) for lane, t in marks if lane in row]
    if points:   # in the middle of the lane, outlined so it shows on any span colour
        ax.scatter([p[0] for p in points], [p[1] for p in points], marker=marker, s=size,
                   color=color, edgecolors="white", linewidths=0.8, zorder=3, label=label)
    if label and points:
        handles, labels = ax.get_legend_handles_labels()
        old = ax.get_legend()
        if old is not None:   # keep the span patches timeline() put in its legend
            kept = [(h, t.get_text()) for h, t in zip(old.legend_handles, old.get_texts()) if h is not None]
            handles = [h for h, _ in kept] + [h for h, lab in zip(handles, labels) if lab == label]
            labels = [text for _, text in kept] + [label]
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.0, 1.0))
