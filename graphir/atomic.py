"""Atomic file output: write to a temporary file beside the target, then move it in place.

:func:`atomic_output` guarantees (``specs/security.md``):

* a failure (an exception inside the ``with`` block) removes the temporary file and
  leaves any previous file at the target untouched;
* the new file is flushed to disk (``fsync``) before it replaces the old one, and the
  folder after it, so a crash never leaves a renamed but empty file;
* a destination that cannot be written (missing or read-only folder, a directory,
  a full disk) is an :class:`~graphir.errors.OutputPathError` naming it;
* :func:`atomic_write` (for writers that take a file object: ``.gir`` and ``.onnx``)
  writes into an unnamed file (Linux ``O_TMPFILE``) and gives it a name only once it
  is complete and flushed (``linkat`` then ``rename``): a process killed with ``kill -9``
  mid-write leaves nothing visible;
* elsewhere (:func:`atomic_output`, for writers that need a path, such as Keras;
  platforms without ``O_TMPFILE``) temporary files are named
  ``.<name>.graphir-<pid>-<random>.tmp<suffix>``; a process killed with ``kill -9``
  cannot remove its own, so every later write to the same folder first removes those of
  processes that no longer run (:func:`sweep_stale_temps`).  A process id reused by a
  live process defers the sweep of its files to a later write.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from graphir.errors import OutputPathError

__all__ = ["atomic_output", "atomic_write", "output_folder", "sweep_stale_temps",
           "temp_prefix", "typed_io_failures"]

_STALE = re.compile(r"\..+\.graphir-(\d+)-[A-Za-z0-9_]{8}(\.tmp.*)?")
#: errno values that mean "this destination cannot take the file"
_IO_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EACCES,
              errno.EPERM, errno.EISDIR, errno.ENOTDIR, errno.ENOENT}
_IO_MESSAGES = tuple(os.strerror(n) for n in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT,
                                                errno.EROFS))


def temp_prefix(target: Path) -> str:
    """The name prefix of this process's temporary files for ``target``:
    ``.<name>.graphir-<pid>-`` (:func:`sweep_stale_temps` recognizes it)."""
    return f".{target.name}.graphir-{os.getpid()}-"


def output_folder(target: str | os.PathLike) -> Path:
    """``target``'s folder, checked to be an existing folder and ``target`` not a folder.

    Raises:
        OutputPathError: the folder is missing or not a folder, or ``target`` is a folder.
    """
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.exists():
        raise OutputPathError(str(target), f"the output folder {str(folder)!r} does not exist")
    if not folder.is_dir():
        raise OutputPathError(str(target), f"{str(folder)!r} is not a folder")
    if target.is_dir():
        raise OutputPathError(str(target), "the destination is a directory")
    return folder


def sweep_stale_temps(folder: Path) -> list[str]:
    """Remove the temporary files and folders graphir processes that no longer run left
    in ``folder`` (named as :func:`temp_prefix` makes them); return their names.

    Never raises: a file that cannot be removed stays for a later sweep."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        found = _STALE.fullmatch(entry.name)
        if not found or _alive(int(found.group(1))):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed.append(entry.name)
        except OSError:
            continue
    return removed


