"""Alternative correct and plausible wrong solutions of lesson 09's tasks (09.1-09.3).

tests/kit/test_variants_09_multicore.py grades each against tests/test_09_multicore.py:
every alternative must pass every test of its task, and every wrong one must fail, with the
tests named here (those of the rule it breaks) among the failures. Each wrong solution is an
alternative (or the reference's shape) with one rule broken.

Each entry: (name, task file, source text, None for "correct" or the set of tests that must fail).
"""


def _changed(base, changes):
    for old, new in changes:
        assert base.count(old) == 1, old
        base = base.replace(old, new)
    return base


# ---------------------------------------------------------------- 09.1 cpu_map

MAP_REF = '''
import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor


async def cpu_map(fn, items, workers=2):
    loop = asyncio.get_running_loop()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(await asyncio.gather(*[loop.run_in_executor(pool, fn, item) for item in items]))
'''

# forkserver, pool.submit + wrap_future, an explicit shutdown in a finally. Not
# shutdown(cancel_futures=True): after a job failed to pickle it can deadlock (1 try in 20 hung
# with two busy cores; it made this variant fail test_a_lambda_fails_with_pickling_error once in
# the lead's run): ExecutorManagerThread.flag_executor_shutting_down rebinds pending_work_items
# to a new dict, while the feeder thread's _SafeQueue._on_queue_feeder_error pops the failed
# job from the old one, so the manager waits forever for a result that never comes
# (Lib/concurrent/futures/process.py at v3.11.7, unchanged at v3.15.0rc1; CPython gh-116685).
# Rule 7 of the statement warns about it.
MAP_FORKSERVER = '''
import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor


async def cpu_map(fn, items, workers=2):
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver"))
    try:
        futures = [asyncio.wrap_future(pool.submit(fn, x)) for x in items]
        results = []
        for f in futures:
            results.append(await f)
        return results
    finally:
        pool.shutdown(wait=True)
'''

# The blocking pool.map, moved off the loop onto a thread with asyncio.to_thread.
MAP_TO_THREAD = '''
import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor


def _blocking(fn, items, workers):
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(fn, items))


async def cpu_map(fn, items, workers=2):
    return await asyncio.to_thread(_blocking, fn, list(items), workers)
'''

_GATHER = "        return list(await asyncio.gather(*[loop.run_in_executor(pool, fn, item) for item in items]))\n"

MAP_WRONG = {
    "completion_order": (_changed(MAP_REF, [(_GATHER,
        "        done = []\n"
        "        for f in asyncio.as_completed([loop.run_in_executor(pool, fn, item) for item in items]):\n"
        "            done.append(await f)\n"
        "        return done\n")]),
        {"test_results_keep_the_input_order"}),
    "thread_pool": (_changed(MAP_REF, [("from concurrent.futures import ProcessPoolExecutor",
                                        "from concurrent.futures import ThreadPoolExecutor"),
                                       ("ProcessPoolExecutor(max_workers=workers, mp_context=context)",
                                        "ThreadPoolExecutor(max_workers=workers)")]),
                    {"test_calls_run_in_at_most_workers_processes", "test_workers_start_by_spawn_or_forkserver",
                     "test_a_lambda_fails_with_pickling_error"}),
    "one_more_worker": (_changed(MAP_REF, [("max_workers=workers,", "max_workers=workers + 1,")]),
                        {"test_calls_run_in_at_most_workers_processes"}),
    "one_at_a_time": (_changed(MAP_REF, [(_GATHER,
        "        return [await loop.run_in_executor(pool, fn, item) for item in items]\n")]),
        {"test_workers_run_at_once"}),
    "fork_context": (_changed(MAP_REF, [('get_context("spawn")', 'get_context("fork")')]),
                     {"test_workers_start_by_spawn_or_forkserver"}),
    "blocks_the_loop": (_changed(MAP_REF, [(_GATHER, "        return list(pool.map(fn, items))\n")]),
                        {"test_the_loop_stays_live_while_the_pool_works"}),
    "returns_the_exception": (_changed(MAP_REF, [("for item in items]))", "for item in items], return_exceptions=True))")]),
                              {"test_an_exception_in_fn_propagates_with_its_type"}),
    # "Computes in the parent": no pool at all, fn called inline in the loop's own process.
    "computes_in_the_caller": ("""
async def cpu_map(fn, items, workers=2):
    return [fn(x) for x in items]
""", {"test_calls_run_in_at_most_workers_processes"}),
    # Checks picklability itself, but reports it with another error than the statement's.
    "pickling_error_as_type_error": (_changed(MAP_REF, [
        ("import asyncio\n", "import asyncio\nimport pickle\n"),
        ("    loop = asyncio.get_running_loop()\n",
         "    try:\n        pickle.dumps(fn)\n    except Exception as exc:\n"
         "        raise TypeError(f\"fn cannot be sent to a worker: {exc}\") from None\n"
         "    loop = asyncio.get_running_loop()\n")]),
        {"test_a_lambda_fails_with_pickling_error"}),
    "never_shut_down": (_changed(MAP_REF, [(
        "    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:\n" + _GATHER,
        "    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)\n"
        "    return list(await asyncio.gather(*[loop.run_in_executor(pool, fn, item) for item in items]))\n")]),
        {"test_the_pool_is_shut_down"}),
}


