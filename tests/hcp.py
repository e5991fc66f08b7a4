"""The HCP clients' side of the end-to-end tests: the pinned clients built, a service principal,
its token, the deployment's organization and project, and the environment a real client runs in.

The clients (tests/clients/: packer 1.16.0 and 1.12.0, terraform-provider-hcp 0.111.0,
OpenTofu 1.12.6 where no `terraform` is installed, hcp-sdk-go) are built by tests/clients/build.sh
into a cache outside the clone; `build_clients()` runs it (a no-op once warm). `Packer` runs a
pinned packer's builds with a principal. `HcpRegistry` wraps a running product (tests/product.py) the way an HCP Packer user
meets it: a principal created with the admin token, a token from the TLS endpoint, the IDs read
from the resource-manager routes, and the `HCP_*` variables of HCP-API-COMPAT.md §1.1.
Standard library only, like product.py.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import ssl
import subprocess
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from product import ROOT, Product, ProductFailure

CLIENTS = ROOT / "tests" / "clients"
BUILD_SH = CLIENTS / "build.sh"
SDK_MODULE = CLIENTS / "hcp-sdk-go"
# The pinned Packer lines, by the folder names tests/clients/packer-X.Y.Z/.
PINNED = sorted(path.name.removeprefix("packer-") for path in CLIENTS.glob("packer-*") if path.is_dir())
# The pinned terraform-provider-hcp versions, by the folder names tests/clients/terraform-provider-hcp-X.Y.Z/.
PROVIDERS = sorted(path.name.removeprefix("terraform-provider-hcp-")
                   for path in CLIENTS.glob("terraform-provider-hcp-*") if path.is_dir())
CACHE = Path(os.environ.get("CLIENTS_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
             / "registry-clients")

RM = "/resource-manager/2019-12-10"
AUDIENCE = "https://api.hashicorp.cloud"  # what the SDK sends (config/tokensource.go)
# A ULID as HCP's clients type IDs (Crockford base 32, 26 characters) and a UUID (org, project).
ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def go_missing() -> bool:
    return shutil.which("go") is None


@dataclass(frozen=True)
class Clients:
    """What build.sh built: packer binaries and terraform-provider-hcp folders (for dev_overrides)
    by pinned version, the Terraform core the provider tests run, and test-sshd (the test-only
    SSH/SFTP server `null` builds connect to: tests/clients/test-sshd/)."""

    packers: dict[str, Path]
    providers: dict[str, Path]
    core: Path
    sshd: Path


def build_clients() -> Clients:
    """The pinned clients, built by build.sh if not cached (the SDK's packages are compiled too).
    The Terraform core is the machine's `terraform`, else (or with CLIENTS_OPENTOFU=1) the pinned
    OpenTofu, which build.sh builds only then. A failed build raises AssertionError."""
    done = subprocess.run(["bash", str(BUILD_SH)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"tests/clients/build.sh failed:\n{done.stderr[-4000:]}"
    built = [Path(line) for line in done.stdout.split()]
    packers = {path.name.removeprefix("packer-"): path for path in built if path.name.startswith("packer-")}
    providers = {path.parent.name.removeprefix("terraform-provider-hcp-"): path.parent
                 for path in built if path.name == "terraform-provider-hcp"}
    assert sorted(packers) == PINNED and sorted(providers) == PROVIDERS, done.stdout
    (sshd,) = [path for path in built if path.name.startswith("test-sshd-")]
    terraform = shutil.which("terraform")
    if os.environ.get("CLIENTS_OPENTOFU") == "1" or terraform is None:
        (core,) = [path for path in built if path.name.startswith("opentofu-")]
        return Clients(packers, providers, core, sshd)
    return Clients(packers, providers, Path(terraform), sshd)


def go_env() -> dict[str, str]:
    """Go's settings as build.sh uses them: its caches in the clients' cache folder, and the
    committed go.mod/go.sum as the pins (a run never changes them)."""
    return {"GOMODCACHE": str(CACHE / "gomod"), "GOCACHE": str(CACHE / "gocache"),
            "CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly -buildvcs=false"}


def clean_env(home: Path) -> dict[str, str]:
    """The environment of a client run: no HCP_* or PACKER_* variable of the caller, no plugin
    directory but an empty one, its config and caches (the SDK's token cache among them) in
    `home`, and no checkpoint call out."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("HCP_", "PACKER_"))}
    env.update(
        HOME=str(home),
        PACKER_CONFIG_DIR=str(home / "config"),
        PACKER_PLUGIN_PATH=str(home / "plugins"),
        PACKER_CACHE_DIR=str(home / "cache"),
        CHECKPOINT_DISABLE="1",
    )
    (home / "plugins").mkdir(parents=True, exist_ok=True)
    return env


@dataclass(frozen=True)
class Principal:
    name: str
    client_id: str
    client_secret: str


def _insecure() -> ssl.SSLContext:
    """What HCP_AUTH_TLS=insecure does: TLS without checking the (self-signed) certificate."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class HcpRegistry:
    """A running product as the HCP clients see it."""

    def __init__(self, product: Product) -> None:
        self.product = product
        self.auth_url = f"https://127.0.0.1:{product.auth_port}"  # make run's TLS listener of /oauth2/token
        self.api_address = product.url.removeprefix("http://")

    def principal(self, role: str = "contributor", name: str | None = None) -> Principal:
        """A new service principal, created with the admin token."""
        name = name or f"{role}-{uuid.uuid4().hex[:8]}"
        status, body = self.product.call("POST", "/service-principals", {"name": name, "role": role})
        if status not in (200, 201) or not isinstance(body, dict):
            raise ProductFailure(f"POST /service-principals answered {status}: {body}")
        return Principal(name, body["client_id"], body["client_secret"])

    def token_response(self, form: dict[str, str], basic: tuple[str, str] | None = None) -> tuple[int, Any]:
        """POST /oauth2/token on the TLS listener, form-encoded like golang.org/x/oauth2;
        `basic`: credentials in an Authorization header, URL-escaped first as it does."""
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if basic:
            pair = ":".join(urllib.parse.quote_plus(part) for part in basic)
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        request = urllib.request.Request(f"{self.auth_url}/oauth2/token", method="POST", headers=headers,
                                         data=urllib.parse.urlencode(form).encode())
        try:
            with urllib.request.urlopen(request, timeout=20, context=_insecure()) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def token(self, principal: Principal) -> str:
        """An access token for `principal`, asked for as the SDK does."""
        status, body = self.token_response({"grant_type": "client_credentials", "audience": AUDIENCE},
                                           basic=(principal.client_id, principal.client_secret))
        if status != 200 or not isinstance(body, dict) or not body.get("access_token"):
            raise ProductFailure(f"POST /oauth2/token answered {status}: {body}")
        return str(body["access_token"])

    @cached_property
    def location(self) -> tuple[str, str]:
        """(organization ID, project ID), read from the resource-manager routes as a client that
        is given neither would (HCP-API-COMPAT.md §1.3)."""
        token = self.token(self.principal(name="discovery"))
        status, orgs = self.product.call("GET", f"{RM}/organizations", token=token)
        if status != 200:
            raise ProductFailure(f"GET {RM}/organizations answered {status}: {orgs}")
        (org,) = orgs["organizations"]
        status, projects = self.product.call(
            "GET", f"{RM}/projects?scope.id={org['id']}&scope.type=ORGANIZATION", token=token)
        if status != 200:
            raise ProductFailure(f"GET {RM}/projects answered {status}: {projects}")
        (project,) = projects["projects"]
        return org["id"], project["id"]

    @property
    def prefix(self) -> str:
        """The HCP Packer routes' prefix: /packer/2023-01-01/organizations/{org}/projects/{project}."""
        org, project = self.location
        return f"/packer/2023-01-01/organizations/{org}/projects/{project}"

    def hcp(self, method: str, path: str, token: str, payload: Any = None) -> tuple[int, Any]:
        """One HCP Packer route (`path` after the prefix) with a principal's access token."""
        return self.product.call(method, f"{self.prefix}{path}", payload, token=token)

    def env(self, principal: Principal, home: Path, **extra: str) -> dict[str, str]:
        """A client's environment, pointed at this registry with only HCP_* variables."""
        org, project = self.location
        env = clean_env(home)
        env.update(HCP_API_ADDRESS=self.api_address, HCP_API_TLS="disabled",
                   HCP_AUTH_URL=self.auth_url, HCP_AUTH_TLS="insecure",
                   HCP_CLIENT_ID=principal.client_id, HCP_CLIENT_SECRET=principal.client_secret,
                   HCP_ORGANIZATION_ID=org, HCP_PROJECT_ID=project, **extra)
        return env


BUILD_TIMEOUT = 180  # s per `packer build`; a file/null build takes a second or two


@dataclass
class Run:
    """A finished `packer build`; its text (for an assertion message) is its output and the
    lines of Packer's debug log that name HCP calls or errors."""

    returncode: int
    stdout: str
    stderr: str
    log: str

    def __str__(self) -> str:
        lines = [line for line in self.log.splitlines() if "hcp" in line.lower() or "error" in line.lower()]
        return f"{self.stdout}\n{self.stderr}\n--- packer log, HCP and error lines ---\n" + "\n".join(lines[-80:])


@dataclass
class Packer:
    """One pinned packer, a principal, and a working directory for its builds."""

    version: str
    binary: Path
    registry: HcpRegistry
    principal: Principal
    work: Path
    home: Path

    def bucket(self, name: str) -> str:
        """A bucket name of this test and this Packer line (the module shares one registry)."""
        return f"{name}-{self.version.replace('.', '-')}"

    def build(self, template: str, fingerprint: str, name: str = "build", flags: tuple[str, ...] = (),
              **env: str) -> Run:
        """`packer build` of `template` (HCL2) in the working directory with a fixed fingerprint
        (`flags` before the template, and `env` added to the HCP variables)."""
        path = self.work / f"{name}.pkr.hcl"
        path.write_text(template)
        log = self.home / f"{name}.log"
        env = self.registry.env(self.principal, self.home, HCP_PACKER_BUILD_FINGERPRINT=fingerprint,
                                PACKER_LOG="1", PACKER_LOG_PATH=str(log), **env)
        done = subprocess.run([str(self.binary), "build", "-color=false", *flags, path.name], cwd=self.work, env=env,
                              capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False)
        return Run(done.returncode, done.stdout, done.stderr, log.read_text() if log.exists() else "")

    def token(self) -> str:
        return self.registry.token(self.principal)

    def hcp_version(self, bucket: str, fingerprint: str) -> dict[str, Any]:
        """GetVersion through the HCP API: the `version` object."""
        status, body = self.registry.hcp("GET", f"/buckets/{bucket}/versions/{fingerprint}", self.token())
        assert status == 200, (status, body)
        return body["version"]

    def native(self, path: str, status: int = 200) -> Any:
        """A native API read with the admin token."""
        got, body = self.registry.product.call("GET", path)
        assert got == status, (path, got, body)
        return body
