"""The event-loop landscape around asyncio, on one timeline, with a source for every date.

Lesson 04 builds a loop like ``asyncio.BaseEventLoop``; this module places that loop among
the C libraries and Python frameworks that solved the same problem before and beside it:

    from lessons.landscape import LANDSCAPE, plot_landscape
    for p in LANDSCAPE:
        print(p.name, p.first_date, p.latest_version, p.latest_date, p.maintained)
    plot_landscape()            # one lane per project: first release -> latest release

Every row is data with provenance, not memory:

- ``first_date`` / ``latest_date`` are ISO dates (``YYYY-MM-DD``), or ``"unverified"`` when no
  primary record was found; ``first_version`` says what the first date is (a release, or
  the first commit when the project's own records show no earlier release).
- ``sources`` maps ``"first"``, ``"latest"`` and each event's label to a primary source: the
  project's own release tag, ChangeLog or PyPI page.
- ``checked`` says how the dates were verified for this module (which mirror, which tag,
  which file). The git mirrors are snapshots: a release newer than the snapshot is named in
  ``note`` when the package index lists it, with its date "unverified" unless it was read
  from the project's own files.
- ``maintained`` is True when the project has a release or commits within two years of
  ``AS_OF``; ``status`` says in words what that means for it.

The data were collected on ``AS_OF``; re-check them before you quote them later.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: The day the data were collected and checked.
AS_OF = "2026-12-02"

UNVERIFIED = "unverified"


@dataclass(frozen=True)
class Event:
    """A dated moment in a project's life, drawn as a marker on its lane."""

    date: str
    label: str


@dataclass(frozen=True, eq=False)
class Project:
    """One row of the landscape: what it is, when it started, its latest release, who keeps it."""

    name: str
    what: str
    first_version: str
    first_date: str
    latest_version: str
    latest_date: str
    maintained: bool
    status: str
    sources: dict[str, str]
    checked: str
    events: tuple[Event, ...] = ()
    note: str = ""
    kind: str = "C library"      # or "Python"


