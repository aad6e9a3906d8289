"""One small program written both ways: blocking (run serially, on threads, or gevent-patched)
and with async/await on asyncio. Lesson 08's verdict on stackful against stackless.

    from lessons import both_ways as bw
    print(bw.BLOCKING)            # the program: crawl -> fetch_page -> http_get, plain sockets
    print(bw.ASYNC)               # the same program for asyncio
    bw.colouring()                # which functions had to change, and how many lines
    bw.run("serial"); bw.run("gevent"); bw.run("threads"); bw.run("asyncio")

The program fetches pages of ``lessons.linksite.LinkSite`` over loopback and adds up their sizes
in a shared ``stats`` dict. ``http_get`` is two calls below ``crawl``, as a blocking helper usually
is. The two sources are kept as strings on purpose, with the same function names, so that
``colouring()`` can diff them line by line and count what function colouring (函数着色) costs:
every function on the path from ``crawl`` down to the socket became ``async def``, and every call
of one became an ``await``. Under gevent the blocking source runs *unchanged*: ``patch_all()``
makes ``socket`` cooperative, so ``sock.recv`` inside ``http_get`` is a switch point nobody wrote.

How concurrency is shown without timing anything. The first URL is the site's ``/slow`` page,
which answers only when the site's ``release_slow()`` is called. A referee thread in this (the
parent) process waits until ``/slow`` has been requested and then, for a concurrent mode, until
every other page has been requested too, and only then releases ``/slow``: a program that really
overlaps its requests gets every other page requested while ``/slow`` is held; a serial one could
not (its referee releases ``/slow`` at once, since nothing else can arrive while the only request
waits). A safety net of ``SAFETY_S`` turns a program that does not overlap into a result that says
so, never a hang.

The race the line ``stats["bytes"] += len(http_get(url))`` hides. An augmented assignment to a
subscription loads ``stats["bytes"]`` *before* it evaluates the right-hand side. The Python
Language Reference says so in "Augmented assignment statements" (``Doc/reference/simple_stmts.rst``
at every tag from ``v3.11.9`` to ``v3.15.0rc1``): "``a[i] += f(x)`` first looks-up ``a[i]``, then
it evaluates ``f(x)`` ... and lastly, it writes the result back". So every fetch that switches inside ``http_get`` writes back a stale total. Serially
nothing is lost (the control); under gevent and under asyncio some pages' bytes are lost, every
run, because ``/slow`` read the total before everything else and writes it back after. The
asyncio line says ``await`` where it can switch; the gevent line looks exactly like the serial one.
"""

from __future__ import annotations

import ast
import difflib
import json
import subprocess
import threading
from typing import Any

from lessons import probe

#: Seconds the referee waits for requests before it gives up (a safety net, never reached when
#: the program works: the waits end on the requests themselves).
SAFETY_S = 60.0

#: The pages each run fetches: ``/slow`` first, then ordinary pages of a 12-page site.
PATHS = ["/slow", "/", "/p1", "/p2", "/p3", "/p4", "/p5", "/p6", "/p7"]

BLOCKING = '''\
import socket
from urllib.parse import urlsplit


def http_get(url):
    """GET url with HTTP/1.0 and return the body; the site closes the connection after it."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.sendall(f"GET {parts.path} HTTP/1.0\\r\\nHost: {parts.netloc}\\r\\n\\r\\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data.partition(b"\\r\\n\\r\\n")[2]


def fetch_page(url, stats):
    stats["bytes"] += len(http_get(url))
    stats["pages"] += 1
    return url


def crawl(urls, run_all):
    stats = {"pages": 0, "bytes": 0}
    done = run_all(lambda url: fetch_page(url, stats), urls)
    return stats, list(done)
'''

ASYNC = '''\
import asyncio
from urllib.parse import urlsplit


async def http_get(url):
    """GET url with HTTP/1.0 and return the body; the site closes the connection after it."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(f"GET {parts.path} HTTP/1.0\\r\\nHost: {parts.netloc}\\r\\n\\r\\n".encode())
    data = await reader.read()
    writer.close()
    await writer.wait_closed()
    return data.partition(b"\\r\\n\\r\\n")[2]


async def fetch_page(url, stats):
    stats["bytes"] += len(await http_get(url))
    stats["pages"] += 1
    return url


async def crawl(urls):
    stats = {"pages": 0, "bytes": 0}
    done = await asyncio.gather(*(fetch_page(url, stats) for url in urls))
    return stats, list(done)
'''

#: ``gevent_c`` is gevent with everything patched but ``socket``: it stands for a C extension that
#: does its own network I/O in C (a database driver talking to its server through libpq or
#: libmysqlclient), which monkey patching cannot reach.
MODES = ("serial", "threads", "gevent", "asyncio", "gevent_c")


