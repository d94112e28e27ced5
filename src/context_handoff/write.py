"""The last stage: text -> files, atomically, and several files together.

Each file is first written to a temporary file beside its target, flushed to disk;
only when every one is ready are they renamed over their targets, back to back,
with SIGINT/SIGTERM/SIGHUP held off and, on POSIX, the target folders locked so
that two runs writing the same files take turns. A rename that fails puts back the
files already replaced (from hard-link backups), so a payload and its report are
replaced together or not at all. A reader sees the old files or the new ones, never
half of either, and a run that fails before the renames leaves the last good files
untouched.

A replaced file keeps its mode; a new one gets the usual mode under the umask (as
``open`` would give it), not mkstemp's 0600. Temporary files carry the writer's pid:
one left behind by a killed run is removed by the next run that writes the same file.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import tempfile
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path

from .errors import InputError

try:
    import fcntl
except ImportError:  # Windows: no folder locks; the renames stay atomic one by one
    fcntl = None  # type: ignore[assignment]

_HELD_SIGNALS = {
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
}


def write_atomically(path: str | Path, text: str) -> Path:
    """Replace ``path`` with ``text`` (UTF-8) in one step; return the path."""
    return write_together([(Path(path), text)])[0]


def write_together(files: Sequence[tuple[Path, str]]) -> list[Path]:
    """Replace every ``(path, text)`` file, all of them or none; return the paths."""
    staged: list[tuple[Path, str]] = []
    try:
        for path, text in files:
            staged.append((path, _stage(path, text)))
        with _folders_locked({path.parent for path, _ in staged}), _signals_held():
            _replace_all(staged)
    finally:
        for _, tmp in staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return [path for path, _ in staged]


def check_writable(path: Path, *, append: bool = False) -> None:
    """InputError (exit 2) now, rather than after the payload is written, when ``path``
    cannot be replaced (or, with ``append``, appended to)."""
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a file")
    if append and path.exists():
        if not os.access(path, os.W_OK):
            raise InputError(f"{path}: cannot write: permission denied")
        return
    folder = path.parent
    probe = folder
    while not append and not probe.exists() and probe != probe.parent:
        probe = probe.parent  # a folder that does not exist yet is created
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f"{path}: cannot write here: {folder} is not a writable folder")


def check_destinations(
    files: Mapping[str, Path | None],
    *,
    appended: Collection[str] = (),
    inputs: Mapping[str, Path] | None = None,
) -> None:
    """Before any work: every file to write is writable, none is another or an input.

    ``files`` maps an option's name (``--output``) to its path; ``appended`` names the
    ones appended to rather than replaced (``--github-output``); ``inputs`` maps what an
    input is ("the state file") to its path."""
    seen = {_identity(path): what for what, path in (inputs or {}).items()}
    for option, path in files.items():
        if path is None:
            continue
        key = _identity(path)
        if key in seen:
            raise InputError(f"{option} {path} is also {seen[key]}: give each output its own file")
        seen[key] = f"the file of {option}"
        check_writable(path, append=option in appended)


def _identity(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: compare as written
        return path.absolute()


def _stage(path: Path, text: str) -> str:
    """A temporary file beside ``path`` holding ``text``, on disk, with the right mode."""
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _remove_orphans(path)
        fd, tmp = tempfile.mkstemp(prefix=_tmp_prefix(path), suffix=".tmp", dir=directory)
    except OSError as exc:
        raise InputError(f"{path}: cannot write here: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _mode_for(path))
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
        if isinstance(exc, UnicodeEncodeError):  # a lone surrogate that got this far
            raise InputError(f"{path}: the text cannot be written as UTF-8: {exc.reason}") from None
        raise
    return tmp


def _replace_all(staged: list[tuple[Path, str]]) -> None:
    backups: list[str | None] = []  # of each target, once it is about to be replaced
    try:
        for path, tmp in staged:
            backups.append(_backup(path) if len(staged) > 1 else None)
            os.replace(tmp, path)
    except OSError as exc:
        failed = len(backups) - 1
        replaced = zip(staged[:failed], backups[:failed], strict=True)
        for (path, _), backup in reversed(list(replaced)):
            with contextlib.suppress(OSError):  # put back what was replaced
                if backup is None:
                    path.unlink()
                else:
                    os.replace(backup, path)
        raise InputError(
            f"{staged[failed][0]}: cannot write: {exc.strerror or exc}; no file was changed"
        ) from None
    finally:
        for backup in backups:
            if backup is not None:
                with contextlib.suppress(OSError):
                    os.unlink(backup)
    for directory in {path.parent for path, _ in staged}:
        _sync_folder(directory)


def _backup(path: Path) -> str | None:
    """A hard link to the current file, to put it back if a later rename fails."""
    if not path.exists():
        return None
    name = f"{_tmp_prefix(path)}{os.urandom(4).hex()}.bak"
    backup = str(path.parent / name)
    try:
        os.link(path, backup)
    except OSError:  # a filesystem without hard links: no way back, but still atomic
        return None
    return backup


def _tmp_prefix(path: Path) -> str:
    return f".{path.name}.{os.getpid()}."


def _remove_orphans(path: Path) -> None:
    """Temporary files of this target left by writers that no longer run."""
    head = f".{path.name}."
    for entry in path.parent.glob(f".{_glob_escape(path.name)}.*"):
        pid_text = entry.name[len(head) :].split(".", 1)[0]
        if not pid_text.isdigit() or not entry.name.endswith((".tmp", ".bak")):
            continue
        if int(pid_text) != os.getpid() and not _running(int(pid_text)):
            with contextlib.suppress(OSError):
                entry.unlink()


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True  # someone else's process, or no way to tell: leave its files alone
    return True


def _mode_for(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    try:  # Linux says it without changing it (changing it is not thread-safe)
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def _folders_locked(folders: set[Path]) -> Iterator[None]:
    """An exclusive lock on each folder (sorted, so two writers never deadlock; each
    folder once, however it is spelled: a second lock on it would wait for the first)."""
    fds: list[int] = []
    try:
        if fcntl is not None:
            for folder in sorted({str(f.resolve()) for f in folders}):
                try:
                    fd = os.open(folder, os.O_RDONLY)
                except OSError:
                    continue
                fds.append(fd)
                with contextlib.suppress(OSError):  # a filesystem without locks
                    fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        for fd in fds:
            os.close(fd)  # closing releases the lock


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold off SIGINT/SIGTERM/SIGHUP around the renames (SIGKILL cannot be held)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _sync_folder(directory: Path) -> None:
    """The renames themselves on disk (POSIX; elsewhere a no-op)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
