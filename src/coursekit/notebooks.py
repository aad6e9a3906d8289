"""Re-run lesson notebooks top to bottom and store their outputs (``make notebooks``).

Usage: python -m coursekit.notebooks notebooks/01_processes_threads.ipynb [...]

Each notebook runs in a fresh python3 kernel with notebooks/ as its working directory, as
nbval will run it in CI, so that the stored outputs come from one clean run (execution
counts 1..N). A notebook that fails keeps its old file: nothing is written.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbclient
import nbformat

from .build import write_atomic


def execute(path: Path, timeout: int = 900) -> None:
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    write_atomic(path, nbformat.writes(nb) + "\n")


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m coursekit.notebooks NOTEBOOK.ipynb ...", file=sys.stderr)
        return 2
    status = 0
    for name in argv:
        path = Path(name)
        try:
            execute(path)
            print(f"ran {path}")
        except (OSError, nbformat.ValidationError, nbclient.exceptions.CellExecutionError,
                nbclient.exceptions.DeadKernelError, TimeoutError) as exc:
            first = str(exc).strip().splitlines()
            print(f"coursekit notebooks: error: {path}: {type(exc).__name__}: {first[-1] if first else ''}",
                  file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
