"""Alternative correct and plausible wrong solutions of lesson 04's tasks (04.1-04.3).

tests/kit/test_variants_04_event_loop.py grades each against tests/test_04_event_loop.py:
every alternative must pass every test of its task, and every wrong one must fail, with the
tests named here (those of the rule it breaks) among the failures. Each wrong solution is the
alternative with one rule broken, so what it loses is that rule's doing.

Each entry: (name, task file, source text, None for "correct" or the set of tests that must fail).
"""


from variant_grading import changed as _changed


# ---------------------------------------------------------------- 04.1 MiniLoop

MINI_ALT = '''
import heapq
import itertools


class Handle:
    __slots__ = ("fn", "args", "dead")

    def __init__(self, fn, args):
        self.fn, self.args, self.dead = fn, args, False

    def cancel(self):
        self.dead = True


class MiniLoop:
    """Timers are (when, n, handle) tuples: the counter n breaks ties, so handles are never compared."""

    def __init__(self, clock, selector):
        self.clock, self.sel = clock, selector
        self.todo = []
        self.heap = []
        self.n = itertools.count()
        self.readers = {}
        self.stopping = False

    def time(self):
        return self.clock()

    def call_soon(self, callback, *args):
        h = Handle(callback, args)
        self.todo.append(h)
        return h

    def call_at(self, when, callback, *args):
        h = Handle(callback, args)
        heapq.heappush(self.heap, (when, next(self.n), h))
        return h

    def call_later(self, delay, callback, *args):
        return self.call_at(self.clock() + delay, callback, *args)

    def add_reader(self, fd, callback, *args):
        if fd in self.readers:
            self.remove_reader(fd)
        h = Handle(callback, args)
        self.readers[fd] = h
        self.sel.register(fd, 1, h)

    def remove_reader(self, fd):
        if fd not in self.readers:
            return False
        self.readers.pop(fd).cancel()
        self.sel.unregister(fd)
        return True

    def pending_timers(self):
        return len(self.heap)

    def run_once(self):
        dead = [t for t in self.heap if t[2].dead]
        if len(self.heap) > 100 and 2 * len(dead) > len(self.heap):
            self.heap = [t for t in self.heap if not t[2].dead]
            heapq.heapify(self.heap)
        while self.heap and self.heap[0][2].dead:
            heapq.heappop(self.heap)
        if self.todo or self.stopping:
            timeout = 0
        elif self.heap:
            timeout = self.heap[0][0] - self.clock()
            timeout = 0 if timeout < 0 else 86400 if timeout > 86400 else timeout
        else:
            timeout = None
        events = self.sel.select(timeout)
        self.todo.extend(key.data for key, _ in events if not key.data.dead)
        now = self.clock()
        while self.heap and self.heap[0][0] <= now:
            self.todo.append(heapq.heappop(self.heap)[2])
        batch, self.todo = self.todo, []
        for h in batch:
            if not h.dead:
                h.fn(*h.args)

    def run_forever(self):
        while True:
            self.run_once()
            if self.stopping:
                self.stopping = False
                return

    def stop(self):
        self.stopping = True
'''

