"""A small web site on 127.0.0.1 for the crawlers of lessons 04 and 06.

A crawler needs a site to crawl, and the real web is neither deterministic nor polite to hit
from a test. ``LinkSite`` serves a generated link graph from background threads::

    from lessons.linksite import LinkSite
    with LinkSite(pages=20, seed=1) as site:
        start = site.url("/")                # "http://127.0.0.1:<port>/"
        ...                                  # crawl from start
        assert found == site.expected_urls() # every URL a correct crawler requests
        site.hits                            # {"/": 1, "/p3": 1, ...}: requests per path

What the site contains (the same for the same ``pages`` and ``seed``, whatever the port):

- ``pages`` ordinary pages, ``/`` and ``/p1`` ... ``/p<pages-1>``. Page i always links to
  page i+1 and the last page links back to ``/``: a ring, so every ordinary page is reachable
  and the graph has a cycle a crawler must not loop on. Each page also links to a few random
  others (more cycles), sometimes to itself, and once lists a link twice.
- ``/moved``: answers ``redirect_status`` (301 by default) with ``Location:`` the absolute URL
  of ``/landing``, a page no other page links to: only a crawler that follows redirects finds
  it. ``/landing`` links back to ``/``.
- ``/missing``: 404. It is linked from an ordinary page, like a broken link on a real site.
- ``/slow``: answers only when the test calls ``release_slow()`` (a ``threading.Event``; no
  sleeps anywhere). Until then its handler thread waits, so a test can check that the crawler
  keeps working on other pages meanwhile and does not finish early. ``/slow`` links to
  ``/deep``, which only ``/slow`` links to: the crawl is not complete before the slow page
  has been read. ``wait_slow_requested(timeout)`` tells the test the request has arrived, and
  ``wait_hits(predicate, timeout)`` waits until the hits so far satisfy a condition (say,
  every other page has been requested while ``/slow`` is held).
- ``/orphan``: a page nothing links to; a crawler that finds it made URLs up.
- with ``links_in_404=True``, the 404 page links to ``/orphan``: a crawler that parses error
  pages (it should not) requests a page it was never meant to find.
- with ``external=True``, the home page also links to ``http://example.invalid/`` (another
  host: a crawler that stays on the site must not request it; nothing listens there).

All links are written ``href="/path"`` (absolute paths on this host), so ``urljoin(page_url,
href)`` gives the URL. Every response is HTTP/1.0 with ``Content-Length`` and
``Connection: close``, and the server closes the connection after it: a client may simply
read until EOF. Request paths are counted in ``hits`` before the answer is sent (the slow
page's hit counts as soon as it is requested).

``expected_urls()`` is the set of absolute URLs a correct crawler starting at ``url("/")``
requests, once each: every ordinary page, ``/moved`` and ``/landing``, ``/missing``, ``/slow``
and ``/deep``; never ``/orphan`` nor another host. ``expected_statuses()`` maps each of them
to the status the site answers (200, 301/302 or 404).

``close()`` (or leaving the ``with`` block) stops the server, releases the slow page, shuts
down connections still open (so a handler blocked reading a request that never comes
returns) and joins every thread. The module is stdlib-only and self-contained on purpose: a
graded test may read its source and exec it in the sandboxed child, where ``lessons`` cannot
be imported.
"""

from __future__ import annotations

import random
import socket
import socketserver
import threading
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

SPECIAL_PATHS = ("/moved", "/landing", "/missing", "/slow", "/deep", "/orphan")
EXTERNAL_URL = "http://example.invalid/"


def build_graph(pages: int, seed: int, *, external: bool = False) -> dict[str, list[str]]:
    """Return the site's link graph: path -> hrefs in page order (redirects and 404s: []).

    Deterministic in ``(pages, seed, external)``: ``random.Random(seed)`` is the only source
    of randomness, and it is consulted in a fixed order.
    """
    if pages < 4:
        raise ValueError("pages must be >= 4: the three special links hang off distinct pages besides /")
    rng = random.Random(seed)
    ordinary = ["/"] + [f"/p{i}" for i in range(1, pages)]
    graph: dict[str, list[str]] = {}
    for i, path in enumerate(ordinary):
        links = [ordinary[(i + 1) % pages]]                  # the ring: reachability + a cycle
        others = [p for p in ordinary if p != links[0]]       # may include the page itself
        links += rng.sample(others, rng.randint(1, 3))
        graph[path] = links
    # The special pages hang off three distinct ordinary pages other than "/", chosen by seed.
    hosts = rng.sample(ordinary[1:], 3)
    for host, special in zip(hosts, ("/moved", "/missing", "/slow")):
        graph[host].append(special)
    twice = rng.choice(ordinary)
    graph[twice].append(graph[twice][0])                      # one page lists a link twice
    for links in graph.values():
        rng.shuffle(links)                                    # the ring link is not always first
    if external:
        graph["/"].append(EXTERNAL_URL)
    graph["/moved"] = []                                       # 301/302 -> /landing
    graph["/landing"] = ["/"]
    graph["/missing"] = []                                     # 404
    graph["/slow"] = ["/deep", "/"]
    graph["/deep"] = ["/p1"]
    graph["/orphan"] = ["/"]
    return graph