# ---------------------------------------------------------------- 09.2 await_cf

BRIDGE_REF = '''
import asyncio


async def await_cf(cf):
    loop = asyncio.get_running_loop()
    if cf.done():
        return cf.result()
    waiter = loop.create_future()

    def settle(_):
        if not waiter.done():
            waiter.set_result(None)

    def on_done(_):
        try:
            loop.call_soon_threadsafe(settle, None)
        except RuntimeError:
            pass

    cf.add_done_callback(on_done)
    try:
        await waiter
    except asyncio.CancelledError:
        cf.cancel()
        raise
    return cf.result()
'''

# Beazley's pattern: the callback writes a byte to a socketpair that the loop watches.
BRIDGE_SOCKETPAIR = '''
import asyncio
import socket


async def await_cf(cf):
    loop = asyncio.get_running_loop()
    r, w = socket.socketpair()
    r.setblocking(False)
    waiter = loop.create_future()

    def readable():
        r.recv(1)
        if not waiter.done():
            waiter.set_result(None)

    loop.add_reader(r.fileno(), readable)
    cf.add_done_callback(lambda _: w.send(b"!"))
    try:
        await waiter
    except asyncio.CancelledError:
        cf.cancel()
        raise
    finally:
        loop.remove_reader(r.fileno())
        r.close()
        w.close()
    return cf.result()
'''

# An asyncio.Event set through call_soon_threadsafe; the done case goes through it too.
BRIDGE_EVENT = '''
import asyncio


async def await_cf(cf):
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    cf.add_done_callback(lambda _: loop.call_soon_threadsafe(done.set))
    try:
        await done.wait()
    except asyncio.CancelledError:
        cf.cancel()
        raise
    return cf.result()
'''

BRIDGE_WRONG = {
    "sets_from_the_thread": (_changed(BRIDGE_REF, [(
        "        try:\n            loop.call_soon_threadsafe(settle, None)\n        except RuntimeError:\n            pass\n",
        "        settle(None)\n")]),
        {"test_the_completing_thread_never_touches_the_loop"}),
    "polls_every_millisecond": ('''
import asyncio


async def await_cf(cf):
    try:
        while not cf.done():
            await asyncio.sleep(0.001)
    except asyncio.CancelledError:
        cf.cancel()
        raise
    return cf.result()
''', {"test_the_loop_sleeps_while_waiting"}),
    "polls_with_sleep_0": ('''
import asyncio


async def await_cf(cf):
    try:
        while not cf.done():
            await asyncio.sleep(0)
    except asyncio.CancelledError:
        cf.cancel()
        raise
    return cf.result()
''', {"test_the_loop_sleeps_while_waiting"}),
    "leaves_cf_pending": (_changed(BRIDGE_REF, [("        cf.cancel()\n", "")]),
                          {"test_cancelling_the_waiter_cancels_a_pending_cf"}),
    "swallows_the_cancel": (_changed(BRIDGE_REF, [("        cf.cancel()\n        raise\n",
                                                   "        cf.cancel()\n        return None\n")]),
                            {"test_cancelling_the_waiter_cancels_a_pending_cf"}),
    "wraps_the_exception": (_changed(BRIDGE_REF, [("        raise\n    return cf.result()\n",
                                                   "        raise\n    if cf.exception() is not None:\n"
                                                   "        raise RuntimeError(f\"the job failed: {cf.exception()}\")\n"
                                                   "    return cf.result()\n")]),
                            {"test_an_exception_propagates_itself"}),
    # Registers the callback before the future it resolves exists: fine when cf completes
    # later, a KeyError in the callback (logged, swallowed) when cf is already done.
    "registers_before_the_waiter": ('''
import asyncio


async def await_cf(cf):
    loop = asyncio.get_running_loop()
    state = {}
    cf.add_done_callback(lambda _: loop.call_soon_threadsafe(state["waiter"].set_result, None))
    state["waiter"] = loop.create_future()
    try:
        await state["waiter"]
    except asyncio.CancelledError:
        cf.cancel()
        raise
    return cf.result()
''', {"test_a_done_cf_returns_at_once"}),
    # Blocks the loop's thread until cf is done: nothing else of the loop runs meanwhile.
    "blocks_on_result": ('''
async def await_cf(cf):
    return cf.result()
''', {"test_the_loop_sleeps_while_waiting", "test_cancelling_the_waiter_cancels_a_pending_cf"}),
    "uses_wrap_future": ('''
import asyncio


async def await_cf(cf):
    return await asyncio.wrap_future(cf)
''', {"test_the_result_arrives"}),
}


