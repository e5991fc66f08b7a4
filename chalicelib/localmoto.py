"""moto in server mode, one request at a time: the local stand-in for DynamoDB and S3.

moto's threaded server does not make a DynamoDB transaction atomic against concurrent
requests (a conflicting request can interleave with, or break, a transaction half-way),
which real DynamoDB guarantees. Serialising requests at the server restores that
guarantee while clients stay fully concurrent: races between a read and a conditional
write still happen, exactly as they do on AWS. Local runner and tests only.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterable

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server


class _OneAtATime:
    """WSGI wrapper: each DynamoDB request runs alone, its response read inside the lock.

    Only DynamoDB needs it (transactions); S3 and SQS requests pass freely, so the local
    runner's SQS long poll never holds up a DynamoDB call.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app, self.lock = app, threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            return list(self.app(environ, start_response))
        with self.lock:
            return list(self.app(environ, start_response))


class SerializedMotoServer(ThreadedMotoServer):
    def _server_entry(self) -> None:
        app = _OneAtATime(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()