def _alive(pid: int) -> bool:
    """True when process ``pid`` exists on this machine (signal 0 probes it)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


def _io_failure(e: BaseException) -> OSError | None:
    """The OSError behind ``e`` (itself, its cause or context), or None.  A writer that
    wraps the OS error in its own type (safetensors) is recognized by the message."""
    seen = 0
    while e is not None and seen < 10:
        if isinstance(e, OSError) and not isinstance(e, OutputPathError):
            return e
        if any(m in str(e) for m in _IO_MESSAGES):
            return OSError(str(e))
        e = e.__cause__ or e.__context__
        seen += 1
    return None


@contextlib.contextmanager
def typed_io_failures(target: Path) -> Iterator[None]:
    """Inside the block, an I/O failure (an ``OSError``, or a writer's error caused by
    one) becomes an :class:`OutputPathError` naming ``target``; other exceptions pass
    unchanged."""
    try:
        yield
    except OutputPathError:
        raise
    except Exception as e:  # re-raised: typed when it is an I/O failure
        cause = _io_failure(e)
        if cause is None:
            raise
        raise OutputPathError(str(target), f"writing failed: {cause.strerror or cause}") from e


def _cannot_write(target: Path, folder: Path, e: OSError) -> OutputPathError:
    return OutputPathError(str(target), f"cannot write in folder {str(folder)!r}: "
                           f"{e.strerror or e}")


@contextlib.contextmanager
def atomic_output(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in ``target``'s folder; on success move it to ``target``.

    The temporary name keeps ``target``'s suffix (some writers, e.g. Keras, insist on it).
    ``os.replace`` is atomic on POSIX and Windows within one file system.

    Raises:
        OutputPathError: the folder is missing or read-only, ``target`` is a directory,
            or writing failed for lack of space or rights (the message says which; the
            previous file is intact and the temporary file removed).  Other exceptions
            of the ``with`` block propagate unchanged, after the same clean-up.
    """
    target = Path(target)
    folder = output_folder(target)
    sweep_stale_temps(folder)
    try:
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(target), suffix=f".tmp{target.suffix}",
                                   dir=folder)
    except OSError as e:
        raise _cannot_write(target, folder, e) from None
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.unlink()  # let writers create it themselves (some refuse to overwrite)
    try:
        with typed_io_failures(target):
            yield tmp_path
            if not tmp_path.exists():
                raise FileNotFoundError(f"the writer produced no file for {str(target)!r}")
            _fsync(tmp_path)
            os.replace(tmp_path, target)
            _fsync(folder)
    finally:
        if tmp_path.is_dir():
            shutil.rmtree(tmp_path, ignore_errors=True)
        elif tmp_path.exists():
            tmp_path.unlink()


def atomic_write(target: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(f)`` with a binary file ``f`` whose content becomes ``target``, atomically.

    Where Linux offers ``O_TMPFILE`` (and ``/proc``), ``f`` is an unnamed file in
    ``target``'s folder: no name exists until the content is complete and ``fsync``ed,
    then it is linked under a temporary name and renamed over ``target`` at once, so a
    ``kill -9`` at any time before leaves nothing behind.  Elsewhere this falls back to
    :func:`atomic_output`.

    Returns:
        ``target`` as a :class:`~pathlib.Path`.

    Raises:
        OutputPathError: as :func:`atomic_output`.  Other exceptions of ``write``
            propagate unchanged; the previous file at ``target`` is intact either way.
    """
    target = Path(target)
    folder = output_folder(target)
    sweep_stale_temps(folder)
    try:
        fd = os.open(folder, os.O_TMPFILE | os.O_RDWR, 0o666)
    except AttributeError:  # no O_TMPFILE on this platform
        fd = None
    except OSError as e:
        if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT):
            raise _cannot_write(target, folder, e) from None
        fd = None  # the file system has no O_TMPFILE (EOPNOTSUPP, EISDIR, EINVAL...)
    if fd is None:
        with atomic_output(target) as tmp, open(tmp, "wb") as f:
            write(f)
        return target
    try:
        with typed_io_failures(target):
            with os.fdopen(os.dup(fd), "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
            _publish(fd, folder, target)
    finally:
        os.close(fd)
    return target


def _publish(fd: int, folder: Path, target: Path) -> None:
    """Give the unnamed file ``fd`` the name ``target`` (``linkat`` + ``rename``); where
    ``/proc`` is missing, copy it through :func:`atomic_output` instead.  Raises the
    ``OSError`` of a failed link or rename (the caller types it)."""
    name = f"{temp_prefix(target)}{secrets.token_hex(4)}.tmp{target.suffix}"
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=dir_fd, follow_symlinks=True)
        except FileNotFoundError:  # no /proc: copy the content the classic way
            os.lseek(fd, 0, os.SEEK_SET)
            with atomic_output(target) as tmp, open(tmp, "wb") as out, \
                    os.fdopen(os.dup(fd), "rb") as src:
                shutil.copyfileobj(src, out)
            return
        try:
            os.replace(name, target.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=dir_fd)
            raise
        with contextlib.suppress(OSError):  # some file systems cannot fsync a folder
            os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _fsync(path: Path) -> None:
    """Flush ``path`` (a file or a folder) to disk; folders where the OS refuses are skipped."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as e:
        if not path.is_dir():
            raise
        del e  # some file systems cannot fsync a folder: the rename is still atomic
    finally:
        os.close(fd)
