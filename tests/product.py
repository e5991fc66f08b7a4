"""The whole product as `make run` starts it (`python -m chalicelib.local`), for end-to-end tests.

`start_product(token)` runs the runner as a subprocess on free loopback ports with fake AWS
credentials, its output in temporary files (so a full pipe never blocks it), and yields once it
prints 'Registry ready'. On exit it is sent SIGINT, given 10 s, then killed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Mapping

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[1]
STOP_GRACE = 10.0  # seconds between SIGINT and kill


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
            pytest.fail(f"runner exited with {proc.returncode} while waiting for {what}")
        result = check()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


class Product:
    """A running runner: its API and S3 endpoints, its process and output, and an API client."""

    def __init__(self, proc: subprocess.Popen, port: int, moto_port: int, token: str,
                 out: IO[str], err: IO[str]) -> None:
        self.proc, self.token = proc, token
        self.url, self.moto_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{moto_port}"
        self._out, self._err = out, err

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

    def stop(self) -> int:
        """SIGINT, then up to STOP_GRACE s for a clean exit; its exit code. If it outlives that,
        it is killed and `subprocess.TimeoutExpired` raised."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        return self.proc.returncode


@contextmanager
def start_product(token: str, sweep_interval: str = "3600",
                  extra_env: Mapping[str, str] | None = None) -> Iterator[Product]:
    """`python -m chalicelib.local` on free ports with `token` as the bootstrap admin token,
    until 'Registry ready'; stopped (SIGINT, then kill) on exit."""
    port, moto_port = free_ports(2)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "AWS_PROFILE"))}
    env.update(AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local", AWS_DEFAULT_REGION="us-east-1",
               PORT=str(port), MOTO_PORT=str(moto_port), SWEEP_INTERVAL=sweep_interval,
               REGISTRY_ADMIN_TOKEN=token, PYTHONUNBUFFERED="1")
    env.update(extra_env or {})
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-m", "chalicelib.local"], cwd=ROOT, env=env,
                                stdout=out, stderr=err, text=True)
        product = Product(proc, port, moto_port, token, out, err)
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
