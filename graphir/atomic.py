"""Atomic file output: write to a temporary file beside the target, then move it in place.

A failure (an exception inside the ``with`` block) removes the temporary file and
leaves any previous file at the target untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_output"]


@contextlib.contextmanager
def atomic_output(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in ``target``'s folder; on success rename it to ``target``.

    The temporary name keeps ``target``'s suffix (some writers, e.g. Keras, insist on it).
    ``os.replace`` is atomic on POSIX and Windows within one file system.

    Raises:
        FileNotFoundError: ``target``'s folder does not exist.
    """
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"output folder {str(folder)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}",
                               dir=folder)
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.unlink()  # let writers create it themselves (some refuse to overwrite)
    try:
        yield tmp_path
        if not tmp_path.exists():
            raise FileNotFoundError(f"the writer produced no file for {str(target)!r}")
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            if tmp_path.is_dir():
                import shutil

                shutil.rmtree(tmp_path, ignore_errors=True)
            else:
                tmp_path.unlink()
