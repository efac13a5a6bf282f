"""RunLock: one writer per run directory, held through ``run.lock`` (pid, host, start time).

The lock is an operating-system lock on an open ``run.lock`` file (``fcntl.flock`` on Linux and
macOS, ``msvcrt.locking`` on Windows): the system releases it when its process ends, however
it ends, so a killed run never leaves a lock that blocks the next one. The file's content
(JSON ``{"pid", "host", "started"}``) is what the refusal of a second writer quotes. A lock file
left by a process that is gone is taken over, and the temporary files such a process left in
the run directory are removed (:func:`~idckit.training._atomic.remove_stale_temporaries`).

On a network file system the lock holds only as far as that file system implements
``flock`` (NFSv4 and SMB do; some FUSE mounts do not).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import socket
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

from idckit.training._atomic import remove_stale_temporaries

LOCK_NAME = "run.lock"
_WINDOWS_LOCK_OFFSET = 1 << 20


def _try_lock(fd: int) -> bool:
    """Take the exclusive lock on ``fd`` without waiting; False when another process holds it."""
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        # Lock one byte far past the content, so that others can still read who holds it.
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        finally:
            os.lseek(fd, 0, os.SEEK_SET)
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (BlockingIOError, PermissionError):
        return False
    return True


def _holder(path: Path) -> dict[str, Any]:
    """Return what the lock file says about its holder (empty when nothing readable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8")[:4096])
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _describe(holder: dict[str, Any]) -> str:
    pid, host = holder.get("pid", "unknown"), holder.get("host", "unknown")
    started = holder.get("started")
    return f"pid {pid} on host {host!s}" + (f", started {started}" if started else "")


class RunLock:
    """Hold the exclusive lock of a run directory (a context manager; re-entrant per object).

    Parameters
    ----------
    path
        The run directory (created when missing).
    owner
        Who asks, for the refusal's message (``"KFoldTrainer"``).

    Attributes
    ----------
    stale : dict
        What the lock file said when a stale lock (of a process that is gone) was taken over;
        empty otherwise.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with RunLock(folder) as lock:
    ...     RunLock(folder).acquire()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Invalid `out_dir` for KFoldTrainer: expected a run directory that no other ...
    >>> RunLock(folder).acquire().release()  # free again once released
    """

    def __init__(self, path: os.PathLike[str] | str, owner: str = "KFoldTrainer") -> None:
        self.path = Path(path)
        self.owner = owner
        self.stale: dict[str, Any] = {}
        self._fd: int | None = None

    @property
    def lock_path(self) -> Path:
        """``run.lock`` in the run directory."""
        return self.path / LOCK_NAME

    def acquire(self) -> RunLock:
        """Take the lock, or raise ``ValueError`` naming the holder's pid and host."""
        if self._fd is not None:
            return self
        self.path.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            if not _try_lock(fd):
                os.close(fd)
                raise self._refusal(_holder(self.lock_path))
            # The holder before us may have removed the file after we opened it: then we hold
            # the lock of a name nobody else sees, and must lock the file now at that name.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.lock_path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        self._fd = fd
        self.stale = _holder(self.lock_path)
        self._write_holder(fd)
        for folder in (self.path, *sorted(self.path.glob("fold_*"))):
            if folder.is_dir():
                remove_stale_temporaries(folder)
        return self

    def _refusal(self, holder: dict[str, Any]) -> ValueError:
        from idckit._errors import invalid_argument

        return invalid_argument(
            "out_dir", self.owner,
            f"a run directory that no other process is writing; {self.lock_path} is held by "
            f"{_describe(holder)}",
            str(self.path),
            "Wait for that run to end (or stop it), or train into another directory.",
        )  # fmt: skip

    def _write_holder(self, fd: int) -> None:
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        data = (json.dumps(holder) + "\n").encode()
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, data)
        os.fsync(fd)

    def release(self) -> None:
        """Release the lock and remove ``run.lock`` (nothing happens when it is not held)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        if sys.platform == "win32":  # pragma: no cover - an open file cannot be removed there
            os.close(fd)
            # another process may have opened it to take the lock: it rewrites the content
            with contextlib.suppress(PermissionError):
                self.lock_path.unlink(missing_ok=True)
            return
        try:
            self.lock_path.unlink(missing_ok=True)  # while still locked (see acquire)
        finally:
            os.close(fd)  # closing releases the lock

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
