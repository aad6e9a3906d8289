"""Alternative correct and plausible wrong solutions of lesson 03's tasks (03.1-03.3).

tests/kit/test_variants_03_selectors.py grades each against tests/test_03_selectors.py: every
alternative must pass every test of its task, and every wrong one must fail, with the tests
named here (the rule it breaks) among the failures. Each wrong solution breaks one rule.

Each entry: (name, task file, source text, None for "correct" or the set of tests that must fail).
"""


def _change(base, changes):
    for old, new in changes:
        assert base.count(old) == 1, old
        base = base.replace(old, new)
    return base


# ---------------------------------------------------------------- 03.1

LINE_ALT = '''
class LineReader:
    """Keeps a list of the fragments since the last newline, and cuts each recv result with find."""

    def __init__(self, sock):
        self.sock = sock
        self.closed = False
        self._parts = []

    def feed_ready(self):
        out = []
        while not self.closed:
            try:
                data = self.sock.recv(4096)
            except BlockingIOError:
                break
            if data == b"":
                self.closed = True
                rest = b"".join(self._parts)
                self._parts = []
                if rest:
                    out.append(rest)
                break
            start = 0
            while (nl := data.find(b"\\n", start)) != -1:
                self._parts.append(data[start:nl + 1])
                out.append(b"".join(self._parts))
                self._parts = []
                start = nl + 1
            if start < len(data):
                self._parts.append(data[start:])
        return out
'''

LINE_WRONG = {
    "splitlines": ('''
class LineReader:
    def __init__(self, sock):
        self.sock, self.closed, self.buf = sock, False, b""

    def feed_ready(self):
        if self.closed:
            return []
        while True:
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                break
            if not data:
                self.closed = True
                break
            self.buf += data
        lines = self.buf.splitlines(keepends=True)
        if lines and not lines[-1].endswith(b"\\n") and not self.closed:
            self.buf = lines.pop()
        else:
            self.buf = b""
        return lines
''', {"test_only_newline_ends_a_line"}),
    "one_recv_per_call": (_change(LINE_ALT, [("        while not self.closed:\n",
                                               "        for _ in range(1 if not self.closed else 0):\n")]),
                          {"test_reads_everything_that_has_arrived"}),
    "eof_drops_fragment": (_change(LINE_ALT, [("                if rest:\n                    out.append(rest)\n", "")]),
                           {"test_eof_gives_the_last_fragment_and_sets_closed"}),
    "recv_after_eof": (_change(LINE_ALT, [("        while not self.closed:\n", "        while True:\n")]),
                       {"test_no_recv_after_eof"}),
    "blocking_socket": (_change(LINE_ALT, [("        self.sock = sock\n", "        self.sock = sock\n        sock.setblocking(True)\n")]),
                        {"test_nothing_to_read_returns_empty_at_once"}),
    "fragment_forgotten": (_change(LINE_ALT, [("            if start < len(data):\n                self._parts.append(data[start:])\n",
                                               "            if start < len(data) and start == 0:\n                self._parts.append(data[start:])\n")]),
                           {"test_fragments_join_into_whole_lines"}),
    "closed_never_set": (_change(LINE_ALT, [("                self.closed = True\n", "                self._eof = True\n"),
                                            ("        while not self.closed:\n", "        while not getattr(self, '_eof', False):\n")]),
                         {"test_eof_gives_the_last_fragment_and_sets_closed", "test_a_long_line_comes_back_whole"}),
}

# ---------------------------------------------------------------- 03.2

SEND_ALT = '''
import selectors

def send_all(sock, data, sel):
    """Copy to bytes, send from an offset, and wait only after BlockingIOError."""
    data = bytes(data)
    done = 0
    waiting = False
    try:
        while done < len(data):
            try:
                done += sock.send(data[done:done + 65536])
            except BlockingIOError:
                if not waiting:
                    sel.register(sock, selectors.EVENT_WRITE)
                    waiting = True
                sel.select(None)
    finally:
        if waiting:
            sel.unregister(sock)
    return len(data)
'''