MINI_WRONG = {
    "ties_by_id": (_changed(MINI_ALT, [("heapq.heappush(self.heap, (when, next(self.n), h))",
                                        "heapq.heappush(self.heap, (when, -next(self.n), h))")]),
                   {"test_equal_timers_run_in_the_order_scheduled"}),
    "runs_callbacks_added_in_the_pass": (_changed(MINI_ALT, [(
        "        batch, self.todo = self.todo, []\n        for h in batch:\n            if not h.dead:\n",
        "        while self.todo:\n            h = self.todo.pop(0)\n            if not h.dead:\n")]),
        {"test_callbacks_added_during_a_pass_wait_for_the_next"}),
    "no_upper_clamp": (_changed(MINI_ALT, [("timeout = 0 if timeout < 0 else 86400 if timeout > 86400 else timeout",
                                            "timeout = 0 if timeout < 0 else timeout")]),
                       {"test_select_timeouts_follow_the_rule"}),
    "negative_timeout": (_changed(MINI_ALT, [("timeout = 0 if timeout < 0 else 86400 if timeout > 86400 else timeout",
                                              "timeout = 86400 if timeout > 86400 else timeout")]),
                         {"test_select_timeouts_follow_the_rule"}),
    "always_purges": (_changed(MINI_ALT, [("if len(self.heap) > 100 and 2 * len(dead) > len(self.heap):", "if dead:")]),
                      {"test_purge_rule"}),
    "purge_at_half": (_changed(MINI_ALT, [("2 * len(dead) > len(self.heap)", "2 * len(dead) >= len(self.heap) - 2")]),
                      {"test_purge_rule"}),
    "cancelled_top_sets_timeout": (_changed(MINI_ALT, [("        while self.heap and self.heap[0][2].dead:\n            heapq.heappop(self.heap)\n", "")]),
                                   {"test_cancelled_timers_never_run_and_do_not_set_the_timeout", "test_purge_rule"}),
    "remove_reader_keeps_registration": (_changed(MINI_ALT, [("        self.readers.pop(fd).cancel()\n        self.sel.unregister(fd)\n",
                                                             "        del self.readers[fd]\n")]),
                                         {"test_remove_reader_stops_its_callback"}),
    "remove_reader_does_not_cancel": (_changed(MINI_ALT, [("        self.readers.pop(fd).cancel()\n", "        self.readers.pop(fd)\n")]),
                                      {"test_remove_reader_stops_its_callback"}),
    "stop_does_not_poll": (_changed(MINI_ALT, [("if self.todo or self.stopping:", "if self.todo:")]),
                           {"test_stop_semantics"}),
    "stop_sticks": (_changed(MINI_ALT, [("                self.stopping = False\n", "")]),
                    {"test_stop_semantics"}),
}


# ---------------------------------------------------------------- 04.2 WakeupLoop

WAKEUP_ALT = '''
import os
import selectors
import threading


class WakeupLoop:
    """An os.pipe() as the self-pipe, and a list guarded by a lock as the ready queue."""

    def __init__(self, selector=None):
        self.sel = selector or selectors.DefaultSelector()
        self.lock = threading.Lock()
        self.queue = []
        self.stopping = False
        self.closed = False
        self.r, self.w = os.pipe()
        os.set_blocking(self.r, False)
        os.set_blocking(self.w, False)
        self.add_reader(self.r, self._empty_pipe)

    def _push(self, callback, args):
        if self.closed:
            raise RuntimeError("closed")
        with self.lock:
            self.queue.append((callback, args))

    def call_soon(self, callback, *args):
        self._push(callback, args)

    def call_soon_threadsafe(self, callback, *args):
        self._push(callback, args)
        try:
            os.write(self.w, b"x")
        except BlockingIOError:
            pass

    def add_reader(self, fileobj, callback, *args):
        try:
            self.sel.unregister(fileobj)
        except KeyError:
            pass
        self.sel.register(fileobj, selectors.EVENT_READ, (callback, args))

    def remove_reader(self, fileobj):
        try:
            self.sel.unregister(fileobj)
            return True
        except KeyError:
            return False

    def _empty_pipe(self):
        try:
            while os.read(self.r, 65536):
                pass
        except BlockingIOError:
            pass

    def run_once(self):
        with self.lock:
            busy = bool(self.queue)
        events = self.sel.select(0 if busy or self.stopping else None)
        with self.lock:
            self.queue.extend(key.data for key, _ in events)
            batch, self.queue = self.queue, []
        for callback, args in batch:
            callback(*args)

    def run_forever(self):
        while not self.stopping:
            self.run_once()
        self.stopping = False

    def stop(self):
        self.stopping = True

    def close(self):
        if self.closed:
            return
        self.closed = True
        self.sel.unregister(self.r)
        os.close(self.r)
        os.close(self.w)
        self.sel.close()
'''

