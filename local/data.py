"""What `make run` keeps across restarts: its data directory.

`REGISTRY_DATA_DIR` (default `.registry-data/` in the project root) holds:
- `moto-state.pickle`: moto's DynamoDB, S3 and SQS state (the registry's table, the uploaded
  manifests, S3 events not yet ingested), a JSON header line then a pickle;
- `admin-token`: the bootstrap admin token, generated once (unless `REGISTRY_ADMIN_TOKEN` is
  set), so `#token=` links keep working after a restart;
- `hcp-auth-cert.pem`, `hcp-auth-key.pem`: the self-signed certificate of the HTTPS token
  endpoint (`local/hcp_auth.py`), made once, so a client that trusts it keeps trusting it;
- `.lock`: locked by the running `make run` (it holds its process id), so two runners never
  share (and overwrite) one directory and `make reset` never pulls the data from under a
  running one.

The state is written whole, atomically (a temporary file, then a rename), at most once a
second while something changes (`Saver`), and once more on Ctrl-C / SIGTERM after the HTTP
API has stopped: nothing acknowledged to a client is lost by a clean stop, and after a
`kill -9` at most the changes of the last second (plus the time one copy takes) are. Each
copy is taken with moto paused (`RequestGate.paused()`), so it is consistent across the
three services: an object in S3 has either its event still in the queue or its ingestion
record in DynamoDB, and nothing needs re-deriving at start. An event whose ingestion was
under way in the copy is delivered again after a restart (ingestion is idempotent).

`python -m local.data reset [DIR]` (what `make reset` runs) deletes those files and the
directory (unless it holds other files). This module imports only the standard library at
load time, so `make reset` needs no virtualenv.
"""

from __future__ import annotations

import fcntl
import importlib.metadata
import importlib.util
import io
import json
import logging
import os
import pickle
import secrets
import signal
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any, NoReturn

log = logging.getLogger("local.data")

PROJECT_DIR = Path(__file__).resolve().parents[1]
DEFAULT_DIR = PROJECT_DIR / ".registry-data"
SNAPSHOT, TOKEN, LOCK = "moto-state.pickle", "admin-token", ".lock"
CERTIFICATE, CERTIFICATE_KEY = "hcp-auth-cert.pem", "hcp-auth-key.pem"  # local/hcp_auth.py makes them
PARTIAL = ".tmp"  # a file being written, renamed into place once whole
FORMAT = 1
SERVICES = ("dynamodb", "s3", "sqs")
# State moto keeps on a service's BackendDict itself rather than in its backends.
_BACKEND_DICT_STATE = {"s3": ("bucket_accounts",)}
SAVE_EVERY = 1.0  # seconds at least between the starts of two copies
CHECK_EVERY = 0.1  # seconds between looks for changes
MOTO_VERSION = importlib.metadata.version("moto") if importlib.util.find_spec("moto") else "?"
QUIET_WAIT = 2.0  # seconds a copy waits for running requests before trying again later
LOCK_WAIT = 30.0  # seconds a start waits for a copy still being written for a runner that is gone


def data_dir() -> Path:
    """The data directory `REGISTRY_DATA_DIR` names (relative to the working directory), or
    the default."""
    raw = os.environ.get("REGISTRY_DATA_DIR", "")
    return Path(raw).expanduser().resolve() if raw else DEFAULT_DIR


