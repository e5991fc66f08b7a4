"""The local runner's data directory (local/data.py) on its own: the lock, the admin token,
`make reset`, an unreadable snapshot. The runner's own restarts are in test_local_runner.py."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from local.data import DataDir, reset

ROOT = Path(__file__).resolve().parents[2]


def test_the_admin_token_is_made_once_and_kept_private(tmp_path):
    data = DataDir(tmp_path)
    token = data.admin_token()
    assert len(token) >= 43 and DataDir(tmp_path).admin_token() == token
    assert (tmp_path / "admin-token").stat().st_mode & 0o077 == 0


def test_a_start_waits_for_a_copy_still_written_for_a_runner_that_is_gone(tmp_path):
    """A runner killed with -9 may leave its forked copy-writer holding the lock for a moment."""
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    lock = (tmp_path / ".lock").open("a")
    lock.write(gone.stdout)  # the process id of a runner that no longer runs
    lock.flush()
    fcntl.flock(lock, fcntl.LOCK_EX)  # held, as by its orphaned child
    acquired = threading.Event()
    waiter = threading.Thread(target=lambda: (DataDir(tmp_path).acquire(), acquired.set()), daemon=True)
    waiter.start()
    assert not acquired.wait(0.3)  # still held: the start waits
    lock.close()  # the child is done
    assert acquired.wait(10)
    assert (tmp_path / ".lock").read_text().split() == [str(os.getpid())]


def test_a_running_runner_is_never_waited_for_nor_reset(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]);"
        "from local.data import DataDir; d = DataDir(Path(sys.argv[2])); d.acquire(); print('held', flush=True);"
        "sys.stdin.read()"), str(ROOT), str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(SystemExit, match="another `make run` is using"):
            DataDir(tmp_path).acquire()
        with pytest.raises(SystemExit, match="stop it first"):
            reset(tmp_path)
    finally:
        holder.stdin.close()
        holder.wait(10)
    assert "deleted" in reset(tmp_path) and not tmp_path.exists()


def test_reset_deletes_the_registry_files_only(tmp_path):
    data = DataDir(tmp_path)
    data.admin_token()
    (tmp_path / "moto-state.pickle").write_bytes(b"{}\n")
    (tmp_path / "notes.txt").write_text("mine")  # REGISTRY_DATA_DIR pointed somewhere shared
    assert "other files there were left alone" in reset(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_a_snapshot_it_cannot_read_stops_the_start_with_what_to_do(tmp_path):
    (tmp_path / "moto-state.pickle").write_bytes(json.dumps({"format": 99, "moto": "9.9"}).encode() + b"\n")
    with pytest.raises(SystemExit, match=r"unknown format 99.*moto 9\.9.*`make reset`"):
        DataDir(tmp_path).restore()