WAKEUP_WRONG = {
    "polls_when_idle": (_changed(WAKEUP_ALT, [("0 if busy or self.stopping else None", "0 if busy or self.stopping else 0.01")]),
                        {"test_idle_loop_blocks_in_select"}),
    "no_wakeup_byte": (_changed(WAKEUP_ALT, [("        try:\n            os.write(self.w, b\"x\")\n        except BlockingIOError:\n            pass\n", "")]),
                       {"test_call_soon_threadsafe_wakes_a_blocked_loop", "test_callback_is_queued_before_the_byte_is_written"}),
    "byte_before_queue": (_changed(WAKEUP_ALT, [(
        "        self._push(callback, args)\n        try:\n            os.write(self.w, b\"x\")\n        except BlockingIOError:\n            pass\n",
        "        try:\n            os.write(self.w, b\"x\")\n        except BlockingIOError:\n            pass\n        self._push(callback, args)\n")]),
        {"test_callback_is_queued_before_the_byte_is_written"}),
    "reads_one_byte": (_changed(WAKEUP_ALT, [("            while os.read(self.r, 65536):\n                pass\n",
                                              "            os.read(self.r, 1)\n")]),
                       {"test_self_pipe_is_drained"}),
    "full_pipe_raises": (_changed(WAKEUP_ALT, [("        try:\n            os.write(self.w, b\"x\")\n        except BlockingIOError:\n            pass\n",
                                                "        os.write(self.w, b\"x\")\n")]),
                         {"test_many_threads_and_a_full_pipe"}),
    "blocking_write_end": (_changed(WAKEUP_ALT, [("        os.set_blocking(self.w, False)\n", "")]),
                           {"test_many_threads_and_a_full_pipe"}),
    "selector_left_open": (_changed(WAKEUP_ALT, [("        os.close(self.w)\n        self.sel.close()\n", "        os.close(self.w)\n")]),
                           {"test_close_releases_everything"}),
    "write_end_left_open": (_changed(WAKEUP_ALT, [("        os.close(self.w)\n        self.sel.close()\n", "        self.sel.close()\n")]),
                            {"test_close_releases_everything"}),
    "usable_after_close": (_changed(WAKEUP_ALT, [("        if self.closed:\n            raise RuntimeError(\"closed\")\n", "")]),
                           {"test_close_releases_everything"}),
}


# ---------------------------------------------------------------- 04.3 fetch

FETCH_ALT = '''
import socket


def fetch(loop, address, path, on_done):
    """Closures instead of a class: the state is in the enclosing function's variables."""
    sock = socket.socket()
    sock.setblocking(False)
    request = memoryview(("GET %s HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n" % (path, address[0])).encode())
    got = bytearray()
    finished = False

    def end(error, data):
        nonlocal finished
        if finished:
            return
        finished = True
        loop.remove_writer(sock.fileno())
        loop.remove_reader(sock.fileno())
        sock.close()
        on_done(error, data)

    def guarded(step):
        def run():
            try:
                step()
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as exc:
                end(exc, None)
        return run

    @guarded
    def on_writable():
        nonlocal request
        if request.nbytes == len(request.obj):          # nothing sent yet: the connect finished
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                raise OSError(err, "connect failed")
        n = sock.send(request)
        request = request[n:]
        if not request:
            loop.remove_writer(sock.fileno())
            loop.add_reader(sock.fileno(), on_readable)

    @guarded
    def on_readable():
        data = sock.recv(8192)
        if data:
            got.extend(data)
        else:
            end(None, bytes(got))

    try:
        sock.connect(address)
    except BlockingIOError:
        pass
    except OSError as exc:
        loop.call_soon(end, exc, None)
        return
    loop.add_writer(sock.fileno(), on_writable)
'''