# ---------------------------------------------------------------- 09.3 prefork_echo

ECHO_REF = '''
import asyncio
import os
import signal
import socket


def prefork_echo(n_workers, port=0):
    if type(n_workers) is not int or n_workers < 1:
        raise ValueError(f"n_workers must be an int >= 1, got {n_workers!r}")
    listener = socket.create_server(("127.0.0.1", port), backlog=128)
    listener.setblocking(False)

    async def echo(reader, writer):
        prefix = f"{os.getpid()}:".encode()
        try:
            while line := await reader.readline():
                writer.write(prefix + line)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def serve():
        server = await asyncio.start_server(echo, sock=listener)
        async with server:
            await server.serve_forever()

    def child():
        code = 0
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            asyncio.run(serve())
        except BaseException:
            code = 1
        finally:
            os._exit(code)

    pids = []
    for _ in range(n_workers):
        pid = os.fork()
        if pid == 0:
            child()
        pids.append(pid)

    def stop():
        listener.close()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for pid in pids:
            os.waitpid(pid, 0)

    return listener.getsockname()[1], pids, stop
'''

# SO_REUSEPORT: each child its own listening socket on the port, a readiness pipe to the parent.
ECHO_REUSEPORT = '''
import asyncio
import os
import signal
import socket


def _bound(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", port))
    return s


async def _echo(reader, writer):
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            writer.write(b"%d:%s" % (os.getpid(), line))
            await writer.drain()
    finally:
        writer.close()


async def _serve(port, ready_w):
    s = _bound(port)
    s.listen(64)
    server = await asyncio.start_server(_echo, sock=s)
    os.write(ready_w, b"r")
    await server.serve_forever()


def prefork_echo(n_workers, port=0):
    if not isinstance(n_workers, int) or isinstance(n_workers, bool) or n_workers <= 0:
        raise ValueError("n_workers must be a positive int")
    reserve = _bound(port)                  # picks the port; bound, not listening
    port = reserve.getsockname()[1]
    ready_r, ready_w = os.pipe()
    pids = []
    for _ in range(n_workers):
        pid = os.fork()
        if pid == 0:
            try:
                os.close(ready_r)
                reserve.close()
                asyncio.run(_serve(port, ready_w))
            finally:
                os._exit(1)
        pids.append(pid)
    os.close(ready_w)
    got = b""
    while len(got) < n_workers:
        chunk = os.read(ready_r, n_workers)
        if not chunk:
            raise RuntimeError("a worker died before listening")
        got += chunk
    os.close(ready_r)

    def stop():
        reserve.close()
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)

    return port, pids, stop
'''

# multiprocessing's fork context: Process objects inherit the listening socket.
ECHO_MULTIPROCESSING = '''
import asyncio
import multiprocessing
import os
import socket


async def _echo(reader, writer):
    async for line in reader:
        writer.write(f"{os.getpid()}:".encode() + line)
        await writer.drain()
    writer.close()


def _worker(sock):
    async def main():
        server = await asyncio.start_server(_echo, sock=sock)
        await server.serve_forever()
    asyncio.run(main())


def prefork_echo(n_workers, port=0):
    if not (type(n_workers) is int and n_workers >= 1):
        raise ValueError(n_workers)
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen(100)
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_worker, args=(sock,), daemon=True) for _ in range(n_workers)]
    for p in procs:
        p.start()

    def stop():
        sock.close()
        for p in procs:
            p.terminate()
        for p in procs:
            p.join()

    return sock.getsockname()[1], [p.pid for p in procs], stop
'''

