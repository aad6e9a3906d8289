"""The browser test's machinery: a copy of the course, and JupyterLab serving it the way
`make lab` does (a module of its own, so that the test file and conftest.py can share it)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Where JupyterLab reads the course's settings overrides (the Makefile installs them there).
VENV_OVERRIDES = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
REPO_OVERRIDES = ROOT / "jupyter" / "overrides.json"

# Top-level entries of the checkout that are not the course: environments, git, local state.
_NOT_COURSE = {".git", ".venv", ".venv-lock", ".coursekit", ".pytest_cache", "grades", "build"}
# Flags from the environment notes: no GPU, and no traffic of Chromium's own (updates, sync,
# field trials) that would try to leave the machine.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def copy_course(dest: Path) -> Path:
    """Copy the course as it is in this checkout (not git's HEAD: the test checks the tree it
    runs in, as nbval does) into `dest`."""
    for entry in ROOT.iterdir():
        if entry.name in _NOT_COURSE or entry.name.endswith(".egg-info"):
            continue
        if entry.is_dir():
            shutil.copytree(entry, dest / entry.name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        else:
            shutil.copy2(entry, dest / entry.name)
    return dest


@dataclass
class Lab:
    """A running JupyterLab: its address, the course folder it serves, and its log."""
    url: str
    root: Path
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text("utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def get_json(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            return json.load(response)


@contextmanager
def serve(course: Path, state: Path, *extra: str) -> Iterator[Lab]:
    """JupyterLab started as `make lab` starts it (the venv's jupyter-lab, --ip=127.0.0.1,
    --ServerApp.root_dir=. in the course folder, --allow-root as root), plus what a test needs:
    a free port chosen by the OS, no token, no browser of its own, and `extra` arguments.
    Jupyter's per-user folders point into `state`, so neither your settings nor your kernels
    change what is tested, and the run leaves nothing in your home."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("COURSE_ROOT", "PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST", "JUPYTER_PATH")}
    for var, sub in [("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTER_CONFIG_DIR", "config"),
                     ("JUPYTER_DATA_DIR", "data"), ("JUPYTERLAB_SETTINGS_DIR", "user-settings"),
                     ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"), ("IPYTHONDIR", "ipython")]:
        env[var] = str(state / sub)
        (state / sub).mkdir(parents=True)
    command = [str(Path(sys.executable).with_name("jupyter-lab")),
               *(["--allow-root"] if os.geteuid() == 0 else []),
               "--ip=127.0.0.1", "--ServerApp.root_dir=.",
               "--port=0", "--IdentityProvider.token=", "--no-browser", *extra]
    log = state / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(command, cwd=course, env=env, stdin=subprocess.DEVNULL,
                                  stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    lab = Lab("", course, log)
    try:
        lab.url = _wait_for_server(server, state / "runtime" / f"jpserver-{server.pid}.json", lab)
        yield lab
    finally:
        _stop(server)


def _wait_for_server(server: subprocess.Popen, info_file: Path, lab: Lab, timeout: float = 120) -> str:
    """The server's base URL once it answers; the server writes its port to `info_file`."""
    deadline = time.monotonic() + timeout
    url = ""
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"jupyter-lab exited with status {server.returncode}:\n{lab.log_tail()}", pytrace=False)
        if not url and info_file.exists():
            try:
                url = json.loads(info_file.read_text())["url"].rstrip("/")
            except (ValueError, KeyError):
                pass   # written but not complete yet
        if url:
            try:
                with urllib.request.urlopen(url + "/api/status", timeout=10):
                    return url
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
        time.sleep(0.2)
    pytest.fail(f"jupyter-lab did not answer within {timeout:.0f} s:\n{lab.log_tail()}", pytrace=False)


def _stop(server: subprocess.Popen) -> None:
    """Stop the server and every process it started. Its kernels run in sessions of their own,
    so they are found by parentage first; the server shuts them down on SIGTERM, and whatever
    is left afterwards is killed."""
    try:
        started = psutil.Process(server.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        started = []
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
    for proc in started:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(started, timeout=10)