FETCH_WRONG = {
    "blocking_read": (_changed(FETCH_ALT, [("            loop.add_reader(sock.fileno(), on_readable)\n",
                                           "            loop.remove_writer(sock.fileno())\n            sock.setblocking(True)\n"
                                           "            while True:\n                data = sock.recv(8192)\n                if not data:\n"
                                           "                    break\n                got.extend(data)\n            end(None, bytes(got))\n")]),
                      {"test_pages_are_fetched_whole_and_concurrently"}),
    "one_send": (_changed(FETCH_ALT, [("        request = request[n:]\n        if not request:\n", "        request = request[:0]\n        if True:\n")]),
                 {"test_a_long_request_is_sent_whole"}),
    "one_recv": (_changed(FETCH_ALT, [("        if data:\n            got.extend(data)\n        else:\n            end(None, bytes(got))\n",
                                       "        end(None, data)\n")]),
                 {"test_pages_are_fetched_whole_and_concurrently"}),
    "so_error_ignored": (_changed(FETCH_ALT, [("            if err:\n                raise OSError(err, \"connect failed\")\n", "")]),
                         {"test_refused_connection_is_reported"}),
    "reset_is_the_end": (_changed(FETCH_ALT, [("            except OSError as exc:\n                end(exc, None)\n",
                                               "            except ConnectionResetError:\n                end(None, bytes(got))\n            except OSError as exc:\n                end(exc, None)\n")]),
                         {"test_broken_connection_is_reported"}),
    "no_return_after_error": (_changed(FETCH_ALT, [("        if finished:\n            return\n        finished = True\n", "        finished = True\n"),
                                                   ("                raise OSError(err, \"connect failed\")\n",
                                                    "                end(OSError(err, \"connect failed\"), None)\n")]),
                              {"test_on_done_exactly_once_and_never_during_fetch"}),
    "on_done_during_fetch": (_changed(FETCH_ALT, [("    except BlockingIOError:\n        pass\n    except OSError as exc:\n        loop.call_soon(end, exc, None)\n        return\n",
                                                   "    except BlockingIOError:\n        pass\n    except OSError as exc:\n        end(exc, None)\n        return\n"),
                                                  ("    try:\n        sock.connect(address)\n", "    try:\n        if path == \"/\":\n            raise ConnectionRefusedError(111, \"refused\")\n        sock.connect(address)\n")]),
                             {"test_on_done_exactly_once_and_never_during_fetch"}),
    "socket_left_open_on_error": (_changed(FETCH_ALT, [("        sock.close()\n        on_done(error, data)\n",
                                                        "        if error is None:\n            sock.close()\n        on_done(error, data)\n")]),
                                  {"test_sockets_closed_and_loop_left_clean"}),
    "writer_left_on_error": (_changed(FETCH_ALT, [("        loop.remove_writer(sock.fileno())\n        loop.remove_reader(sock.fileno())\n        sock.close()\n",
                                                   "        if error is None:\n            loop.remove_reader(sock.fileno())\n        sock.close()\n")]),
                             {"test_sockets_closed_and_loop_left_clean"}),
}

# These wait out the tests' 5 s safety nets (a callback that never runs, a page that never
# answers): the variant tests start them first, so that the others run meanwhile.
SLOW = {("no_wakeup_byte", "wakeup_loop.py"), ("blocking_read", "callback_fetcher.py")}

VARIANTS = (
    [("alt", "mini_loop.py", MINI_ALT, None)]
    + [(n, "mini_loop.py", src, must) for n, (src, must) in MINI_WRONG.items()]
    + [("alt", "wakeup_loop.py", WAKEUP_ALT, None)]
    + [(n, "wakeup_loop.py", src, must) for n, (src, must) in WAKEUP_WRONG.items()]
    + [("alt", "callback_fetcher.py", FETCH_ALT, None)]
    + [(n, "callback_fetcher.py", src, must) for n, (src, must) in FETCH_WRONG.items()]
)
