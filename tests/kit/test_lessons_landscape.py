"""Kit tests of lessons.landscape: every row has its dates, a primary source for each, sane
order, the events the lesson talks about, and the timeline draws with the Agg backend."""

import datetime as dt
import re

import matplotlib

matplotlib.use("Agg")   # before pyplot is imported anywhere in this process

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from lessons.landscape import AS_OF, LANDSCAPE, UNVERIFIED, plot_landscape, year_fraction  # noqa: E402

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
REQUIRED = {"libevent", "libev", "libuv", "tornado IOLoop", "picoev", "uvloop", "asyncio",
            "gevent", "eventlet"}


def date_or_none(text: str) -> dt.date | None:
    if text == UNVERIFIED:
        return None
    assert ISO.match(text), f"{text!r} is neither an ISO date nor {UNVERIFIED!r}"
    return dt.date.fromisoformat(text)


def test_every_project_of_the_lesson_is_there():
    names = [p.name for p in LANDSCAPE]
    assert len(names) == len(set(names)), "one row per project"
    assert REQUIRED <= set(names), f"missing: {REQUIRED - set(names)}"


@pytest.mark.parametrize("project", LANDSCAPE, ids=lambda p: p.name)
def test_row_is_complete_and_sane(project):
    p = project
    assert p.what and p.status and p.checked and p.first_version and p.latest_version
    first, latest = date_or_none(p.first_date), date_or_none(p.latest_date)
    as_of = dt.date.fromisoformat(AS_OF)
    for d in (first, latest):
        assert d is None or dt.date(1995, 1, 1) <= d <= as_of, f"{p.name}: {d} out of range"
    if first and latest:
        assert first <= latest, f"{p.name}: latest release before the first date"
    for key in ("first", "latest", *(e.label for e in p.events)):
        url = p.sources.get(key, "")
        assert url.startswith(("https://", "http://")), f"{p.name}: no source for {key!r}"
    for e in p.events:
        d = date_or_none(e.date)
        assert d is not None and (first is None or first <= d) and d <= as_of, f"{p.name}: {e}"
    if latest:   # maintained means activity within two years of AS_OF; a stale release says so
        stale = (as_of - latest).days > 2 * 366
        assert not (stale and p.maintained) or "release" in p.status, p.name


def test_the_facts_the_lesson_quotes():
    by = {p.name: p for p in LANDSCAPE}
    tornado = by["tornado IOLoop"]
    switch = [e for e in tornado.events if "asyncio" in e.label]
    assert switch and switch[0].date.startswith("2018"), "tornado 5.0 (2018) moved onto asyncio"
    assert by["asyncio"].first_date.startswith("2014") and "3.4" in by["asyncio"].first_version
    assert not by["libev"].maintained and any("last" in e.label for e in by["libev"].events)
    assert not by["picoev"].maintained
    assert by["libuv"].maintained and by["uvloop"].maintained
    assert year_fraction(by["libev"].first_date) > year_fraction(by["libevent"].first_date)


def test_year_fraction():
    assert year_fraction("2018-01-01") == 2018.0
    assert 2018.16 < year_fraction("2018-03-05") < 2018.18
    assert year_fraction("2020-12-31") < 2021.0


def test_plot_draws_with_agg():
    fig, ax = plt.subplots()
    try:
        assert plot_landscape(ax) is ax
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert labels == [p.name for p in LANDSCAPE]
        bars = [c for c in ax.collections if type(c).__name__ == "BrokenBarHCollection"
                or c.__class__.__name__ == "PolyCollection"]
        drawn = [p for p in LANDSCAPE if UNVERIFIED not in (p.first_date, p.latest_date)]
        assert len(bars) >= len(drawn)
        texts = {t.get_text() for t in ax.texts}
        assert {e.label for p in LANDSCAPE for e in p.events} <= texts
        fig.canvas.draw()                       # the whole figure renders
    finally:
        plt.close(fig)
    ax2 = plot_landscape()                      # makes its own figure
    plt.close(ax2.figure)