class DataDir:
    """The data directory of one running `make run`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.snapshot = path / SNAPSHOT
        self._held: IO[str] | None = None

    def acquire(self) -> None:
        """Create the directory and hold its lock until the process ends."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self._held = _lock(self.path, f"another `make run` is using {self.path}; stop it first, "
                                          "or set REGISTRY_DATA_DIR to another directory")
            self._held.truncate(0)
            self._held.write(f"{os.getpid()}\n")
            self._held.flush()
        except OSError as exc:
            raise SystemExit(f"cannot use the data directory {self.path}: {exc.strerror or exc}") from None

    def admin_token(self) -> str:
        """The stored bootstrap admin token; one is generated and stored (mode 600) the first time."""
        path = self.path / TOKEN
        if path.exists():
            token = path.read_text().strip()
            if token:
                return token
        token = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(token + "\n")
        return token

    def restore(self) -> dict[str, Any] | None:
        """Put the saved state into moto's backends (before moto serves anything); the
        snapshot's header, or None when there is nothing saved yet."""
        if not self.snapshot.exists():
            return None
        try:
            with self.snapshot.open("rb") as source:
                header = json.loads(source.readline())
                if header.get("format") != FORMAT:
                    raise ValueError(f"unknown format {header.get('format')!r}")
                state = pickle.load(source)
            _install(state)
        except Exception as exc:
            raise SystemExit(
                f"cannot read the saved state in {self.snapshot} ({type(exc).__name__}: {exc}; written by moto "
                f"{_peek_moto_version(self.snapshot)}). `make reset` deletes it, and all the registry held, "
                "to start afresh.") from None
        return header

    def write(self, taken_at: float) -> None:
        """Copy moto's state into the snapshot, atomically: a kill at any moment leaves the old
        one or the new one. `taken_at`: when moto was last seen quiet (the copy's time)."""
        blob = capture()
        header = {"format": FORMAT, "taken_at": taken_at, "moto": MOTO_VERSION, "bytes": len(blob)}
        temporary = self.snapshot.with_name(SNAPSHOT + PARTIAL)
        with temporary.open("wb") as out:
            out.write(json.dumps(header).encode() + b"\n")
            out.write(blob)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.snapshot)


class Saver:
    """Copies moto's state into the data directory: at most every SAVE_EVERY seconds while
    requests change it, and a last time on `final()`.

    A copy of 3,000 versions takes about a second to pickle, and moto must not change while
    it is taken. So each periodic copy is written by a forked child process, which sees moto
    frozen as it was at the fork: moto is paused only for the fork (milliseconds), and the
    child's pickling runs beside it. (S3 objects are kept in memory for this, see
    `prepare_environment()`: a file shared with the child could not be read safely.) At most
    one child runs at a time; the last copy is written in-process, with moto closed."""

    def __init__(self, data: DataDir, gate: Any) -> None:
        self.data, self.gate = data, gate
        self.saved = gate.changes  # what the directory holds now (just restored, or nothing yet)
        self._child: tuple[int, int] | None = None  # (pid, the changes its copy holds)
        self._last_start = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="state-saver", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(CHECK_EVERY):
            try:
                self.save()
            except Exception:
                log.exception("saving the local state failed; trying again")
                self._stop.wait(SAVE_EVERY)

    def save(self) -> bool:
        """Start a copy if anything changed since the last, none is being written and the
        last started SAVE_EVERY s ago or more; True when one was started."""
        if self._child is not None and not self._reap(wait=False):
            return False
        if self.gate.changes == self.saved or time.monotonic() - self._last_start < SAVE_EVERY:
            return False
        with self.gate.paused(timeout=QUIET_WAIT) as quiet:
            if not quiet:
                return False  # a long request (a big upload) is running: next time
            changes, taken_at = self.gate.changes, time.time()
            pid = os.fork()
            if pid == 0:
                _write_and_exit(self.data, taken_at)
        self._child, self._last_start = (pid, changes), time.monotonic()
        return True

    def _reap(self, wait: bool) -> bool:
        """Whether the child writing a copy has ended (its copy counts as saved if it succeeded)."""
        assert self._child is not None
        pid, changes = self._child
        ended, status = os.waitpid(pid, 0 if wait else os.WNOHANG)
        if not ended:
            return False
        self._child = None
        if os.waitstatus_to_exitcode(status) == 0:
            self.saved = changes
        elif not wait:
            log.warning("writing a copy of the local state failed (exit %s); trying again",
                        os.waitstatus_to_exitcode(status))
        return True

    def final(self, timeout: float) -> None:
        """The last copy: moto stays closed afterwards, so nothing it accepts later can be
        acknowledged and then lost. Waits up to `timeout` s for running requests; a copy
        still being written is abandoned (this one supersedes it)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        if self._child is not None:
            os.kill(self._child[0], signal.SIGKILL)
            self._reap(wait=True)
        if not self.gate.close(timeout=timeout):
            log.warning("requests still running after %s s; saving the state as it is", timeout)
        if self.gate.changes == self.saved:
            return
        try:
            self.data.write(time.time())
        except Exception:  # only when a request outlived the wait and changed moto mid-copy
            log.exception("could not copy the last changes; the copy saved before them stays")


def _write_and_exit(data: DataDir, taken_at: float) -> NoReturn:
    """In the forked child: write the copy and end, without touching anything the parent's
    other threads may hold (logging, stdout): errors go straight to file descriptor 2."""
    code = 0
    try:
        data.write(taken_at)
    except BaseException as exc:
        os.write(2, f"local.data: writing a copy of the local state failed: {exc!r}\n".encode())
        code = 1
    os._exit(code)


# ---- moto's state ------------------------------------------------------------------------

class _StatePickler(pickle.Pickler):
    """Locks and conditions (SQS queues hold one) are saved as new, free ones: a copy is
    taken while no request runs, so none is held."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, threading.Condition):
            return threading.Condition, ()
        if isinstance(obj, _RLOCK):
            return threading.RLock, ()
        if isinstance(obj, _LOCK):
            return threading.Lock, ()
        return NotImplemented


