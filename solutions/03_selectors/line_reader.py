"""Task 03.1: read lines from a non-blocking socket, fragments and end of file included.

A non-blocking socket (非阻塞套接字) never waits: ``recv`` returns the bytes that have arrived
(maybe only part of a line, maybe several lines at once), raises ``BlockingIOError`` (errno
EAGAIN) when nothing has arrived yet, and returns ``b""`` when the peer has closed its side
(end of file, EOF). A selector loop calls ``feed_ready()`` each time the socket is readable.

Rules the tests check:

- ``LineReader(sock)`` keeps ``sock`` as it is (the caller made it non-blocking).
- ``feed_ready()`` reads everything that has arrived - it calls ``recv`` until it raises
  ``BlockingIOError`` or returns ``b""`` - and returns every complete line, in order, each
  with its ``b"\\n"``. Only ``b"\\n"`` ends a line: ``b"\\r"`` is an ordinary byte, kept
  where it is. It never blocks: with nothing to read it returns ``[]``.
- A line split over several recv calls or several ``feed_ready()`` calls comes back whole,
  once; the fragment after the last ``b"\\n"`` waits for the next call.
- At EOF, ``feed_ready()`` also returns the last fragment, without a ``b"\\n"``, if it is not
  empty, and sets ``closed`` to True (False before). After that it returns ``[]`` and does
  not call ``recv`` again.
- Lines may be long: a line of 1 MiB comes back whole.
"""

import socket


class LineReader:
    """Split what a non-blocking socket delivers into lines.

    >>> a, b = socket.socketpair(); b.setblocking(False)
    >>> r = LineReader(b); a.sendall(b"ab"); r.feed_ready()
    []
    >>> a.sendall(b"c\\nde"); r.feed_ready()
    [b'abc\\n']
    >>> a.close(); r.feed_ready(), r.closed
    ([b'de'], True)
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.closed = False
        ### BEGIN SOLUTION
        self._buffer = bytearray()
        ### END SOLUTION

    def feed_ready(self) -> list[bytes]:
        """Read all that has arrived; return the complete lines (and the last fragment at EOF)."""
        ### BEGIN SOLUTION
        if self.closed:
            return []
        lines: list[bytes] = []
        while True:
            try:
                chunk = self.sock.recv(65536)
            except BlockingIOError:        # nothing more for now: come back when readable
                break
            if not chunk:                  # b"": the peer closed its side
                self.closed = True
                break
            start = len(self._buffer)
            self._buffer += chunk
            # only the new bytes can hold a new newline: never rescan the old ones
            cut = self._buffer.rfind(b"\n", start)
            if cut >= 0:
                whole = bytes(self._buffer[:cut + 1])
                del self._buffer[:cut + 1]
                # split on b"\n" alone: bytes.splitlines() would also cut at b"\r"
                lines.extend(part + b"\n" for part in whole[:-1].split(b"\n"))
        if self.closed and self._buffer:
            lines.append(bytes(self._buffer))
            self._buffer.clear()
        return lines
        ### END SOLUTION