SEND_WRONG = {
    "busy_loop": (_change(SEND_ALT, [("                if not waiting:\n                    sel.register(sock, selectors.EVENT_WRITE)\n"
                                      "                    waiting = True\n                sel.select(None)\n",
                                      "                continue\n")]),
                  {"test_waits_in_select_not_in_a_busy_loop"}),
    "polls_with_timeout_0": (_change(SEND_ALT, [("sel.select(None)", "sel.select(0)")]),
                             {"test_select_without_timeout_and_only_when_needed"}),
    "selects_before_sending": (_change(SEND_ALT, [("        while done < len(data):\n",
                                                   "        while done < len(data):\n"
                                                   "            if not waiting:\n"
                                                   "                sel.register(sock, selectors.EVENT_WRITE)\n"
                                                   "                waiting = True\n"
                                                   "            sel.select()\n")]),
                               {"test_select_without_timeout_and_only_when_needed"}),
    "watches_read_too": (_change(SEND_ALT, [("sel.register(sock, selectors.EVENT_WRITE)",
                                             "sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)")]),
                         {"test_selector_is_left_as_found"}),
    "clears_the_selector": (_change(SEND_ALT, [("        if waiting:\n            sel.unregister(sock)\n",
                                                "        for key in list(sel.get_map().values()):\n"
                                                "            sel.unregister(key.fileobj)\n")]),
                            {"test_selector_is_left_as_found", "test_peer_closing_raises_and_still_unregisters"}),
    "no_finally": (_change(SEND_ALT, [("    try:\n        while", "    if True:\n        while"),
                                      ("    finally:\n        if waiting:", "    if True:\n        if waiting:")]),
                   {"test_peer_closing_raises_and_still_unregisters"}),
    "swallows_peer_close": (_change(SEND_ALT, [("            except BlockingIOError:\n",
                                                "            except (BrokenPipeError, ConnectionResetError):\n"
                                                "                return done\n"
                                                "            except BlockingIOError:\n")]),
                            {"test_peer_closing_raises_and_still_unregisters"}),
    "ignores_send_count": (_change(SEND_ALT, [("                done += sock.send(data[done:done + 65536])\n",
                                               "                sock.send(data[done:done + 65536])\n"
                                               "                done += len(data[done:done + 65536])\n")]),
                           {"test_sends_every_byte_in_order", "test_tiny_send_buffer_and_non_blocking_kept"}),
    "blocking_sendall": ('''
def send_all(sock, data, sel):
    sock.setblocking(True)
    try:
        sock.sendall(data)
    finally:
        sock.setblocking(False)
    return len(data)
''', {"test_waits_in_select_not_in_a_busy_loop", "test_tiny_send_buffer_and_non_blocking_kept"}),
}

# ---------------------------------------------------------------- 03.3

ECHO_ALT = '''
import selectors

def serve(listener, stop, selector=None, max_buffer=65536):
    """Dicts keyed by socket instead of key.data objects; writes wait for EVENT_WRITE."""
    sel = selector if selector is not None else selectors.DefaultSelector()
    listener.setblocking(False)
    sel.register(listener, selectors.EVENT_READ)
    sel.register(stop, selectors.EVENT_READ)
    owed = {}            # connection -> bytearray still to send back
    finished = set()     # connections that sent EOF
    count = 0

    def drop(s):
        sel.unregister(s)
        s.close()
        owed.pop(s)
        finished.discard(s)

    def refresh(s):
        if s in finished and not owed[s]:
            drop(s)
            return
        events = selectors.EVENT_WRITE if owed[s] else 0
        if s not in finished and len(owed[s]) < max_buffer:
            events |= selectors.EVENT_READ
        if sel.get_key(s).events != events:
            sel.modify(s, events)

    try:
        while True:
            for key, mask in sel.select():
                s = key.fileobj
                if s is stop:
                    return count
                if s is listener:
                    try:
                        c, _ = listener.accept()
                    except (BlockingIOError, ConnectionAbortedError):
                        continue
                    c.setblocking(False)
                    owed[c] = bytearray()
                    sel.register(c, selectors.EVENT_READ)
                    count += 1
                    continue
                try:
                    if mask & selectors.EVENT_READ:
                        data = s.recv(65536)
                        if data:
                            owed[s] += data
                        else:
                            finished.add(s)
                    if mask & selectors.EVENT_WRITE and owed[s]:
                        sent = s.send(owed[s])
                        del owed[s][:sent]
                except BlockingIOError:
                    pass
                except OSError:
                    drop(s)
                    continue
                refresh(s)
    finally:
        for s in list(owed):
            drop(s)
        sel.unregister(listener)
        sel.unregister(stop)
        if selector is None:
            sel.close()
'''

