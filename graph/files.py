"""Files only their owner can read: the data directory, the audit trail, secrets.

The data directory holds people's records (the embedded graph, load reports, the
quarantine, the audit trail, accounts), so it is 0700 and its files 0600 whoever
writes them: the command line and the app set :data:`PRIVATE_UMASK` at start, and the
few files written here are created 0600 whatever the umask.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

PRIVATE_UMASK = 0o077


def private_umask() -> None:
    """Make every file and directory this process (and its children, such as the
    embedded engine's server) creates readable by its owner only."""
    os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """``path`` as a directory only its owner can enter (created if missing)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o077 and path.stat().st_uid == os.geteuid():
        path.chmod(0o700)
    return path


def write_private(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Replace ``path`` atomically with ``data`` (or its pieces, each written as it is
    made), mode 0600, durable once this returns (the file and its directory entry are
    both fsync'd)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:  # mkstemp creates it 0600
            for piece in (data,) if isinstance(data, bytes) else data:
                fh.write(piece)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    """Make the directory's entries (a new or renamed file) durable."""
    directory = os.open(path, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created 0600 if missing) while the block
    runs: it excludes other processes and, each call opening the file anew, other
    threads of this one."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
