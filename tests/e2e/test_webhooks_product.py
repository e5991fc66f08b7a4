"""Webhooks under `make run`: the runner's bus, rule and queue carry a real audit event to the
`webhook_delivery` function, which POSTs it, signed, to a receiver on loopback; a failure is
retried through the queue (a real DelaySeconds: 1 s here, WEBHOOK_FIRST_RETRY_SECONDS, not the
schedule's 30 s), with the same delivery id; after a restart (moto's EventBridge state is not
kept, the runner makes the rule again) deliveries go on."""

from __future__ import annotations

import json
from pathlib import Path

from chalicelib.domain.webhooks import signed
from product import start_product, wait_for
from support import WebhookReceiver

TOKEN = "webhooks-product-token"
QUICK_RETRY = {"WEBHOOK_FIRST_RETRY_SECONDS": "1"}


def test_make_run_delivers_signed_events_and_retries_a_failure(tmp_path: Path):
    with WebhookReceiver() as receiver:
        with start_product(TOKEN, data_dir=tmp_path, extra_env=QUICK_RETRY) as product:
            status, hook = product.call("POST", "/webhooks", {"url": receiver.url, "events": ["bucket.created"]})
            assert status == 201, hook
            receiver.plan = [500]
            assert product.call("POST", "/buckets", {"name": "base"})[0] == 201
            wait_for("the delivery and its retry", lambda: len(receiver.received) == 2, 60, product.proc)
            first, retried = receiver.received
            assert first["headers"]["X-Registry-Delivery"] == retried["headers"]["X-Registry-Delivery"]
            assert first["body"] == retried["body"]
            for delivery in receiver.received:
                assert signed(hook["secret"], delivery["body"], delivery["headers"]["X-Registry-Signature"])
            event = json.loads(first["body"])
            assert (event["action"], event["bucket"], event["actor"]) == ("bucket.created", "base", "bootstrap-admin")
            status, history = product.call("GET", f"/webhooks/{hook['id']}/deliveries")
            assert [(h["attempt"], h["status_code"]) for h in history["items"]] == [(2, 200), (1, 500)]
            assert hook["secret"] not in "".join(product.output())  # never logged

        with start_product(TOKEN, data_dir=tmp_path, extra_env=QUICK_RETRY) as product:
            assert product.call("POST", "/buckets", {"name": "after-restart"})[0] == 201
            wait_for("a delivery after the restart", lambda: len(receiver.received) == 3, 30, product.proc)
            assert json.loads(receiver.received[2]["body"])["bucket"] == "after-restart"
