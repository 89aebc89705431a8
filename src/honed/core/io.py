"""Writes that cannot leave a half-written file: write a temporary file in the target's directory, fsync it,
then `os.replace` it over the target (atomic on POSIX and Windows). A crash leaves the old file or the new one.

`staged_directory(target)` does the same for a set of files: they are written into a fresh sibling directory that
is renamed into place when complete.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def atomic_writer(path: Path | str, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temporary sibling of `path` for writing; on success it replaces `path`, on error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp_path = Path(tmp)
    try:
        binary = "b" in mode
        with os.fdopen(fd, mode, encoding=None if binary else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        _keep_mode(path, tmp_path)
        os.replace(tmp_path, path)
        _fsync_dir(path.parent)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path | str, text: str, encoding: str = "utf-8") -> None:
    with atomic_writer(path, "w", encoding) as f:
        f.write(text)


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    with atomic_writer(path, "wb", None) as f:
        f.write(data)


def same_file(a: Path | str, b: Path | str) -> bool:
    """True when `a` and `b` name the same existing file (symlinks and relative paths included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def staging_dir(target: Path) -> Path:
    """A fresh empty directory beside `target` to write a complete set of files into (named after this process,
    so the leftovers of a killed one can be recognised and removed)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphans(target)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-{os.getpid()}-", dir=target.parent))


def _remove_orphans(target: Path) -> None:
    """Staging directories left by processes that no longer run (killed mid-write)."""
    for leftover in target.parent.glob(f".{target.name}.staging-*-*"):
        pid = leftover.name.removeprefix(f".{target.name}.staging-").split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


def publish_dir(staging: Path, target: Path) -> None:
    """Put the complete `staging` directory at `target`, replacing what was there.

    Files of the old directory that the new set does not hold (e.g. a run directory inside it) are carried over.
    On Linux the swap is one atomic `renameat2(RENAME_EXCHANGE)`; elsewhere the old directory is renamed aside
    first, so a crash between the two renames leaves the old set complete under `.<name>.old-*`.
    """
    if not target.exists():
        os.replace(staging, target)
        _fsync_dir(target.parent)
        return
    for child in target.iterdir():  # keep what is not ours to replace
        if not (staging / child.name).exists():
            os.replace(child, staging / child.name)
    if _exchange(staging, target):
        old = staging  # after the swap, `staging` holds the old set
    else:
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        old.rmdir()
        os.replace(target, old)
        os.replace(staging, target)
    _fsync_dir(target.parent)
    shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically with Linux renameat2(RENAME_EXCHANGE); False where that is unavailable."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return result == 0


def _keep_mode(target: Path, tmp: Path) -> None:
    """mkstemp creates 0600 files; a replaced file keeps its mode, a new one gets the usual umask mode."""
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(tmp, mode)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
