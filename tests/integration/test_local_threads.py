"""`make run` serves requests on threads: each route must read its own request.

Chalice keeps the request being handled on the app object (`app.current_request`): right on
Lambda, where a process handles one request at a time, but under the threaded local server a
route could read another thread's request. The local runner makes it per thread
(`local.runner.requests_per_thread`). Driven here in-process through Chalice's local gateway,
with the interpreter switching threads as often as it can, on a route that answers from the
request alone (a bad `limit` is a 400 naming the value sent, before any AWS call).
"""

from __future__ import annotations

import json
import sys
import threading

from chalice.local import LocalGateway

from support import ADMIN_TOKEN
from local.runner import load_config, requests_per_thread

THREADS, ROUNDS = 8, 60


def mixed_up_answers(gateway: LocalGateway) -> list[tuple[str, str]]:
    barrier, wrong = threading.Barrier(THREADS), []

    def work(n: int) -> None:
        barrier.wait(timeout=30)
        for round_ in range(ROUNDS):
            sent = f"x{n}r{round_}"
            response = gateway.handle_request("GET", f"/buckets?limit={sent}",
                                              {"authorization": f"Bearer {ADMIN_TOKEN}"}, b"")
            message = json.loads(response["body"])["message"]
            if repr(sent) not in message:
                wrong.append((sent, message))

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        sys.setswitchinterval(interval)
    return wrong


def test_each_thread_reads_its_own_request(fresh_app):
    requests_per_thread(fresh_app)
    assert mixed_up_answers(LocalGateway(fresh_app, load_config())) == []
