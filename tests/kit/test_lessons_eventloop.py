"""Kit tests of lessons.eventloop: exact select timeouts on a fake clock and a scripted
selector, FIFO for equal timers, the ntodo rule, lazy cancellation and the purge rule, the
self-pipe with a real selector, the exception handler, stop semantics."""

import selectors
import socket
import threading

import pytest

from lessons.eventloop import (MAXIMUM_SELECT_TIMEOUT, FakeClock, Loop, PassRecord,
                               ScriptedSelector)


def fake_loop(start=0.0):
    clock = FakeClock(start)
    sel = ScriptedSelector(clock)
    records: list[PassRecord] = []
    loop = Loop(clock=clock, selector=sel, observer=records.append)
    return loop, clock, sel, records


def test_timeouts_follow_the_rule():
    loop, clock, sel, _ = fake_loop(10.0)
    order = []
    loop.call_later(2.5, order.append, "t1")
    loop.call_later(1e9, order.append, "far")
    loop.run_once()                                  # timer at 12.5: wait 2.5
    loop.call_soon(order.append, "soon")
    loop.run_once()                                  # something ready: poll
    loop.call_at(0.0, order.append, "past")
    loop.run_once()                                  # a timer in the past: 0, not negative
    loop.run_once()                                  # only the far timer: clamped
    assert sel.timeouts == [2.5, 0, 0, MAXIMUM_SELECT_TIMEOUT]
    assert order == ["t1", "soon", "past"]
    far = loop.scheduled()[0]
    far.cancel()
    with pytest.raises(RuntimeError, match="forever"):
        loop.run_once()                              # idle: None (the scripted selector refuses)
    assert sel.timeouts[-1] is None
    loop.close()


def test_equal_timers_run_fifo_and_ntodo():
    loop, clock, sel, records = fake_loop()
    out = []
    for i in range(40):
        loop.call_at(1.0, out.append, i)
    loop.run_once()
    assert out == list(range(40))
    def spawner():
        out.append("spawner")
        loop.call_soon(out.append, "child")
    loop.call_soon(spawner)
    loop.run_once()
    assert out[-1] == "spawner" and records[-1].ready_after == 1
    loop.run_once()
    assert out[-1] == "child"
    loop.close()


def test_lazy_cancellation_and_purge():
    loop, clock, sel, records = fake_loop()
    handles = [loop.call_at(100.0 + i, lambda: None) for i in range(150)]
    for h in handles[1:90]:          # 89 of 150 cancelled, the top one alive
        h.cancel()
    assert loop.timer_cancelled_count == 89
    loop.call_soon(lambda: None)
    loop.run_once()
    assert loop.purges == 1 and records[-1].purged == 89 and records[-1].heap_before == 61
    assert loop.timer_cancelled_count == 0
    # below the size threshold only the heap's top is cleaned
    loop2, _, sel2, rec2 = fake_loop()
    hs = [loop2.call_at(5.0 + i, lambda: None) for i in range(10)]
    hs[0].cancel(); hs[1].cancel(); hs[5].cancel()
    loop2.run_once()
    assert loop2.purges == 0 and rec2[0].popped_cancelled == 2 and sel2.timeouts == [7.0]
    loop.close(); loop2.close()


def test_exception_goes_to_handler_and_loop_survives():
    loop, clock, sel, records = fake_loop()
    seen = []
    loop.set_exception_handler(lambda lp, ctx: seen.append(type(ctx["exception"]).__name__))
    out = []
    loop.call_soon(lambda: 1 / 0)
    loop.call_soon(out.append, "after")
    loop.run_once()
    assert seen == ["ZeroDivisionError"] and out == ["after"] and len(records[-1].raised) == 1
    loop.close()


def test_stop_finishes_the_pass():
    loop, clock, sel, _ = fake_loop()
    out = []
    loop.call_soon(loop.stop)
    loop.call_soon(out.append, 1)
    loop.call_later(5, out.append, 2)
    loop.run_forever()
    assert out == [1] and not loop.is_running()
    loop.call_later(0, loop.stop)      # the stop flag was reset: this run needs its own stop
    loop.run_forever()
    assert out == [1] and sel.timeouts == [0, 0] and clock() == 0
    loop.close()


def test_threadsafe_wakes_a_real_select():
    loop = Loop()
    out = []
    def from_thread():
        loop.call_soon_threadsafe(out.append, "woken")
        loop.call_soon_threadsafe(loop.stop)
    loop.call_soon(threading.Thread(target=from_thread).start)
    loop.run_forever()                 # blocks in select(None) until the self-pipe byte arrives
    assert out == ["woken"]
    loop.close()
    assert loop.is_closed()
    with pytest.raises(RuntimeError):
        loop.call_soon(print)


def test_readers_and_writers_on_a_socketpair():
    loop = Loop()
    a, b = socket.socketpair()
    got = []
    def on_read():
        got.append(a.recv(100))
        loop.remove_reader(a)
        loop.stop()
    loop.add_reader(a, on_read)
    loop.add_writer(b, lambda: (b.send(b"hi"), loop.remove_writer(b)))
    loop.run_forever()
    assert got == [b"hi"] and loop.remove_reader(a) is False
    a.close(); b.close(); loop.close()


# ---------------------------------------------------------------------- running real asyncio

import asyncio
import contextvars
import sys
import threading as _threading


