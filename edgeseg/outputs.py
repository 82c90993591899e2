"""All-or-nothing output files and folders.

Every output is written under a temporary name in its own folder (`.NAME.edgeseg-PID-XXXX.tmp`,
created exclusively, so it is never the input or any existing file) and moved onto its final
name in one rename when it is complete. On a failure the temporary file is deleted and the final
name keeps what it held. An interrupted `process` run keeps the frames done under a free name
that says so (`NAME.partial.EXT`). Temporary files left by a killed run (its PID is gone) are
deleted the next time the same output is written.
"""
from __future__ import annotations

import errno
import os
import re
import shutil
import signal
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

from .errors import OutputError

TMP_TAG = ".edgeseg-"
MIN_FREE_BYTES = 20 * 1024 * 1024
_TMP_RE = re.compile(re.escape(TMP_TAG) + r"(\d+)-[^.]+\.tmp$")


class Interrupted(OutputError):
    """A run stopped by Ctrl-C or SIGTERM; the message says what the output holds and what was kept."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C so that outputs are finalized or removed."""


def interruption(exc: BaseException) -> str:
    return "SIGTERM" if isinstance(exc, Terminated) else "Ctrl-C"


@contextmanager
def sigterm_as_interrupt():
    """Within the block, SIGTERM raises `Terminated` (a KeyboardInterrupt) in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Terminated()

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return "the disk is full"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def check_writable(path: Path, is_dir: bool = False) -> None:
    """Fail before any work if `path` cannot be written or its disk is (nearly) full.

    Raises:
        OutputError: the folder is missing or read-only, `path` is a folder where a file is
            expected, or the disk has less than 20 MB free.
    """
    path = Path(path).expanduser()
    folder = path if is_dir else path.parent
    folder = folder if str(folder) else Path(".")
    if is_dir:
        if path.exists() and not path.is_dir():
            raise OutputError(f"output {path} is a file, not a folder; choose another -o")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create output folder {folder}: {_os_reason(exc)}; choose another -o") from None
    elif path.is_dir():
        raise OutputError(f"output {path} is a folder; give a file name")
    if not folder.is_dir():
        raise OutputError(f"output folder {folder} does not exist; create it or choose another -o")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"output folder {folder} is not writable; choose another -o")
    if shutil.disk_usage(folder).free < MIN_FREE_BYTES:
        raise OutputError(f"output disk for {folder} is full (< 20 MB free); free space or choose another -o")


def check_not_input(path: Path, inputs=()) -> None:
    """Raises OutputError when `path` is one of the inputs (the input is never overwritten)."""
    target = Path(path).expanduser().resolve()
    for src in inputs:
        src = Path(src)
        if src.exists() and src.resolve() == target:
            raise OutputError(f"output {path} is the input file; choose another -o (the input is never overwritten)")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(final: Path) -> list[Path]:
    """Delete the temporary files and folders of `final` left by runs that no longer exist."""
    removed = []
    prefix = "." + final.name + TMP_TAG
    try:
        entries = list(final.parent.iterdir())
    except OSError:
        return removed
    for p in entries:
        m = _TMP_RE.search(p.name)
        if not p.name.startswith(prefix) or not m or _pid_alive(int(m.group(1))):
            continue
        try:
            shutil.rmtree(p) if p.is_dir() else p.unlink()
            removed.append(p)
        except OSError:
            pass
    return removed


def free_partial_name(final: Path) -> Path:
    """NAME.partial.EXT, or NAME.partial-2.EXT, ... : the first name that does not exist."""
    i = 1
    while True:
        tag = ".partial" if i == 1 else f".partial-{i}"
        cand = final.with_name(final.stem + tag + final.suffix)
        if not cand.exists():
            return cand
        i += 1


def _default_mode() -> int:
    """0o666 less the umask: the mode a plain open() would give a new file (mkstemp gives 0o600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class CheckedFile:
    """A binary file whose every write is checked (a short or failed write raises OSError).

    Encoders write through it, so a full disk surfaces at the write that failed.
    """

    def __init__(self, path: Path):
        self._f = open(path, "r+b")
        self.bytes = 0

    def write(self, data) -> int:
        n = self._f.write(data)
        if n != len(data):
            raise OSError(errno.ENOSPC, "short write")
        self.bytes += n
        return n

    def seek(self, *args):
        return self._f.seek(*args)

    def tell(self):
        return self._f.tell()

    def read(self, n=-1):
        return self._f.read(n)

    def flush(self):
        self._f.flush()

    def close(self) -> None:
        if not self._f.closed:
            try:
                self._f.flush()
                os.fsync(self._f.fileno())
            finally:
                self._f.close()


class AtomicOutput:
    """A file under construction: write to `.tmp`, then `commit()`, `keep_partial()` or `abort()`.

    Raises (at construction):
        OutputError: `final` is an input, or cannot be written.
    """

    def __init__(self, final: str | Path, inputs=()):
        self.final = Path(final).expanduser()
        check_not_input(self.final, inputs)
        check_writable(self.final)
        clean_stale(self.final)
        folder = self.final.parent if str(self.final.parent) else Path(".")
        try:
            fd, tmp = tempfile.mkstemp(prefix="." + self.final.name + TMP_TAG + f"{os.getpid()}-",
                                       suffix=".tmp", dir=folder)
        except OSError as exc:
            raise OutputError(f"cannot write {self.final}: {_os_reason(exc)}; choose another -o") from None
        os.close(fd)
        self.tmp = Path(tmp)
        self.existed = self.final.exists()
        os.chmod(self.tmp, self.final.stat().st_mode & 0o7777 if self.existed else _default_mode())

    def open(self) -> CheckedFile:
        return CheckedFile(self.tmp)

    def kept(self) -> str:
        return f"{self.final} keeps what it held" if self.existed else f"{self.final} was not created"

    def commit(self) -> Path:
        """Replace the final name with the finished file, atomically."""
        _fsync(self.tmp)
        os.replace(self.tmp, self.final)
        return self.final

    def keep_partial(self) -> Path:
        """Move the (finalized) temporary file to a free NAME.partial.EXT and return that name."""
        while True:
            cand = free_partial_name(self.final)
            try:
                os.link(self.tmp, cand)           # fails if cand appeared meanwhile: never clobbers
            except FileExistsError:
                continue
            except OSError:                       # no hard links here: rename (cand was free a moment ago)
                os.replace(self.tmp, cand)
                return cand
            self.tmp.unlink()
            return cand

    def abort(self) -> None:
        try:
            self.tmp.unlink(missing_ok=True)
        except OSError:
            pass

    def failed(self, what: str, exc: BaseException) -> OutputError:
        """Delete the temporary file; an OutputError saying what happened and what the final name holds."""
        self.abort()
        return OutputError(f"writing {self.final} failed{' ' + what if what else ''}: {_os_reason(exc)}; "
                           f"{self.kept()}. Free space or choose another -o, then run again")


def write_bytes_atomic(path: str | Path, data: bytes, inputs=()) -> Path:
    """Write `data` to `path` all-or-nothing.

    Raises:
        OutputError: it cannot be written (the final name keeps what it held).
    """
    out = AtomicOutput(path, inputs)
    try:
        f = out.open()
        try:
            f.write(data)
        finally:
            f.close()
        return out.commit()
    except BaseException as exc:
        err = out.failed("", exc)
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise err from None


def write_text_atomic(path: str | Path, text: str) -> Path:
    """`write_bytes_atomic` for UTF-8 text (stats JSON, eval JSON, CSV)."""
    return write_bytes_atomic(path, text.encode("utf-8"))


class AtomicFolder:
    """A folder of frames under construction (a PNG sequence), moved into place when complete.

    The final folder may be new, empty, or hold only a previous sequence (files named like
    000000.png); anything else in it is refused before any work, so no user file is lost.

    Raises (at construction):
        OutputError: the folder holds other files or cannot be written.
    """
    SEQ_RE = re.compile(r"^\d{6}\.png$")

    def __init__(self, final: str | Path):
        self.final = Path(final).expanduser()
        self.check(self.final)
        clean_stale(self.final)
        self.existed = self.final.exists() and any(self.final.iterdir())
        self.tmp = Path(tempfile.mkdtemp(prefix="." + self.final.name + TMP_TAG + f"{os.getpid()}-",
                                         suffix=".tmp", dir=self.final.parent))

    @classmethod
    def check(cls, final: Path) -> None:
        """The checks made before any work (OutputError: see the class)."""
        final = Path(final).expanduser()
        check_writable(final.parent if str(final.parent) else Path("."), is_dir=True)
        if final.exists():
            if not final.is_dir():
                raise OutputError(f"output {final} is a file, not a folder; choose another -o")
            others = [p.name for p in final.iterdir() if not cls.SEQ_RE.match(p.name)]
            if others:
                raise OutputError(f"output folder {final} holds other files ({', '.join(sorted(others)[:3])}"
                                  f"{', ...' if len(others) > 3 else ''}); choose a new or empty folder")

    def kept(self) -> str:
        return f"{self.final} keeps what it held" if self.existed else f"{self.final} was not created"

    def commit(self) -> Path:
        if self.final.exists() and any(self.final.iterdir()):
            old = Path(tempfile.mkdtemp(prefix="." + self.final.name + TMP_TAG + f"{os.getpid()}-",
                                        suffix=".tmp", dir=self.final.parent))
            os.replace(self.final, old)           # rename over the empty placeholder
            os.replace(self.tmp, self.final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self.tmp, self.final)      # new, or over an empty folder
        return self.final

    def keep_partial(self) -> Path:
        cand = free_partial_name(self.final)
        os.rename(self.tmp, cand)
        return cand

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def failed(self, what: str, exc: BaseException) -> OutputError:
        self.abort()
        return OutputError(f"writing {self.final} failed{' ' + what if what else ''}: {_os_reason(exc)}; "
                           f"{self.kept()}. Free space or choose another -o, then run again")
