"""The whole product as `make run` starts it (`python -m local`), for end-to-end tests and `make bench`.

`start_product(token)` runs the runner as a subprocess on free loopback ports with fake AWS
credentials and its own data directory (a fresh temporary one unless `data_dir` is given, so
a test can stop the runner and start it again on the same data), its output in temporary
files (so a full pipe never blocks it), and yields once it prints 'Registry ready'. On exit
it is sent SIGINT, given STOP_GRACE s, then killed.

Failures raise `ProductFailure` (an AssertionError, so pytest reports a failed test), so the
module needs no pytest and bench/run.py can use it too.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import ExitStack, contextmanager
from functools import cached_property
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Mapping

import boto3

ROOT = Path(__file__).resolve().parents[1]
STOP_GRACE = 10.0  # seconds between SIGINT and kill


class ProductFailure(AssertionError):
    """The runner died, or what was awaited did not happen in time."""


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (all probes held open together so none repeats)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def wait_for(what: str, check: Callable[[], Any], timeout: float, proc: subprocess.Popen,
             interval: float = 0.2) -> Any:
    """Poll `check` until it returns something truthy; fail fast if the runner died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ProductFailure(f"runner exited with {proc.returncode} while waiting for {what}")
        result = check()
        if result:
            return result
        time.sleep(interval)
    raise ProductFailure(f"timed out after {timeout} s waiting for {what}")


class Product:
    """A running runner: its API and S3 endpoints, its process and output, and an API client."""

    def __init__(self, proc: subprocess.Popen, port: int, moto_port: int, auth_port: int, token: str | None,
                 data_dir: Path, out: IO[str], err: IO[str]) -> None:
        self.proc, self.data_dir = proc, data_dir
        self.url, self.moto_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{moto_port}"
        self.auth_port = auth_port  # HCP_AUTH_PORT: the HTTPS token endpoint
        self._out, self._err = out, err
        self._token = token

    @property
    def token(self) -> str:
        """The bootstrap admin token: the one given, or the one the banner printed."""
        if self._token is None:
            match = re.search(r"Admin token:\s+(\S+)", self.output()[0])
            if not match:
                raise ProductFailure("the banner shows no admin token")
            self._token = match.group(1)
        return self._token

    def output(self) -> tuple[str, str]:
        """Everything the runner has written so far: (stdout, stderr)."""
        self._out.seek(0), self._err.seek(0)
        return self._out.read(), self._err.read()

    @cached_property
    def s3(self) -> Any:
        """A boto3 S3 client on the runner's moto endpoint."""
        return boto3.client("s3", endpoint_url=self.moto_url, region_name="us-east-1",
                            aws_access_key_id="local", aws_secret_access_key="local")

    def call(self, method: str, path: str, payload: Any = None, token: str | None = None,
             timeout: float = 10) -> tuple[int, Any]:
        """One API request as `token` (default: the admin token): (status, JSON body or None);
        (0, None) when the runner cannot be reached."""
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers={
            "Authorization": f"Bearer {self.token if token is None else token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                return exc.code, json.loads(exc.read() or b"null")
            except ValueError:
                return exc.code, None
        except (urllib.error.URLError, ConnectionError):
            return 0, None

    def stop(self, signum: int = signal.SIGINT, grace: float = STOP_GRACE) -> int:
        """`signum` (SIGINT, as Ctrl-C), then up to `grace` s for a clean exit; its exit code.
        If it outlives that, it is killed and `subprocess.TimeoutExpired` raised."""
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL: no chance to save anything."""
        self.proc.kill()
        self.proc.wait()


@contextmanager
def start_product(token: str | None, sweep_interval: str = "3600", extra_env: Mapping[str, str] | None = None,
                  data_dir: Path | None = None) -> Iterator[Product]:
    """`python -m local` on free ports with `token` as the bootstrap admin token (None: the
    runner's own, kept in its data directory) until 'Registry ready'; stopped (SIGINT, then
    kill) on exit. `data_dir`: the data directory (default: a fresh temporary one)."""
    port, moto_port, auth_port = free_ports(3)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_ENDPOINT_URL", "AWS_PROFILE")) and k != "REGISTRY_ADMIN_TOKEN"}
    env.update(AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local", AWS_DEFAULT_REGION="us-east-1",
               PORT=str(port), MOTO_PORT=str(moto_port), HCP_AUTH_PORT=str(auth_port), SWEEP_INTERVAL=sweep_interval,
               PYTHONUNBUFFERED="1")
    if token is not None:
        env["REGISTRY_ADMIN_TOKEN"] = token
    env.update(extra_env or {})
    with ExitStack() as stack:
        if data_dir is None:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="registry-data-")))
        env["REGISTRY_DATA_DIR"] = str(data_dir)
        out = stack.enter_context(tempfile.TemporaryFile("w+"))
        err = stack.enter_context(tempfile.TemporaryFile("w+"))
        proc = subprocess.Popen([sys.executable, "-m", "local"], cwd=ROOT, env=env, stdout=out, stderr=err, text=True)
        product = Product(proc, port, moto_port, auth_port, token, data_dir, out, err)
        try:
            wait_for("'Registry ready'", lambda: "Registry ready" in product.output()[0], 60, proc)
            yield product
        finally:
            try:
                product.stop()
            except subprocess.TimeoutExpired:
                pass
            log = product.output()[1]
            if "Traceback" in log:  # shown with a failing test's output
                print(log[-5000:], file=sys.stderr)
