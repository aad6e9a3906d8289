"""Submissions: find them, check them, and copy them into a private working folder.

A submission is a folder laid out like exercises/ (one folder per module, e.g.
``01_processes_threads/cost_model.py``) or a .zip of one. The grader never runs anything
where the submission was found: it copies (or safely unpacks) it first, so that nothing the
code under test does can change the original, and a link or zip entry that points outside is
refused rather than followed.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .manifest import Course

MAX_FILES = 2000
MAX_BYTES = 64 * 1024 * 1024    # unpacked size of one submission
SKIP = {"__pycache__", ".ipynb_checkpoints", ".git", "__MACOSX", ".DS_Store"}


class SubmissionError(Exception):
    """The submission cannot be graded; the message is one line for the instructor."""


@dataclass(frozen=True)
class Submission:
    name: str       # the folder or zip name without .zip: names its output folder
    source: Path    # where it was found


def find(paths: list[Path], batch: Path | None) -> tuple[list[Submission], list[str]]:
    """The submissions named on the command line and inside --batch FOLDER, plus one error
    line per path that is not a submission at all. Names are made unique."""
    found: list[Submission] = []
    errors: list[str] = []
    for p in paths:
        found.append(Submission(_name(p), p))   # a missing one gets its zero report too
    if batch is not None:
        if not batch.is_dir():
            errors.append(f"--batch {batch}: not a folder")
        else:
            for entry in sorted(batch.iterdir()):
                if entry.name.startswith(".") or entry.name in SKIP:
                    continue
                if entry.is_dir() or entry.suffix.lower() == ".zip" or entry.is_symlink():
                    found.append(Submission(_name(entry), entry))
    taken: set[str] = set(RESERVED)
    unique = []
    for s in found:
        name, n = s.name, 1
        while name.lower() in taken:
            n += 1
            name = f"{s.name}-{n}"
        taken.add(name.lower())
        unique.append(Submission(name, s.source))
    return unique, errors


# names of the grader's own files in the output folder, which no submission may take
RESERVED = ("grades.csv", "junit.xml")


def _name(path: Path) -> str:
    stem = path.name[:-4] if path.name.lower().endswith(".zip") else path.name
    # A name becomes a folder and a CSV cell: letters, digits and . _ - + @ only, never
    # starting with what a spreadsheet reads as a formula (= + - @) or a dot.
    return re.sub(r"[^\w.@+-]+", "_", stem).lstrip("=+-@._").rstrip("._") or "submission"


def prepare(sub: Submission, dest: Path, course: Course) -> Path:
    """Copy or unpack `sub` into the empty folder `dest` and return the folder that holds its
    module folders. Raises SubmissionError (one line) when it cannot be graded."""
    src = sub.source
    if not src.exists() and not src.is_symlink():
        raise SubmissionError("no such file or folder")
    if src.is_symlink():
        raise SubmissionError("is a symbolic link; pass the real folder or zip")
    if src.is_dir():
        try:
            _copy_tree(src, dest)
        except (OSError, RuntimeError) as exc:   # a link loop, an unreadable file
            raise SubmissionError(f"could not be copied ({getattr(exc, 'strerror', None) or exc})") from None
    elif src.is_file() and zipfile.is_zipfile(src):
        _unzip(src, dest)
    elif src.is_file() and src.suffix.lower() == ".zip":
        raise SubmissionError("is not a readable zip file (corrupt or truncated)")
    else:
        raise SubmissionError("is neither a folder nor a .zip")
    return _module_root(dest, course)


def _copy_tree(src: Path, dest: Path) -> None:
    count = size = 0
    root = src.resolve()
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP)
        rel = Path(dirpath).relative_to(src)
        (dest / rel).mkdir(parents=True, exist_ok=True)
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            if path.is_symlink():
                target = path.resolve()
                if root != target and root not in target.parents:
                    raise SubmissionError(f"{rel / name} is a link that points outside the submission")
        for name in sorted(filenames):
            if name in SKIP:
                continue
            path = Path(dirpath) / name
            st = path.stat()
            if not stat.S_ISREG(st.st_mode):
                continue   # sockets, fifos, devices: not code
            count += 1
            size += st.st_size
            if count > MAX_FILES or size > MAX_BYTES:
                raise SubmissionError(f"is too large (more than {MAX_FILES} files or {MAX_BYTES // 2**20} MiB)")
            shutil.copyfile(path, dest / rel / name)
            os.chmod(dest / rel / name, 0o644)
    _open_folders(dest)


def _unzip(src: Path, dest: Path) -> None:
    try:
        with zipfile.ZipFile(src) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_FILES:
                raise SubmissionError(f"has more than {MAX_FILES} entries")
            if sum(i.file_size for i in infos) > MAX_BYTES:
                raise SubmissionError(f"unpacks to more than {MAX_BYTES // 2**20} MiB")
            for info in infos:
                name = info.filename.replace("\\", "/")
                pure = PurePosixPath(name)
                if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in pure.parts:
                    raise SubmissionError(f"zip entry {info.filename!r} escapes its folder")
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise SubmissionError(f"zip entry {info.filename!r} is a link; links are not accepted")
                if any(part in SKIP for part in pure.parts):
                    continue
                target = dest.joinpath(*pure.parts)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as fin, open(target, "wb") as fout:
                    shutil.copyfileobj(fin, fout)
                os.chmod(target, 0o644)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, ValueError) as exc:
        raise SubmissionError(f"is not a readable zip file ({exc})") from None
    except OSError as exc:
        raise SubmissionError(f"could not be unpacked ({exc.strerror or exc})") from None
    _open_folders(dest)


def _open_folders(dest: Path) -> None:
    for dirpath, dirnames, _ in os.walk(dest):
        for d in dirnames:
            os.chmod(os.path.join(dirpath, d), 0o755)


def _module_root(dest: Path, course: Course) -> Path:
    """The folder holding module folders: the copy itself, or the one folder it wraps (a zip
    of ``exercises/`` or of ``alice/``)."""
    ids = {m.id for m in course.modules}
    here = dest
    for _ in range(3):
        names = {p.name for p in here.iterdir() if p.is_dir()}
        if names & ids:
            return here
        entries = [p for p in here.iterdir() if p.name not in SKIP]
        if len(entries) == 1 and entries[0].is_dir():
            here = entries[0]
            continue
        break
    expected = ", ".join(f"{m.id}/" for m in course.modules[:2])
    raise SubmissionError(f"wrong layout: no module folder found (expected folders such as {expected}, like exercises/)")
