"""OSV (https://osv.dev), the source of the packages' vulnerabilities: `POST /v1/querybatch`
(at most BATCH queries a call; a query whose vulnerabilities do not fit one answer comes back
with a `next_page_token`, and is asked again with it as `page_token`) answers the ids and
`modified` times matching each purl, `GET /v1/vulns/{id}` a record.

Every connection goes through the outbound policy (services/outbound.py): only the hosts
OSV_ALLOWED_HOSTS names (default `api.osv.dev`; loopback under `make run` and in tests),
loopback and private addresses only with OSV_ALLOW_PRIVATE. OSV_API_URL is where it is
(default https://api.osv.dev); VULN_SOURCE=off stops the sweep asking it at all.
"""

from __future__ import annotations

import http.client
import json
import os
from typing import Any
from urllib.parse import quote

from . import outbound
from ..domain.addresses import Policy
from ..runtime import settings

BATCH = 1_000  # queries a querybatch takes (OSV's documented limit)
PAGES = 20  # pages of one query followed at most (each of up to 1,000 ids)
TIMEOUT = 30.0
MAX_BYTES = 32 * 1024 * 1024
URL_VARIABLE, HOSTS_VARIABLE, PRIVATE_VARIABLE = "OSV_API_URL", "OSV_ALLOWED_HOSTS", "OSV_ALLOW_PRIVATE"
DEFAULT_URL, DEFAULT_HOSTS = "https://api.osv.dev", ("api.osv.dev",)
Match = dict[str, str]  # {"id", "modified"}


class Unavailable(Exception):
    """OSV could not be asked or did not answer as documented (the message says how; the
    work stays queued for the next sweep)."""


def enabled() -> bool:
    return os.environ.get("VULN_SOURCE", "").strip().lower() not in ("off", "0", "false", "no")


def policy() -> Policy:
    return Policy(allow_private=settings.flag(PRIVATE_VARIABLE), private_setting=PRIVATE_VARIABLE,
                  hosts=frozenset(settings.names(HOSTS_VARIABLE, DEFAULT_HOSTS)), hosts_setting=HOSTS_VARIABLE)


def query(purls: list[str]) -> dict[str, list[Match]]:
    """The vulnerabilities matching each purl (as domain/vulns.asked makes them): one
    querybatch per BATCH purls, and one more per page a query's answer was cut into."""
    found: dict[str, list[Match]] = {}
    for start in range(0, len(purls), BATCH):
        pending: dict[str, str | None] = dict.fromkeys(purls[start:start + BATCH])
        for _ in range(PAGES):
            asked = list(pending)
            results = _call("POST", "/v1/querybatch", {"queries": [
                {"package": {"purl": p}, **({"page_token": pending[p]} if pending[p] else {})} for p in asked]})
            answers = results.get("results") if isinstance(results, dict) else None
            if not isinstance(answers, list) or len(answers) != len(asked):
                raise Unavailable(f"querybatch answered {len(answers or [])} results for {len(asked)} queries")
            pending = {}
            for purl, answer in zip(asked, answers):
                answer = answer if isinstance(answer, dict) else {}
                found.setdefault(purl, []).extend(
                    {"id": str(v["id"]), "modified": str(v.get("modified") or "")}
                    for v in answer.get("vulns") or [] if isinstance(v, dict) and v.get("id"))
                if answer.get("next_page_token"):
                    pending[purl] = str(answer["next_page_token"])
            if not pending:
                break
    return found


def record(vulnerability_id: str) -> dict[str, Any] | None:
    """OSV's record of a vulnerability (GET /v1/vulns/{id}); None when OSV has none (404)."""
    return _call("GET", f"/v1/vulns/{quote(vulnerability_id, safe='')}", None, missing_ok=True)


def _call(method: str, path: str, body: Any, missing_ok: bool = False) -> Any:
    url = (os.environ.get(URL_VARIABLE, "").strip() or DEFAULT_URL).rstrip("/") + path
    try:
        answer = outbound.request(method, url, policy(), headers={"Accept": "application/json",
                                                                  "Content-Type": "application/json"},
                                  body=json.dumps(body).encode() if body is not None else None, timeout=TIMEOUT,
                                  max_bytes=MAX_BYTES)
    except (outbound.Refused, outbound.Unresolvable, OSError, ValueError, http.client.HTTPException) as exc:
        raise Unavailable(f"{method} {path.split('?')[0]}: {exc}") from exc
    if answer.status == 404 and missing_ok:
        return None
    if answer.status != 200 or len(answer.body) > MAX_BYTES:
        raise Unavailable(f"{method} {path}: OSV answered HTTP {answer.status}")
    try:
        return json.loads(answer.body)
    except ValueError as exc:
        raise Unavailable(f"{method} {path}: the answer is not JSON ({exc})") from exc