LANDSCAPE: list[Project] = [
    Project(
        name="libevent",
        what="C library: callbacks on fd readiness, timers and signals over select/poll/epoll/kqueue; "
             "later buffered I/O, DNS and HTTP",
        first_version="first commit (Niels Provos, 'Initial revision')",
        first_date="2002-04-09",
        latest_version="2.2.1-alpha",
        latest_date="2023-05-21",
        maintained=True,
        status="commits in 2026, but the last stable release (2.1.12) is from 2020",
        sources={
            "first": "https://github.com/libevent/libevent/commit/aa6567fe",
            "latest": "https://github.com/libevent/libevent/releases/tag/release-2.2.1-alpha",
            "2.1.12: last stable": "https://github.com/libevent/libevent/releases/tag/release-2.1.12-stable",
        },
        # git log --reverse on github:libevent/libevent (first commit aa6567fe, 2002-04-09, a CVS
        # import); tag dates from `git for-each-ref refs/tags` and the headers of ChangeLog
        # ("Changes in version 2.2.1-alpha (21 May 2023)") and ChangeLog-2.1 ("2.1.12-stable
        # (05 Jul 2020)"); HEAD of the snapshot is 2026-06-02. The CVS import is already a
        # working library (select and kqueue back ends) and commit 8bb9fd58 "version 0.5" is
        # 2002-06-13: releases before the import are not in the repository, so the first
        # *release* date is unverified.
        checked="git mirror of github:libevent/libevent: first commit, tags, ChangeLog headers",
        events=(Event("2020-07-05", "2.1.12: last stable"),),
        note="first release unverified: the history starts at a 2002 CVS import; version 0.5 is 2002-06-13",
    ),
    Project(
        name="libev",
        what="C library by Marc Lehmann modelled on libevent: smaller watchers, a timer heap, "
             "fork and time-jump handling",
        first_version="0.1",
        first_date="2007-10-31",
        latest_version="4.33",
        latest_date="2020-03-18",
        maintained=False,
        status="no release since 4.33 (March 2020); its CVS (not on GitHub) was not checked for later commits",
        sources={
            "first": "http://cvs.schmorp.de/libev/Changes",
            "latest": "http://cvs.schmorp.de/libev/Changes",
            "4.33: last release": "http://cvs.schmorp.de/libev/Changes",
        },
        # The Changes file of libev's CVS, read in two GitHub copies: github:smurfix/libev
        # (up to 4.22; its last line "0.1  Wed Oct 31 21:31:48 CET 2007") and github:wyzdot/libev
        # (top entry "4.33 Wed Mar 18 13:22:29 CET 2020"). Whether CVS has commits after 2021
        # is unverified.
        checked="Changes file of libev (copies github:smurfix/libev, github:wyzdot/libev)",
        events=(Event("2020-03-18", "4.33: last release"),),
    ),
    Project(
        name="libuv",
        what="C library written for Node.js: an event loop plus a thread pool for files and DNS, "
             "IOCP on Windows",
        first_version="first commit (Ryan Dahl, 'start!')",
        first_date="2011-03-23",
        latest_version="1.52.1",
        latest_date="2026-03-06",
        maintained=True,
        status="regular releases; the loop under Node.js and uvloop",
        sources={
            "first": "https://github.com/libuv/libuv/commit/133b4e399",
            "latest": "https://github.com/libuv/libuv/releases/tag/v1.52.1",
            "1.0.0": "https://github.com/libuv/libuv/releases/tag/v1.0.0",
        },
        # git log --reverse on github:libuv/libuv (133b4e399, 2011-03-23); the first tags are
        # node-v0.5.x (2011-07, libuv shipped inside Node); ChangeLog "2014.11.21, Version 1.0.0
        # (Stable)" (the v1.0.0 tag's commit is dated 2014-11-20 +0100) and its top entry
        # "2026.03.06, Version 1.52.1 (Stable)". Snapshot HEAD 2026-05-15.
        checked="git mirror of github:libuv/libuv: first commit, ChangeLog entries, tags v1.0.0 and v1.52.1",
        events=(Event("2014-11-21", "1.0.0"),),
    ),
    Project(
        name="tornado IOLoop",
        what="Python web framework from FriendFeed with its own epoll IOLoop; "
             "since 5.0 the IOLoop wraps asyncio's loop",
        first_version="0.1",
        first_date="2009-09-10",
        latest_version="6.6.1",
        latest_date="2026-11-09",
        maintained=True,
        status="maintained; an asyncio event loop underneath since 5.0",
        sources={
            "first": "https://github.com/tornadoweb/tornado/commit/2afa9734",
            "latest": "https://www.tornadoweb.org/en/stable/releases/v6.6.1.html",
            "5.0: IOLoop on asyncio": "https://www.tornadoweb.org/en/stable/releases/v5.0.0.html",
        },
        # github:tornadoweb/tornado: commit 2afa9734 "Move Tornado project to Github"
        # (2009-09-10) has setup.py version="0.1"; docs/releases/v5.0.0.rst: "Mar 5, 2018 ... On
        # Python 3, the IOLoop is always a wrapper around the asyncio event loop". The mirror
        # stops at v6.5.7 (2026-06-08); 6.6.1 and its date "Nov 9, 2026" were read from
        # docs/releases/v6.6.1.rst in the sdist from `pip download tornado==6.6.1`.
        checked="git mirror of github:tornadoweb/tornado; docs/releases/*.rst; sdist of 6.6.1",
        events=(Event("2018-03-05", "5.0: IOLoop on asyncio"),),
        note="0.1 is the version in the first public commit; the index's oldest is 0.2 "
             "(commit d6e9cd5a, 2009-09-17)",
        kind="Python",
    ),
    Project(
        name="picoev",
        what="tiny C event loop by Kazuho Oku for fast servers (used by meinheld)",
        first_version="first commit ('mkdir')",
        first_date="2009-08-23",
        latest_version="no release; last commit",
        latest_date="2016-04-27",
        maintained=False,
        status="never tagged a release; last commit 2016 (last code change 2015-01-05)",
        sources={
            "first": "https://github.com/kazuho/picoev/commit/5816991",
            "latest": "https://github.com/kazuho/picoev/commit/ff85d9e",
        },
        # github:kazuho/picoev has no tags; git log: first commit 5816991 2009-08-23, last
        # ff85d9e 2016-04-27 (a merge); `git log -- '*.c' '*.h'` last changed 2015-01-05.
        checked="git mirror of github:kazuho/picoev: no tags; first and last commits",
    ),
    Project(
        name="uvloop",
        what="drop-in asyncio event loop written in Cython on top of libuv",
        first_version="0.4.1",
        first_date="2016-04-12",
        latest_version="0.22.1",
        latest_date="2025-10-16",
        maintained=True,
        status="maintained by MagicStack; commits in 2026",
        sources={
            "first": "https://pypi.org/project/uvloop/0.4.1/",
            "latest": "https://github.com/MagicStack/uvloop/releases/tag/v0.22.1",
        },
        # github:MagicStack/uvloop: the first tag v0.4.1 (commit 2016-04-12, "Update setup.py to
        # make sdist builds"); `pip index versions uvloop` lists 0.4.1 as the oldest version.
        # Latest tag in the snapshot (HEAD 2026-05-04): v0.22.1, 2025-10-16.
        checked="git mirror of github:MagicStack/uvloop: tags; pip index versions uvloop",
        note="the package index also lists 0.23.0; its date is unverified",
        kind="Python",
    ),
    Project(
        name="asyncio",
        what="the standard library's event loop and coroutines (PEP 3156), added in Python 3.4",
        first_version="Python 3.4.0",
        first_date="2014-03-16",
        latest_version="Python 3.14.7",
        latest_date="2026-08-05",
        maintained=True,
        status="part of CPython, released with it",
        sources={
            "first": "https://www.python.org/downloads/release/python-340/",
            "latest": "https://github.com/python/cpython/releases/tag/v3.14.7",
        },
        # CPython mirror: v3.4.0:Misc/NEWS "Release date: 2014-03-16"; v3.14.7:Misc/NEWS.d/
        # 3.14.7.rst ".. release date: 2026-08-05" (the mirror's newest final tag; v3.15.0rc1's
        # commit is 2026-08-04).
        checked="CPython git mirror: v3.4.0:Misc/NEWS, v3.14.7:Misc/NEWS.d/3.14.7.rst",
        note="3.15.0 final may be newer than the mirror: unverified",
        kind="Python",
    ),
    Project(
        name="gevent",
        what="greenlet-based Python networking: monkey-patched blocking code on libev or libuv",
        first_version="0.9.0",
        first_date="2009-07-08",
        latest_version="26.5.0",
        latest_date="2026-05-20",
        maintained=True,
        status="maintained; frequent releases",
        sources={
            "first": "https://www.gevent.org/changelog_pre.html",
            "latest": "https://www.gevent.org/changelog.html",
            "1.0a1: libev (was libevent)": "https://www.gevent.org/changelog_1_0.html",
        },
        # github:gevent/gevent: docs/changelog_pre.rst "Release 0.9.0 (Jul 8, 2009)" (the tag's
        # commit is 2009-07-07 in UTC+7; the first commits ship libevent.h: 0.x ran on libevent);
        # docs/changelog_1_0.rst "Release 1.0a1 (Aug 2, 2011) ... embeds ... libev and c-ares";
        # CHANGES.rst "26.5.0 (2026-05-20)", also the tag's commit date. `pip index versions
        # gevent` lists 26.9.0 as newest and 0.9.2 as oldest (0.9.0 is not on the index).
        checked="git mirror of github:gevent/gevent: CHANGES.rst, docs/changelog_pre.rst, docs/changelog_1_0.rst, tags",
        events=(Event("2011-08-02", "1.0a1: libev (was libevent)"),),
        note="the package index also lists 26.9.0; its date is unverified",
        kind="Python",
    ),
    Project(
        name="eventlet",
        what="greenlet-based Python networking with pluggable hubs (select, poll, epoll, asyncio)",
        first_version="first commit (svn r2)",
        first_date="2007-08-23",
        latest_version="0.41.1",
        latest_date="2026-07-15",
        maintained=True,
        status="bug fixes only; its README discourages new use and plans retirement",
        sources={
            "first": "https://github.com/eventlet/eventlet/commit/6e4eb16e",
            "latest": "https://github.com/eventlet/eventlet/releases/tag/0.41.1",
        },
        # github:eventlet/eventlet: first commit 6e4eb16e "[svn r2]" 2007-08-23; the oldest tag
        # is v0.9.16 (2011), so the first release date is unverified; tag 0.41.1 2026-07-15;
        # README.rst: "Only maintenance for stability and bug fixing ... Usages in new projects
        # are discouraged". `pip index versions eventlet` lists 0.41.3 as newest.
        checked="git mirror of github:eventlet/eventlet: first commit, tags, README.rst",
        note="the index lists 0.2 as its oldest version and 0.41.3 as newest; both dates unverified",
        kind="Python",
    ),
]


