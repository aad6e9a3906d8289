"""Kit tests of lessons.linksite: the graph is deterministic and has its cycles, the site
serves it over HTTP (redirect, 404, the gated slow page), expected_urls() agrees with a plain
BFS crawler written here, and close() leaves no thread or connection behind."""

import http.client
import re
import socket
import threading
from collections import deque
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from lessons import linksite
from lessons.linksite import EXTERNAL_URL, LinkSite, build_graph

HREF = re.compile(r'href="([^"]*)"')
SAFETY = 10.0   # turns a hang into a failure; never a bound on how fast anything is


def get(url: str) -> tuple[int, dict[str, str], str]:
    """One GET with http.client (which never follows redirects): status, headers, body."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=SAFETY)
    try:
        conn.request("GET", parts.path or "/")
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read().decode()
    finally:
        conn.close()


def bfs_crawl(start: str) -> dict[str, int]:
    """The simplest correct crawler: breadth first, same host only, follows redirects."""
    host = urlsplit(start).netloc
    seen = {start}
    todo = deque([start])
    statuses: dict[str, int] = {}
    while todo:
        url = todo.popleft()
        status, headers, body = get(url)
        statuses[url] = status
        found = [urljoin(url, headers["location"])] if status in (301, 302) else (
            [urljoin(url, href) for href in HREF.findall(body)] if status == 200 else [])
        for link in found:
            if urlsplit(link).netloc == host and link not in seen:
                seen.add(link)
                todo.append(link)
    return statuses


@pytest.fixture
def site():
    with LinkSite(pages=20, seed=1) as s:
        yield s


def test_graph_is_deterministic_and_has_its_shape():
    g1, g2 = build_graph(20, 1), build_graph(20, 1)
    assert g1 == g2, "the same pages and seed must give the same graph"
    assert build_graph(20, 2) != g1, "another seed should give another graph"
    ordinary = ["/"] + [f"/p{i}" for i in range(1, 20)]
    for i, path in enumerate(ordinary):      # the ring: every page reachable, one big cycle
        assert ordinary[(i + 1) % 20] in g1[path]
    linked = {href for links in g1.values() for href in links}
    assert "/orphan" not in linked and "/landing" not in linked, "only the redirect leads to /landing"
    assert {"/moved", "/missing", "/slow"} <= linked
    assert [p for p in linked if p == "/deep"] and all(
        "/deep" not in links for path, links in g1.items() if path != "/slow")
    assert any(len(links) != len(set(links)) for links in g1.values()), "one page lists a link twice"
    assert any(path in links for path, links in g1.items()), "some page links to itself"
    with pytest.raises(ValueError):
        build_graph(3, 1)


def test_serves_pages_redirect_and_404(site):
    status, headers, body = get(site.url("/"))
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert int(headers["content-length"]) == len(body.encode())
    assert HREF.findall(body) == site.graph["/"]
    status, headers, _ = get(site.url("/moved"))
    assert status == 301 and headers["location"] == site.url("/landing")
    assert get(site.url("/missing"))[0] == 404
    assert get(site.url("/no/such/page"))[0] == 404
    assert get(site.url("/orphan"))[0] == 200
    assert site.hits == {"/": 1, "/moved": 1, "/missing": 1, "/no/such/page": 1, "/orphan": 1}


def test_a_raw_socket_client_can_read_until_eof(site):
    # The lesson 04 fetcher speaks HTTP by hand and stops at EOF: the server must close.
    with socket.create_connection(site.address, timeout=SAFETY) as s:
        s.sendall(b"GET /p1 HTTP/1.0\r\nHost: x\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200") and b"Connection: close" in head
    assert HREF.findall(body.decode()) == site.graph["/p1"]


def test_redirect_status_302():
    with LinkSite(pages=6, seed=3, redirect_status=302) as s:
        assert get(s.url("/moved"))[0] == 302
        assert s.expected_statuses()[s.url("/moved")] == 302
    with pytest.raises(ValueError):
        LinkSite(redirect_status=307)


def test_slow_page_waits_for_the_test(site):
    answers: list[int] = []
    client = threading.Thread(target=lambda: answers.append(get(site.url("/slow"))[0]))
    client.start()
    assert site.wait_slow_requested(SAFETY), "the request for /slow never arrived"
    assert site.hits.get("/slow") == 1
    # While /slow is held, the server still answers other pages (one thread per request).
    assert get(site.url("/p2"))[0] == 200
    assert answers == [], "/slow answered before release_slow()"
    site.release_slow()
    client.join(SAFETY)
    assert not client.is_alive() and answers == [200]
    status, _, body = get(site.url("/slow"))       # after the release it answers at once
    assert status == 200 and "/deep" in HREF.findall(body)


def test_wait_hits_wakes_on_a_request_and_times_out_without_one(site):
    assert site.wait_hits(lambda hits: hits == {}, 0), "a predicate already true must return True at once"
    assert site.wait_hits(lambda hits: "/p3" in hits, 0.01) is False, "no request came: the wait must time out"
    client = threading.Thread(target=lambda: get(site.url("/p3")))
    client.start()
    assert site.wait_hits(lambda hits: hits.get("/p3") == 1, SAFETY), "the request for /p3 did not wake the waiter"
    client.join(SAFETY)


def test_links_in_404_are_off_by_default_and_never_expected():
    with LinkSite(pages=6, seed=2) as plain, LinkSite(pages=6, seed=2, links_in_404=True) as linked:
        assert HREF.findall(get(plain.url("/missing"))[2]) == []
        status, _, body = get(linked.url("/missing"))
        assert status == 404 and HREF.findall(body) == ["/orphan"]
        assert ({urlsplit(u).path for u in linked.expected_urls()}
                == {urlsplit(u).path for u in plain.expected_urls()})
        assert linked.url("/orphan") not in linked.expected_urls()


@pytest.mark.parametrize("pages,seed", [(20, 1), (5, 7), (40, 123)])
def test_expected_urls_match_a_bfs_crawler(pages, seed):
    with LinkSite(pages=pages, seed=seed) as s:
        s.release_slow()
        statuses = bfs_crawl(s.url("/"))
        assert statuses == s.expected_statuses()
        assert set(statuses) == s.expected_urls()
        assert s.url("/orphan") not in statuses
        assert {s.url(p) for p in ("/moved", "/landing", "/missing", "/slow", "/deep")} <= set(statuses)
        assert all(n == 1 for n in s.hits.values()), f"each page once: {s.hits}"
        assert sum(s.hits.values()) == len(statuses) == pages + 5


def test_external_link_is_listed_but_not_expected():
    with LinkSite(pages=8, seed=2, external=True) as s:
        s.release_slow()
        assert EXTERNAL_URL in HREF.findall(get(s.url("/"))[2])
        assert EXTERNAL_URL not in s.expected_urls()
        assert bfs_crawl(s.url("/")) == s.expected_statuses()


def test_crawl_is_not_complete_before_the_slow_page(site):
    done = threading.Event()
    result: dict[str, dict[str, int]] = {}

    def crawl() -> None:
        result["statuses"] = bfs_crawl(site.url("/"))
        done.set()

    t = threading.Thread(target=crawl)
    t.start()
    assert site.wait_slow_requested(SAFETY)
    assert not done.is_set(), "a BFS crawler cannot finish while /slow is held"
    assert "/deep" not in site.hits
    site.release_slow()
    t.join(SAFETY)
    assert done.is_set() and result["statuses"] == site.expected_statuses()


def test_close_unblocks_everything_and_joins_threads():
    before = set(threading.enumerate())
    s = LinkSite(pages=6, seed=1)
    idle = socket.create_connection(s.address, timeout=SAFETY)       # never sends a request
    answers: list[object] = []

    def ask_slow() -> None:
        try:
            answers.append(get(s.url("/slow"))[0])
        except (OSError, http.client.HTTPException) as exc:
            answers.append(type(exc).__name__)

    asker = threading.Thread(target=ask_slow)
    asker.start()
    assert s.wait_slow_requested(SAFETY)
    closer = threading.Thread(target=s.close)
    closer.start()
    closer.join(SAFETY)
    assert not closer.is_alive(), "close() hung"
    asker.join(SAFETY)
    assert answers and answers[0] != 200, "a slow page released by close() must not answer"
    assert idle.recv(1) == b"", "the idle connection should have been shut down"
    idle.close()
    left = [t for t in threading.enumerate() if t not in before and t is not asker]
    assert left == [], f"threads left running after close(): {left}"
    with pytest.raises(OSError):
        socket.create_connection(s.address, timeout=SAFETY).close()
    s.close()                                                          # twice is fine


def test_source_runs_when_exec_ed_alone():
    # Lesson 06's graded tests exec the module's source in a sandboxed child.
    ns: dict[str, object] = {"__name__": "linksite_copy"}
    exec(compile(Path(linksite.__file__).read_text("utf-8"), "linksite.py", "exec"), ns)
    with ns["LinkSite"](pages=4, seed=0) as s:
        s.release_slow()
        assert bfs_crawl(s.url("/")) == s.expected_statuses()