_LOCK, _RLOCK = type(threading.Lock()), type(threading.RLock())


def capture() -> bytes:
    """moto's DynamoDB, S3 and SQS backends (every account and region), pickled."""
    from moto.backends import get_backend

    state: dict[str, Any] = {}
    for name in SERVICES:
        backends = get_backend(name)  # type: ignore[call-overload]
        state[name] = {
            "backends": {account: dict(regions) for account, regions in backends.items()},
            "attributes": {attr: getattr(backends, attr) for attr in _BACKEND_DICT_STATE.get(name, ())},
        }
    buffer = io.BytesIO()
    _StatePickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(state)
    return buffer.getvalue()


def _install(state: dict[str, Any]) -> None:
    from moto.backends import get_backend

    for name, saved in state.items():
        backends = get_backend(name)  # type: ignore[call-overload]
        for account, regions in saved["backends"].items():
            for region, backend in regions.items():
                backends[account][region] = backend
        for attr, value in saved["attributes"].items():
            setattr(backends, attr, value)


def _peek_moto_version(snapshot: Path) -> str:
    try:
        with snapshot.open("rb") as source:
            return str(json.loads(source.readline()).get("moto", "?"))
    except Exception:
        return "?"


# ---- make reset ----------------------------------------------------------------------------

def _lock(directory: Path, in_use: str) -> IO[str]:
    """The data directory's lock, held by the returned handle; SystemExit(in_use) if a running
    runner holds it. The lock is also held by a copy of the state still being written for a
    runner that is gone (a forked child outlives a `kill -9`): that is waited for, up to
    LOCK_WAIT s, so a restart reads the newest copy."""
    handle = (directory / LOCK).open("a")
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if _holder_alive(directory) or time.monotonic() > deadline:
                handle.close()
                raise SystemExit(in_use) from None
            time.sleep(0.1)


def _holder_alive(directory: Path) -> bool:
    """Whether the runner that wrote its process id into the lock file still runs."""
    try:
        os.kill(int((directory / LOCK).read_text().split()[0]), 0)
    except (OSError, ValueError, IndexError):
        return False
    return True


def reset(path: Path) -> str:
    """Delete what a runner keeps in `path` (never anything else there), unless a runner
    holds it; what was done, in words."""
    if not path.is_dir():
        return f"nothing to reset: {path} does not exist"
    lock = _lock(path, f"`make run` is using {path}: stop it first")
    try:
        kept = (SNAPSHOT, TOKEN, CERTIFICATE, CERTIFICATE_KEY)
        for name in (*kept, *(name + PARTIAL for name in kept), LOCK):
            (path / name).unlink(missing_ok=True)
    finally:
        lock.close()
    try:
        path.rmdir()
    except OSError:
        return f"deleted the registry's files in {path} (other files there were left alone)"
    return f"deleted {path}: the next `make run` starts empty, with a new admin token"


if __name__ == "__main__":
    if sys.argv[1:2] != ["reset"] or len(sys.argv) > 3:
        sys.exit("usage: python -m local.data reset [DIR]")
    print(reset(Path(sys.argv[2]).resolve() if len(sys.argv) == 3 else data_dir()))
