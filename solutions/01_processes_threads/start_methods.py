"""Task 01.2: predict multiprocessing's start methods (启动方式) on any platform and version.

A start method is how multiprocessing makes a worker process:
  "fork"        os.fork(): the child is a copy of the parent (fast, but unsafe once the
                parent runs threads: a lock held by another thread stays locked forever);
  "spawn"       a fresh interpreter that imports your module again (slow, always safe);
  "forkserver"  a clean server process started early forks the workers (a middle way;
                needs file descriptors passed over Unix sockets).
The defaults moved over the years; the source of truth is
Lib/multiprocessing/context.py (DefaultContext.get_all_start_methods and the choice of
_default_context) of each CPython version.
"""


def all_start_methods(platform: str, version: tuple[int, int]) -> list[str]:
    """Return what multiprocessing.get_all_start_methods() returns on `platform` (a value of
    sys.platform: "linux", "darwin", "win32", "freebsd14", ...) under CPython `version`
    (major, minor): every start method available there, the default first.

    - Windows ("win32") has only "spawn".
    - macOS ("darwin") has defaulted to "spawn" since 3.8 (bpo-33725): ["spawn", "fork", "forkserver"].
    - Every other platform (Linux and the BSDs) defaulted to "fork" up to 3.13:
      ["fork", "spawn", "forkserver"]; 3.14 made "forkserver" the default (gh-84559):
      ["forkserver", "fork", "spawn"].
    - Versions before 3.8 are outside this model: raise ValueError.

    >>> all_start_methods("win32", (3, 12))
    ['spawn']
    """
    ### BEGIN SOLUTION 01.2
    if tuple(version) < (3, 8):
        raise ValueError(f"this model covers Python 3.8 and later, not {version[0]}.{version[1]}")
    if platform == "win32":
        return ["spawn"]
    if platform == "darwin":
        return ["spawn", "fork", "forkserver"]
    if tuple(version) >= (3, 14):
        return ["forkserver", "fork", "spawn"]
    return ["fork", "spawn", "forkserver"]
    ### END SOLUTION


def default_start_method(platform: str, version: tuple[int, int]) -> str:
    """Return the start method multiprocessing uses on `platform` under `version` when the
    program does not choose one (what multiprocessing.get_start_method() returns there).

    >>> default_start_method("linux", (3, 13))
    'fork'
    """
    ### BEGIN SOLUTION 01.2
    return all_start_methods(platform, version)[0]
    ### END SOLUTION
