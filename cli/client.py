"""The registry's native HTTP API over urllib: one method per request shape, errors as
`ApiError` carrying the API's own `{"error", "message"}`, lists followed across pages."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Iterator, Mapping

from cli.config import Login

USER_AGENT = "packer-registry-cli"
TIMEOUT = 30.0  # seconds per request
PAGE_SIZE = 100  # the API's largest `limit`


class ApiError(Exception):
    """The API answered an error (status ≥ 400), or could not be reached (status 0)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def __str__(self) -> str:
        if self.status == 0:
            return self.message
        return f"{self.message} (HTTP {self.status} {self.code})"


def query_string(params: Mapping[str, Any]) -> str:
    """`?a=1&b=x` from the parameters that are set (None and "" are left out)."""
    kept = {k: str(v) for k, v in params.items() if v is not None and v != ""}
    return "?" + urllib.parse.urlencode(kept) if kept else ""


def quoted(*segments: str) -> str:
    """Path segments, each percent-encoded (a name never splits the path)."""
    return "/" + "/".join(urllib.parse.quote(s, safe="") for s in segments)


class Client:
    def __init__(self, login: Login) -> None:
        self.login = login

    def call(self, method: str, path: str, params: Mapping[str, Any] | None = None, body: Any = None) -> Any:
        """One request; the JSON answer (None for an empty one)."""
        url = self.login.url + path + query_string(params or {})
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.login.token}", "Accept": "application/json",
                   "User-Agent": USER_AGENT}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise _api_error(error.code, error.read()) from None
        except (urllib.error.URLError, socket.timeout, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            raise ApiError(0, "Unreachable", f"cannot reach the registry at {self.login.url}: {reason}") from None
        return json.loads(raw) if raw.strip() else None

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params)

    def items(self, path: str, params: Mapping[str, Any] | None = None, limit: int | None = None) -> Iterator[Any]:
        """Every item of a list, page after page through `next_token`; at most `limit` items."""
        params = dict(params or {})
        remaining = limit
        token: str | None = None
        while remaining is None or remaining > 0:
            size = PAGE_SIZE if remaining is None else min(PAGE_SIZE, remaining)
            page = self.call("GET", path, {**params, "limit": size, "next_token": token})
            for item in page["items"][:remaining]:
                yield item
            if remaining is not None:
                remaining -= min(len(page["items"]), remaining)
            token = page.get("next_token")
            if not token:
                return


def _api_error(status: int, raw: bytes) -> ApiError:
    """The API's error shape, or whatever a proxy in between said (cut short)."""
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return ApiError(status, str(body.get("error") or "Error"), body["message"])
    text = raw.decode("utf-8", "replace").strip()[:300] or "no message"
    return ApiError(status, "Error", text)
