"""A small asyncio service that wedges itself on purpose, for `python -m asyncio ps/pstree`.

Run it (Python 3.14+ to inspect it; it runs on 3.11+)::

    python wedged_service.py            # two children deadlock on each other's Event
    python wedged_service.py --cycle    # two children await each other's *task*

It prints ``ready <pid>`` on stdout once both children are blocked, then never finishes:
that is the bug you are asked to find from outside, without touching the code::

    python3.14 -m asyncio ps <pid>       # a table: task, its coroutine stack, who awaits it
    python3.14 -m asyncio pstree <pid>   # the same as a tree rooted at the main task

The default mode is the classic deadlock (死锁): ``reader`` waits for ``data_ready``, which
``writer`` sets only after ``ack`` is set, which ``reader`` sets only after it has read.
Neither task awaits the other, so the await graph is a tree: ``service`` (the main task)
awaits both through its TaskGroup, and pstree draws it. Only the two leaves' stacks (both in
``Event.wait``) tell you why nothing moves.

``--cycle`` makes ``left`` await the task ``right`` and ``right`` await ``left``. asyncio does
not forbid that (a task only refuses to await itself), and the await graph now has a cycle:
pstree refuses to draw it and prints ``cycle: left → right → left`` instead
(``display_awaited_by_tasks_tree`` in Lib/asyncio/tools.py at v3.15.0rc1).

Kill it with SIGTERM or Ctrl-C when you are done.
"""

from __future__ import annotations

import asyncio
import os
import sys


async def reader(data_ready: asyncio.Event, ack: asyncio.Event) -> None:
    await data_ready.wait()  # set by writer... after ack, which only we set: never
    ack.set()


async def writer(data_ready: asyncio.Event, ack: asyncio.Event) -> None:
    await ack.wait()
    data_ready.set()


async def await_task(other: dict[str, asyncio.Task[None]], name: str) -> None:
    await asyncio.sleep(0)  # let both tasks exist before either looks the other up
    await other[name]


def announce_when_blocked(loop: asyncio.AbstractEventLoop, passes: int = 3) -> None:
    # A plain callback, not a task, so that it shows in no ps listing. Three passes of the
    # loop: the children have run to their blocking await (two passes in --cycle mode) and
    # the service task sits in TaskGroup.__aexit__, so what ps reads afterwards never changes.
    if passes:
        loop.call_soon(announce_when_blocked, loop, passes - 1)
    else:
        print(f"ready {os.getpid()}", flush=True)


async def service(cycle: bool) -> None:
    # The main task gets a name, so that ps shows who awaits the children.
    asyncio.current_task().set_name("service")  # type: ignore[union-attr]
    async with asyncio.TaskGroup() as group:
        if cycle:
            tasks: dict[str, asyncio.Task[None]] = {}
            tasks["left"] = group.create_task(await_task(tasks, "right"), name="left")
            tasks["right"] = group.create_task(await_task(tasks, "left"), name="right")
        else:
            data_ready, ack = asyncio.Event(), asyncio.Event()
            group.create_task(reader(data_ready, ack), name="reader")
            group.create_task(writer(data_ready, ack), name="writer")
        asyncio.get_running_loop().call_soon(announce_when_blocked, asyncio.get_running_loop())


def main(argv: list[str]) -> None:
    asyncio.run(service("--cycle" in argv))


if __name__ == "__main__":
    main(sys.argv[1:])