def test_is_an_abstract_event_loop_and_unimplemented_parts_say_so():
    loop = Loop()
    assert isinstance(loop, asyncio.AbstractEventLoop)
    with pytest.raises(NotImplementedError):
        loop.add_signal_handler(2, print)       # inherited: the toy has no signal handling
    loop.close()


def test_asyncio_sleep_in_virtual_time():
    # A FakeClock and a ScriptedSelector make asyncio.sleep exact: select "waits" 5 s at once.
    loop, clock, sel, _ = fake_loop()

    async def main():
        await asyncio.sleep(5)
        return asyncio.get_running_loop().time()

    assert loop.run_until_complete(main()) == 5.0
    assert 5.0 in sel.timeouts and clock() == 5.0
    loop.close()


def test_run_until_complete_registers_and_restores_the_running_loop():
    loop = Loop()
    hooks = sys.get_asyncgen_hooks()

    async def main():
        return asyncio.get_running_loop(), sys.get_asyncgen_hooks().firstiter

    running, firstiter = loop.run_until_complete(main())
    assert running is loop and firstiter == loop._asyncgen_firstiter_hook
    assert asyncio._get_running_loop() is None and sys.get_asyncgen_hooks() == hooks

    async def fails():
        raise KeyError("x")

    with pytest.raises(KeyError):
        loop.run_until_complete(fails())
    fut = loop.create_future()
    loop.call_soon(loop.stop)
    with pytest.raises(RuntimeError, match="before Future completed"):
        loop.run_until_complete(fut)
    loop.close()


def test_runs_inside_another_running_loop_and_restores_it():
    # A notebook kernel runs an asyncio loop around every cell: the toy stacks on top of it.
    async def outer():
        mine = asyncio.get_running_loop()
        inner = Loop()
        seen = inner.run_until_complete(asyncio.sleep(0, "inner ran"))
        inner.close()
        return seen, asyncio.get_running_loop() is mine

    assert asyncio.run(outer()) == ("inner ran", True)


def test_create_task_name_context_and_factory():
    loop = Loop()
    var = contextvars.ContextVar("var", default="default")
    ctx = contextvars.copy_context()
    ctx.run(var.set, "in ctx")

    async def read():
        return var.get()

    task = loop.create_task(read(), name="reader", context=ctx)
    assert task.get_name() == "reader" and isinstance(task, asyncio.Task)
    assert loop.run_until_complete(task) == "in ctx"

    calls = []

    def factory(lp, coro, **kwargs):
        calls.append(sorted(kwargs))
        return asyncio.tasks._PyTask(coro, loop=lp, **kwargs)

    loop.set_task_factory(factory)
    assert loop.get_task_factory() is factory
    assert loop.run_until_complete(loop.create_task(read(), name="n")) == "default"
    assert calls[0] == ["name"]
    loop.set_task_factory(None)
    with pytest.raises(TypeError):
        loop.set_task_factory(42)
    assert not loop.get_debug()
    loop.set_debug(True)
    assert loop.get_debug()
    loop.close()


def test_executor_and_its_shutdown():
    loop = Loop()
    tid = loop.run_until_complete(loop.run_in_executor(None, _threading.get_ident))
    assert tid != _threading.get_ident()
    executor = loop._default_executor
    loop.run_until_complete(loop.shutdown_default_executor())
    assert executor._shutdown
    with pytest.raises(RuntimeError, match="shutdown"):
        loop.run_in_executor(None, print)
    with pytest.raises(TypeError):
        loop.set_default_executor(object())
    loop.close()


def test_shutdown_asyncgens_reports_an_error_to_the_handler():
    loop = Loop()
    seen = []
    loop.set_exception_handler(lambda lp, ctx: seen.append(type(ctx["exception"]).__name__))

    async def bad():
        try:
            yield 1
        finally:
            raise OSError("in finally")

    agen = bad()

    async def first():          # the first __anext__ inside the loop: its hook records agen
        return await agen.__anext__()

    assert loop.run_until_complete(first()) == 1
    loop.run_until_complete(loop.shutdown_asyncgens())
    assert seen == ["OSError"]
    loop.close()


def test_sock_methods_follow_asyncios_shape():
    loop = Loop()
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    b.send(b"ready")

    async def main():
        first = await loop.sock_recv(a, 100)          # data already there: no reader needed
        no_reader_needed = not loop.remove_reader(a.fileno())
        waiting = asyncio.ensure_future(loop.sock_recv(a, 100))
        await asyncio.sleep(0)
        registered = a.fileno() in loop._selector.get_map()
        b.send(b"later")
        second = await waiting
        removed = a.fileno() not in loop._selector.get_map()
        return first, no_reader_needed, registered, second, removed

    assert loop.run_until_complete(main()) == (b"ready", True, True, b"later", True)

    blocking = socket.socket()
    with pytest.raises(ValueError, match="non-blocking"):
        loop.run_until_complete(loop.sock_recv(blocking, 1))
    blocking.setblocking(False)
    with pytest.raises(ValueError, match="numeric address"):
        loop.run_until_complete(loop.sock_connect(blocking, ("localhost", 80)))
    blocking.close()
    a.close(); b.close(); loop.close()


def test_close_shuts_the_default_executor_down():
    loop = Loop()
    loop.run_until_complete(loop.run_in_executor(None, int))
    executor = loop._default_executor
    loop.close()
    assert executor._shutdown