ECHO_WRONG = {
    "unbounded_buffer": (_change(ECHO_ALT, [("        if s not in finished and len(owed[s]) < max_buffer:\n",
                                             "        if s not in finished:\n")]),
                         {"test_stalled_client_neither_blocks_nor_bloats"}),
    "always_watches_write": (_change(ECHO_ALT, [("        events = selectors.EVENT_WRITE if owed[s] else 0\n",
                                                 "        events = selectors.EVENT_WRITE\n")]),
                             {"test_write_interest_only_while_owing"}),
    "close_without_unregister": (_change(ECHO_ALT, [("    def drop(s):\n        sel.unregister(s)\n        s.close()\n",
                                                     "    def drop(s):\n        s.close()\n")]),
                                 {"test_closed_connections_leave_the_selector"}),
    "eof_drops_owed_bytes": (_change(ECHO_ALT, [("        if s in finished and not owed[s]:\n", "        if s in finished:\n")]),
                             {"test_eof_while_owing_bytes"}),
    "reset_crashes": (_change(ECHO_ALT, [("                except OSError:\n                    drop(s)\n                    continue\n", "")]),
                      {"test_reset_client_is_dropped_and_others_served"}),
    "blocking_connections": (_change(ECHO_ALT, [("                    c.setblocking(False)\n", "")]),
                             {"test_stalled_client_neither_blocks_nor_bloats", "test_serves_from_one_thread"}),
    "blocking_listener": (_change(ECHO_ALT, [("    listener.setblocking(False)\n", "")]),
                          {"test_serves_from_one_thread"}),
    "returns_open_count": (_change(ECHO_ALT, [("                    return count\n", "                    return len(owed)\n")]),
                           {"test_echoes_many_clients_at_once", "test_stop_closes_everything_and_returns_the_count"}),
    "stop_leaves_connections": (_change(ECHO_ALT, [("        for s in list(owed):\n            drop(s)\n", "")]),
                                {"test_stop_closes_everything_and_returns_the_count"}),
    "closes_given_selector": (_change(ECHO_ALT, [("        if selector is None:\n            sel.close()\n",
                                                  "        sel.close()\n")]),
                              {"test_stop_closes_everything_and_returns_the_count"}),
    "needs_a_selector": (_change(ECHO_ALT, [("    sel = selector if selector is not None else selectors.DefaultSelector()\n",
                                             "    sel = selector\n")]),
                         {"test_without_a_selector_it_makes_its_own"}),
    "thread_per_connection": ('''
import selectors
import socket
import threading

def serve(listener, stop, selector=None, max_buffer=65536):
    sel = selector if selector is not None else selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    sel.register(stop, selectors.EVENT_READ)
    conns, threads = [], []

    def echo(c):
        try:
            while data := c.recv(65536):
                c.sendall(data)
        except OSError:
            pass
        finally:
            c.close()

    try:
        while True:
            for key, _ in sel.select():
                if key.fileobj is stop:
                    return len(conns)
                c, _ = listener.accept()
                conns.append(c)
                threads.append(threading.Thread(target=echo, args=(c,)))
                threads[-1].start()
    finally:
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in threads:
            t.join()
        sel.unregister(listener)
        sel.unregister(stop)
''', {"test_serves_from_one_thread"}),
}

VARIANTS = (
    [("alt", "line_reader.py", LINE_ALT, None)]
    + [(n, "line_reader.py", src, must) for n, (src, must) in LINE_WRONG.items()]
    + [("alt", "send_all.py", SEND_ALT, None)]
    + [(n, "send_all.py", src, must) for n, (src, must) in SEND_WRONG.items()]
    + [("alt", "echo_server.py", ECHO_ALT, None)]
    + [(n, "echo_server.py", src, must) for n, (src, must) in ECHO_WRONG.items()]
)
