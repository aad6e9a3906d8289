"""Task 06.3: a web crawler with bounded concurrency, on any asyncio loop.

The crawler of "500 Lines or Less" (A. Jesse Jiryu Davis and Guido van Rossum, "A Web Crawler
With asyncio Coroutines") done with the loop's own socket methods. Write

    async def crawl(root_url: str, max_tasks: int) -> dict[str, int]

which crawls the site of root_url and returns a dict that maps every URL it fetched to the
HTTP status the server answered (200, 301, 302, 404, ...).

Rules, each one checked:
  1. Networking: get the loop with asyncio.get_running_loop() and use its sock_connect,
     sock_sendall and sock_recv on non-blocking sockets made with socket.socket() (the tests
     watch that class: they count the sockets open at each moment and check that each is
     closed). Nothing may block the loop: the tests run crawl with asyncio.run.
  2. One request per connection: send "GET <path> HTTP/1.0\\r\\nHost: <host:port>\\r\\n\\r\\n"
     and read the answer until recv returns b"" (the server closes the connection). The status
     is the second word of the first line.
  3. Links: in a 200 page, every href="..." is a link, resolved against the page's URL with
     urllib.parse.urljoin. Only URLs on the root's host and port are crawled (the scheme is
     http); links to anywhere else are ignored.
  4. Redirects (301, 302, 303, 307, 308): the Location header, resolved with urljoin, is
     crawled like a link; the redirecting URL itself counts as fetched, with its status.
     Pages with any other status (404 ...) are fetched but not parsed.
  5. Every URL is fetched exactly once, whatever the cycles and repeated links of the site.
  6. At most max_tasks fetches are in flight at any moment - a fetch is in flight from the
     socket's creation to its close - and the crawler keeps that many going when it can: while
     one page answers late, the others are fetched meanwhile.
  7. crawl returns only when every fetch is done (the site's /slow page answers only when the
     test lets it, and it links to a page no other page links to).
  8. Every socket is closed, in every path (200, redirect, 404, or an error).
"""

import asyncio
import re
import socket
from urllib.parse import urljoin, urlsplit

HREF = re.compile(rb'href="([^"]*)"')
REDIRECTS = {301, 302, 303, 307, 308}


async def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    """GET url over HTTP/1.0: (status, headers with lower-case names, body)."""
    ### BEGIN SOLUTION 06.3
    loop = asyncio.get_running_loop()
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    sock = socket.socket()
    try:
        sock.setblocking(False)
        await loop.sock_connect(sock, (parts.hostname, parts.port or 80))
        await loop.sock_sendall(sock, f"GET {path} HTTP/1.0\r\nHost: {parts.netloc}\r\n\r\n".encode("latin-1"))
        chunks = []
        while chunk := await loop.sock_recv(sock, 65536):
            chunks.append(chunk)
    finally:
        sock.close()                          # every path: success, error, cancellation
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body
    ### END SOLUTION


async def crawl(root_url: str, max_tasks: int) -> dict[str, int]:
    """Crawl root_url's site with at most max_tasks fetches at once: URL -> status."""
    ### BEGIN SOLUTION 06.3
    site = urlsplit(root_url).netloc
    queue: asyncio.Queue[str] = asyncio.Queue()
    seen = {root_url}                         # marked when queued, so never queued twice
    statuses: dict[str, int] = {}
    queue.put_nowait(root_url)

    def found(page_url: str, href: str) -> None:
        url = urljoin(page_url, href).partition("#")[0]
        parts = urlsplit(url)
        if parts.scheme == "http" and parts.netloc == site and url not in seen:
            seen.add(url)
            queue.put_nowait(url)

    async def worker() -> None:
        while True:
            url = await queue.get()
            try:
                status, headers, body = await fetch(url)
                statuses[url] = status
                if status in REDIRECTS and "location" in headers:
                    found(url, headers["location"])
                elif status == 200:
                    for href in HREF.findall(body):
                        found(url, href.decode("utf-8", "replace"))
            finally:
                queue.task_done()             # even on an error, or join() never returns

    workers = [asyncio.create_task(worker()) for _ in range(max_tasks)]
    try:
        await queue.join()                    # every queued URL fetched, none in flight
    finally:
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    return statuses
    ### END SOLUTION