ECHO_WRONG = {
    # The prefix is computed once, in the parent, before the fork: every reply says the parent's pid.
    "parent_pid_in_replies": (_changed(ECHO_REF, [
        ("        prefix = f\"{os.getpid()}:\".encode()\n", ""),
        ("    listener.setblocking(False)\n", "    listener.setblocking(False)\n    prefix = f\"{os.getpid()}:\".encode()\n")]),
        {"test_every_reply_comes_from_a_child"}),
    # The parent serves (threads on the listening socket) and forges the first child's pid;
    # the children only wait for SIGTERM.
    "parent_serves_with_a_forged_pid": ("""
import os
import signal
import socket
import threading


def prefork_echo(n_workers, port=0):
    if type(n_workers) is not int or n_workers < 1:
        raise ValueError(f"n_workers must be an int >= 1, got {n_workers!r}")
    listener = socket.create_server(("127.0.0.1", port), backlog=128)
    pids = []
    for _ in range(n_workers):
        pid = os.fork()
        if pid == 0:
            try:
                listener.close()
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                while True:
                    signal.pause()
            finally:
                os._exit(0)
        pids.append(pid)
    prefix = b"%d:" % pids[0]

    def serve_one(conn):
        with conn, conn.makefile("rb") as lines:
            for line in lines:
                conn.sendall(prefix + line)

    def accept_all():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    threading.Thread(target=accept_all, daemon=True).start()

    def stop():
        listener.shutdown(socket.SHUT_RDWR)      # wakes the accept() above
        listener.close()
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
        for pid in pids:
            os.waitpid(pid, 0)

    return listener.getsockname()[1], pids, stop
""", {"test_every_reply_comes_from_a_child"}),
    # Answers a connection's first line only, then closes it.
    "answers_one_line_per_connection": (_changed(ECHO_REF, [("            while line := await reader.readline():\n",
                                                             "            if line := await reader.readline():\n")]),
                                        {"test_every_line_is_echoed_with_a_pid"}),
    "one_child_only": (_changed(ECHO_REF, [("    for _ in range(n_workers):\n", "    for _ in range(1):\n")]),
                       {"test_n_workers_children_exist_while_serving"}),
    "kills_without_waiting": (_changed(ECHO_REF, [("        for pid in pids:\n            os.waitpid(pid, 0)\n", "")]),
                              {"test_stop_leaves_no_child"}),
    # stop() forgets the parent's copy of the listening socket, which the service keeps.
    "keeps_the_port_open": (_changed(ECHO_REF, [("        listener.close()\n", ""),
                                                ("    listener.setblocking(False)\n",
                                                 "    listener.setblocking(False)\n    SERVICES.append(listener)\n"),
                                                ("\n\ndef prefork_echo(", "\nSERVICES = []\n\n\ndef prefork_echo(")]),
                            {"test_stop_closes_the_port"}),
    # Binds before the fork but leaves listen() to the children (start_server(sock=...) calls
    # it): until the first child gets that far, a connection is refused. (The SO_REUSEPORT
    # alternative without its readiness pipe would break this rule too, but not the same way
    # every run: while listeners join a reuseport group, Linux may steer a handshake's last ACK
    # to another listener than its SYN's, and the connection is reset.)
    "returns_before_the_children_listen": (_changed(ECHO_REF, [(
        "    listener = socket.create_server((\"127.0.0.1\", port), backlog=128)\n",
        "    listener = socket.socket()\n    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "    listener.bind((\"127.0.0.1\", port))\n")]),
        {"test_it_accepts_as_soon_as_it_returns"}),
    "checks_only_the_sign": (_changed(ECHO_REF, [("    if type(n_workers) is not int or n_workers < 1:\n",
                                                  "    if n_workers < 1:\n")]),
                             {"test_bad_n_workers_raise_value_error"}),
}

# Those that wait out a safety net start first: one_at_a_time (10 s for a second job to start,
# twice), blocks_the_loop (5 s for the loop to run a callback), blocks_on_result (10 s for the
# loop to reach select(), five times).
SLOW = {("one_at_a_time", "cpu_map.py"), ("blocks_the_loop", "cpu_map.py"), ("blocks_on_result", "future_bridge.py")}

VARIANTS = (
    [("alt_forkserver", "cpu_map.py", MAP_FORKSERVER, None), ("alt_to_thread", "cpu_map.py", MAP_TO_THREAD, None)]
    + [(n, "cpu_map.py", src, must) for n, (src, must) in MAP_WRONG.items()]
    + [("alt_socketpair", "future_bridge.py", BRIDGE_SOCKETPAIR, None), ("alt_event", "future_bridge.py", BRIDGE_EVENT, None)]
    + [(n, "future_bridge.py", src, must) for n, (src, must) in BRIDGE_WRONG.items()]
    + [("alt_reuseport", "prefork_echo.py", ECHO_REUSEPORT, None),
       ("alt_multiprocessing", "prefork_echo.py", ECHO_MULTIPROCESSING, None)]
    + [(n, "prefork_echo.py", src, must) for n, (src, must) in ECHO_WRONG.items()]
)
