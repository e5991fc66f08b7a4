"""Where the CLI finds the registry and its token.

`login` stores both in `$XDG_CONFIG_HOME/packer-registry/config.json` (else
`~/.config/packer-registry/config.json`), readable by the user alone (0600, in a 0700
directory), as docker and gh keep theirs. `PACKER_REGISTRY_URL` and `PACKER_REGISTRY_TOKEN`
override what is stored, each on its own, so CI needs no login at all.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

URL_VARIABLE = "PACKER_REGISTRY_URL"
TOKEN_VARIABLE = "PACKER_REGISTRY_TOKEN"


class NotLoggedIn(Exception):
    """No URL or no token: neither stored by `login` nor in the environment."""


@dataclass(frozen=True)
class Login:
    url: str
    token: str

    def __repr__(self) -> str:  # never show the token, even in a traceback
        return f"Login(url={self.url!r}, token=<hidden>)"


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "packer-registry" / "config.json"


def normalise_url(url: str) -> str:
    """`http://host:8000/` → `http://host:8000`: paths are appended to it (an API Gateway
    stage URL keeps its `/api`)."""
    return url.strip().rstrip("/")


def stored() -> dict[str, str]:
    """What `login` stored, or nothing (no file, or one that is not a JSON object)."""
    try:
        data = json.loads(config_path().read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def current() -> Login:
    """The login in force: each of URL and token from the environment, else as stored."""
    saved = stored()
    url = os.environ.get(URL_VARIABLE) or saved.get("url")
    token = os.environ.get(TOKEN_VARIABLE) or saved.get("token")
    if not url or not token:
        missing = " and ".join(name for name, value in (("URL", url), ("token", token)) if not value)
        raise NotLoggedIn(f"no registry {missing}: run `packer-registry login URL`, "
                          f"or set {URL_VARIABLE} and {TOKEN_VARIABLE}")
    return Login(normalise_url(url), token)


def save(login: Login) -> Path:
    """Write the login, mode 0600 from the start (never readable by others, not even for a
    moment), replacing the file atomically."""
    path = config_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".config-", suffix=".json")  # mode 0600
    try:
        with os.fdopen(handle, "w") as out:
            json.dump({"url": login.url, "token": login.token}, out, indent=2)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return path


def forget() -> bool:
    """Delete the stored login; whether there was one."""
    try:
        config_path().unlink()
        return True
    except FileNotFoundError:
        return False