class _Server(ThreadingHTTPServer):
    # Non-daemon request threads, joined by server_close(): close() must leave no thread
    # behind (ThreadingHTTPServer's default, daemon_threads=True, would skip the join).
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True
    site: LinkSite

    def server_bind(self) -> None:
        # HTTPServer.server_bind would call socket.getfqdn(), a reverse DNS lookup that can
        # stall in a sandbox; the name is only used in CGI environments, so skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"    # one request per connection; the body ends at EOF
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.site._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.site._track(self.connection, add=False)

    def log_message(self, format: str, *args: object) -> None:
        pass                          # a test's output is no place for an access log

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def _answer(self, *, body: bool) -> None:
        site = self.server.site
        path = urlsplit(self.path).path or "/"
        site._count(path)
        if path == "/slow":
            site._slow_requested.set()
            site._slow_gate.wait()    # released by release_slow() or close(); never a sleep
            if site._closing.is_set():
                return                # closing: drop the connection without an answer
        status = site.status(path)
        headers = {"Connection": "close"}
        if status in (301, 302):
            headers["Location"] = site.url("/landing")
            content = "<p>Moved to <a href=\"/landing\">/landing</a></p>\n"
        elif status == 404:
            content = f"<h1>404 Not Found</h1><p>No page {path}</p>\n"
            if site.links_in_404:
                content += '<p>Try <a href="/orphan">this page</a> instead.</p>\n'
        else:
            items = "".join(f'<li><a href="{href}">{href}</a></li>\n' for href in site.graph[path])
            content = f"<html><head><title>{path}</title></head><body>\n<ul>\n{items}</ul>\n</body></html>\n"
        data = content.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(data)


class LinkSite:
    """A generated link graph served over HTTP on 127.0.0.1 (port 0) until ``close()``.

    Args:
        pages: number of ordinary pages (``/`` and ``/p1`` ...), at least 4.
        seed: seeds the extra links; same seed, same site.
        redirect_status: 301 or 302, the answer of ``/moved``.
        external: also link ``/`` to another host (``EXTERNAL_URL``).
        links_in_404: the 404 page links to ``/orphan`` (which a correct crawler never requests).
    """

    def __init__(self, pages: int = 20, seed: int = 1, *, redirect_status: int = 301,
                 external: bool = False, links_in_404: bool = False) -> None:
        if redirect_status not in (301, 302):
            raise ValueError("redirect_status must be 301 or 302")
        self.pages, self.seed, self.redirect_status = pages, seed, redirect_status
        self.links_in_404 = links_in_404
        self.graph: dict[str, list[str]] = build_graph(pages, seed, external=external)
        self._hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._hit = threading.Condition(self._lock)    # notified on every request counted
        self._open: set[socket.socket] = set()
        self._slow_gate = threading.Event()
        self._slow_requested = threading.Event()
        self._closing = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.site = self
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="linksite-accept", daemon=True)
        self._thread.start()

    # -- what a test asks ------------------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` of the server, for a client that connects by hand."""
        return (str(self.host), int(self.port))

    def url(self, path: str = "/") -> str:
        """The absolute URL of ``path`` on this site: ``url("/p3")`` -> ``http://127.0.0.1:N/p3``."""
        return f"http://{self.host}:{self.port}{path}"

    def status(self, path: str) -> int:
        """The status the site answers for ``path`` (200, the redirect status, or 404)."""
        if path == "/moved":
            return self.redirect_status
        return 200 if path in self.graph and path != "/missing" else 404

    def expected_statuses(self) -> dict[str, int]:
        """Absolute URL -> status, for every URL a correct crawler from ``url("/")`` requests."""
        seen: dict[str, int] = {}
        todo = ["/"]
        while todo:
            path = todo.pop()
            if self.url(path) in seen:
                continue
            status = self.status(path)
            seen[self.url(path)] = status
            if status in (301, 302):
                todo.append("/landing")
            elif status == 200:
                todo += [href for href in self.graph[path] if href.startswith("/")]
        return seen

    def expected_urls(self) -> set[str]:
        """The set of absolute URLs a correct crawler starting at ``url("/")`` requests."""
        return set(self.expected_statuses())

    @property
    def hits(self) -> dict[str, int]:
        """Requests received so far, per path (a snapshot; query strings are not part of the key)."""
        with self._lock:
            return dict(self._hits)

    def wait_hits(self, predicate: Callable[[dict[str, int]], bool], timeout: float | None = None) -> bool:
        """Wait until ``predicate(hits)`` is true (checked at once and after every request);
        returns its last value, so False means the timeout passed first. No polling: each
        counted request wakes the waiter."""
        with self._hit:
            return self._hit.wait_for(lambda: predicate(dict(self._hits)), timeout)

    def release_slow(self) -> None:
        """Let ``/slow`` answer: its waiting request (and every later one) gets the page."""
        self._slow_gate.set()

    def wait_slow_requested(self, timeout: float | None = None) -> bool:
        """Wait until ``/slow`` has been requested; True if it was (False on timeout)."""
        return self._slow_requested.wait(timeout)

    # -- lifetime --------------------------------------------------------------------------

    def close(self) -> None:
        """Stop serving, unblock every handler and join all threads; safe to call twice."""
        if self._closing.is_set():
            return
        self._closing.set()
        self._slow_gate.set()                      # a gated handler returns without answering
        self._server.shutdown()                    # serve_forever() returns: no new connections
        self._thread.join()
        with self._lock:
            still_open = list(self._open)
        for conn in still_open:                    # a client that never sent its request
            try:
                conn.shutdown(socket.SHUT_RDWR)    # makes the handler's readline() return b""
            except OSError:
                pass
        self._server.server_close()                # closes the listener, joins request threads

    def __enter__(self) -> LinkSite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- for the handler -------------------------------------------------------------------

    def _count(self, path: str) -> None:
        with self._lock:
            self._hits[path] += 1
            self._hit.notify_all()

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if not add:
                self._open.discard(conn)
                return
            self._open.add(conn)
            if not self._closing.is_set():
                return
        # Accepted just before close() took its snapshot of open connections: shut it here.
        try:
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
