"""A fake OSV on a free loopback port (a context manager, or `python tests/fake_osv.py` for a
process of its own): OSV's two endpoints the registry calls, answering the recorded records
of tests/fixtures/osv/ in OSV's documented format.

- `POST /v1/querybatch` `{"queries": [{"package": {"purl"}, "page_token"?}]}` answers
  `{"results": [{"vulns": [{"id", "modified"}], "next_page_token"?}]}` in the queries' order,
  the ids matches.json gives the purl (an empty object for none); with `page_size` set, a
  query's vulns come `page_size` at a time, the rest behind a `next_page_token`, as OSV
  cuts a large answer. More than 1,000 queries is a 400, as OSV answers.
- `GET /v1/vulns/{id}` answers the record, or 404 `{"code": 5, "message": "Bug not found."}`.
- `status` makes every answer that HTTP status instead (an outage). Every request is kept
  (`requests`: method, path, body).
"""

from __future__ import annotations

import base64
import json
import sys
import threading
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "osv"
BATCH_LIMIT = 1000


def records() -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text()) for path in FIXTURES.glob("*.json") if path.stem != "matches"}


def matches() -> dict[str, list[str]]:
    return {k: v for k, v in json.loads((FIXTURES / "matches.json").read_text()).items() if not k.startswith("_")}


class FakeOsv:
    def __init__(self) -> None:
        self.records = records()
        self.matches = matches()
        self.page_size: int | None = None
        self.status: int | None = None
        self.requests: list[dict[str, Any]] = []
        self._server: Any = None

    def __enter__(self) -> "FakeOsv":
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: Any) -> None:
                raw = json.dumps(body).encode()
                self.send_response(fake.status or status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = json.loads(raw or b"{}")
                fake.requests.append({"method": "POST", "path": self.path, "body": body})
                if self.path != "/v1/querybatch":
                    return self._answer(404, {"code": 5, "message": "Not Found"})
                queries = body.get("queries") or []
                if len(queries) > BATCH_LIMIT:
                    return self._answer(400, {"code": 3, "message": "Too many queries."})
                self._answer(200, {"results": [fake.result(q) for q in queries]})

            def do_GET(self) -> None:  # noqa: N802
                fake.requests.append({"method": "GET", "path": self.path, "body": None})
                found = self.path.startswith("/v1/vulns/") and fake.records.get(self.path[len("/v1/vulns/"):])
                if found:
                    return self._answer(200, found)
                self._answer(404, {"code": 5, "message": "Bug not found."})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, name="fake-osv", daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def result(self, query: dict[str, Any]) -> dict[str, Any]:
        """One query's answer: its page of matches and, when more follow, a token for them."""
        ids = self.matches.get(str((query.get("package") or {}).get("purl")), [])
        start = int(base64.b64decode(query["page_token"])) if query.get("page_token") else 0
        end = start + self.page_size if self.page_size else len(ids)
        vulns = [{"id": i, "modified": self.records.get(i, {}).get("modified", "2024-01-01T00:00:00Z")}
                 for i in ids[start:end]]
        result: dict[str, Any] = {"vulns": vulns} if vulns else {}
        if end < len(ids):
            result["next_page_token"] = base64.b64encode(str(end).encode()).decode()
        return result

    def asked(self, method: str, prefix: str = "") -> list[dict[str, Any]]:
        """The requests of `method` whose path starts with `prefix`."""
        return [r for r in self.requests if r["method"] == method and r["path"].startswith(prefix)]


if __name__ == "__main__":  # a process of its own: prints its URL, serves until stdin closes
    with FakeOsv() as fake:
        print(fake.url, flush=True)
        sys.stdin.read()