def year_fraction(date: str) -> float:
    """``"2018-03-05"`` -> 2018.17: a date as a decimal year, for a time axis."""
    d = dt.date.fromisoformat(date)
    start = dt.date(d.year, 1, 1)
    days = (dt.date(d.year + 1, 1, 1) - start).days
    return d.year + (d - start).days / days


def plot_landscape(ax: Axes | None = None) -> Axes:
    """Draw ``LANDSCAPE`` as a timeline and return the axes.

    One lane per project, a bar from its first date to its latest release, coloured by
    whether it is maintained, and a marker at each event (tornado 5.0 moving onto asyncio,
    libev's last release, ...) with the event's label beside it. ``ax=None`` makes a new
    figure. Rows with an unverified date are drawn only where their dates are known.
    """
    import matplotlib.pyplot as plt   # here, not at the top: importing the data needs no matplotlib

    from lessons.plotting import PALETTE, mark_events, timeline

    if ax is None:
        _, ax = plt.subplots(figsize=(8.0, 4.5))
    rows = [p for p in LANDSCAPE if UNVERIFIED not in (p.first_date, p.latest_date)]
    lanes = [p.name for p in LANDSCAPE]
    label = {True: "maintained", False: "not maintained"}
    spans = [(p.name, year_fraction(p.first_date), year_fraction(p.latest_date), label[p.maintained])
             for p in rows]
    timeline(ax, spans, lane_order=lanes, unit="year",
             colors={"maintained": PALETTE[2], "not maintained": PALETTE[3]},
             title=f"Event loops: first date to latest release (as of {AS_OF})")
    marks = [(p.name, year_fraction(e.date)) for p in LANDSCAPE for e in p.events]
    mark_events(ax, marks, lanes, label="event")
    row = {name: i for i, name in enumerate(lanes)}
    for p in LANDSCAPE:
        for e in p.events:
            # beside the marker, on a pale box so it reads on top of any bar colour
            ax.annotate(e.label, (year_fraction(e.date), row[p.name]), xytext=(6, 0),
                        textcoords="offset points", ha="left", va="center", fontsize=7,
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85})
    ax.set_xlim(2001, year_fraction(AS_OF) + 1)
    return ax