def colouring() -> dict[str, Any]:
    """Diff ``BLOCKING`` against ``ASYNC``: the functions that became ``async def``, the
    ``await`` expressions added, and the changed lines (``difflib``), as plain data."""
    def functions(source: str) -> dict[str, str]:
        return {node.name: type(node).__name__ for node in ast.walk(ast.parse(source))
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}

    blocking, coloured = functions(BLOCKING), functions(ASYNC)
    awaits = sum(isinstance(node, ast.Await) for node in ast.walk(ast.parse(ASYNC)))
    a, b = BLOCKING.splitlines(), ASYNC.splitlines()
    diff = [line for line in difflib.unified_diff(a, b, lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    return {
        "functions": sorted(blocking),
        "became_async": sorted(n for n, kind in coloured.items() if kind == "AsyncFunctionDef"),
        "awaits": awaits,
        "removed_lines": sum(line.startswith("-") for line in diff),
        "added_lines": sum(line.startswith("+") for line in diff),
        "lines_blocking": len(a),
        "lines_async": len(b),
        "diff": diff,
    }


def run(mode: str, pages: int = 12, seed: int = 1) -> dict[str, Any]:
    """Run the program in ``mode`` (one of ``MODES``) in a fresh interpreter against a fresh
    ``LinkSite``; return the program's ``stats``, the true total of the page sizes, the bytes
    lost, and how many other pages the site saw requested while ``/slow`` was held."""
    from lessons.linksite import LinkSite

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    # A serial program (and gevent_c, whose sockets block the whole thread in C) cannot request
    # anything else while /slow is held: its referee releases /slow at once and counts what
    # arrived before that, which for a really blocked process is exactly nothing.
    concurrent = mode in ("threads", "gevent", "asyncio")
    with LinkSite(pages=pages, seed=seed) as site:
        urls = [site.url(p) for p in PATHS]
        others = PATHS[1:]
        seen: dict[str, Any] = {}

        def referee() -> None:
            seen["slow_requested"] = site.wait_slow_requested(SAFETY_S)
            if concurrent:
                site.wait_hits(lambda h: all(h.get(p, 0) >= 1 for p in others), SAFETY_S)
            seen["others_while_slow_held"] = sum(1 for p in others if site.hits.get(p, 0))
            site.release_slow()

        ref = threading.Thread(target=referee, name="both-ways-referee")
        ref.start()
        try:
            done = subprocess.run(probe.command("both_ways", [mode, json.dumps(urls)]),
                                  capture_output=True, text=True, env=probe.child_env(),
                                  timeout=3 * SAFETY_S)
        finally:
            site.release_slow()
            ref.join()
        if done.returncode != 0:
            raise RuntimeError(f"the {mode} run failed:\n{done.stderr.strip()}")
        result = probe.last_json_line(done.stdout)
        sizes = {p: len(_body(site.url(p))) for p in PATHS}    # after the run: the true sizes
    true_bytes = sum(sizes.values())
    result.update(seen, mode=mode, true_bytes=true_bytes, lost_bytes=true_bytes - result["stats"]["bytes"])
    return result


def _body(url: str) -> bytes:
    """The body of ``url``, read the plain way (the parent is never patched)."""
    namespace: dict[str, Any] = {}
    exec(BLOCKING, namespace)
    return namespace["http_get"](url)


def _child(mode: str, urls: list[str]) -> dict[str, Any]:
    """In the subprocess: patch (gevent mode) before the program's imports run, then run it."""
    if mode in ("gevent", "gevent_c"):
        from gevent import monkey

        monkey.patch_all(socket=mode == "gevent")
    namespace: dict[str, Any] = {"__name__": "both_ways_program"}
    if mode == "asyncio":
        import asyncio

        exec(ASYNC, namespace)
        stats, done = asyncio.run(namespace["crawl"](urls))
    else:
        exec(BLOCKING, namespace)
        if mode == "serial":
            stats, done = namespace["crawl"](urls, map)
        elif mode in ("gevent", "gevent_c"):
            import gevent.pool

            stats, done = namespace["crawl"](urls, gevent.pool.Pool(len(urls)).map)
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(len(urls)) as pool:
                stats, done = namespace["crawl"](urls, pool.map)
    import socket

    import time

    return {"stats": stats, "done": len(done), "socket_class": socket.socket.__module__,
            "sleep_is_gevent": time.sleep.__module__.startswith("gevent")}


def main(argv: list[str]) -> None:
    """Child entry point: ``main(["gevent", '["http://127.0.0.1:.../slow", ...]'])``."""
    print(json.dumps(_child(argv[0], json.loads(argv[1]))))
