"""Run the whole registry on loopback: `python -m local` (what `make run` does).

`chalice local` serves HTTP only, so this runner adds what AWS would provide around it:
moto in server mode for DynamoDB, S3 and SQS; real S3 `ObjectCreated` notifications routed
through an SQS queue (moto can deliver S3 -> SQS without Docker) to the `ingest_manifest`
handler; the run-task queue (`RUN_TASK_QUEUE`, which `POST /runtasks/hcp-terraform` sends
to) delivered to the `run_task` handler as Lambda's SQS event source would; the audit
events' EventBridge bus (`EVENT_BUS_NAME`) with the rule that sends them to the webhook queue
(`WEBHOOK_QUEUE`), delivered to the `webhook_delivery` handler (`provision_webhooks`: the
same wiring deploy/resources.yaml makes on AWS); and the `sweep` schedule on a timer. Handlers are invoked exactly as Lambda would
(event dict + context), so the code under test is the code that ships. What API Gateway
answers itself is answered in the same JSON shape: an unknown route is a 404, a header line
Python's HTTP server cannot take a 431 (`JsonErrorsHandler`). moto's state is kept in a data
directory across restarts (`local/data.py`). The HCP clients' token endpoint is also served
over HTTPS on HCP_AUTH_PORT (`local/hcp_auth.py`).

Settings come from the environment: PORT (8000), MOTO_PORT (5000), HCP_AUTH_PORT (8443),
SWEEP_INTERVAL (60 s), HOST (127.0.0.1), REGISTRY_TABLE, MANIFEST_BUCKET, EVENT_BUS_NAME
(packer-registry), WEBHOOK_QUEUE, WEBHOOK_ALLOW_PRIVATE, RUNTASK_ALLOWED_HOSTS, RUNTASK_ALLOW_PRIVATE (the
`local` stage's), REGISTRY_DATA_DIR
(.registry-data), REGISTRY_ADMIN_TOKEN (generated once and kept in the data directory if unset).
"""

from __future__ import annotations

import functools
import importlib
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError
from chalice.app import Chalice
from chalice.cli.factory import CLIFactory
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    LambdaContext,
    LocalDevServer,
    LocalGateway,
    LocalGatewayException,
    ThreadedHTTPServer,
    create_local_server,
)

from chalicelib.runtime import aws
from chalicelib.storage.schema import missing_indexes, table_definition
from local.data import DEFAULT_DIR, DataDir, Saver, data_dir
from local.gateway import local_gateway_responses
from local.hcp_auth import TlsRelay, ensure_certificate

# Not under "packer-registry": that is the Powertools logger, which would swallow these lines.
log = logging.getLogger("local.runner")

PROJECT_DIR = Path(__file__).resolve().parents[1]
STAGE = "local"
ACCOUNT_ID = "123456789012"  # moto's default account
# Lambda retries a failed asynchronous (S3) invocation twice: three attempts in all (and the
# local runner gives a run-task request as many, where AWS redelivers it until it expires).
MAX_ATTEMPTS = 3
VISIBILITY_TIMEOUT = 5  # seconds before a failed delivery is retried
# A webhook message may take a few receivers' timeouts (services/webhooks.py TIMEOUT) to handle:
# it stays invisible that long, so it is not handed out again meanwhile.
WEBHOOK_VISIBILITY_TIMEOUT = 60
EVENT_BUS = "packer-registry"  # EVENT_BUS_NAME's default under `make run`
WEBHOOK_RULE = "packer-registry-webhooks"
POLL_EVERY = 0.5  # seconds between polls of the S3 event queue while it is empty
STOP_WITHIN = 5.0  # seconds from Ctrl-C / SIGTERM to exit, the last save of the state included
# API Gateway's answer for a path (or method) no route has, as scripts/deploy.sh configures it.
NO_SUCH_ROUTE = {"error": "NotFound", "message": "no such route: GET /openapi.json lists the API's routes"}
LISTEN_BACKLOG = 128
# Per-service endpoint overrides would win over AWS_ENDPOINT_URL and bypass moto.
_SERVICE_ENDPOINT_VARS = ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SQS")


@dataclass(frozen=True)
class Settings:
    """What the runner needs, read once from the environment."""

    host: str = "127.0.0.1"
    port: int = 8000
    moto_port: int = 5000
    hcp_auth_port: int = 8443
    sweep_interval: float = 60.0
    table: str = "packer-registry"
    bucket: str = "packer-manifests"
    admin_token: str = ""
    data_dir: Path = DEFAULT_DIR

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def auth_url(self) -> str:
        """`HCP_AUTH_URL`: the HTTPS listener in front of the token endpoint."""
        return f"https://{self.host}:{self.hcp_auth_port}"

    @property
    def moto_url(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    @property
    def queue_name(self) -> str:
        return f"{self.bucket.replace('.', '-')}-events"[:80]

    @property
    def run_task_queue(self) -> str:
        """The queue app.py's `run_task` consumes (the `local` stage's RUN_TASK_QUEUE)."""
        return os.environ.get("RUN_TASK_QUEUE") or "packer-registry-run-tasks"

    @property
    def webhook_queue(self) -> str:
        """The queue app.py's `webhook_delivery` consumes (the `local` stage's WEBHOOK_QUEUE)."""
        return os.environ.get("WEBHOOK_QUEUE") or "packer-registry-webhooks"

    @classmethod
    def from_env(cls) -> Settings:
        """Read after the `local` stage's variables are applied, so those act as defaults."""
        return cls(
            host=os.environ.get("HOST", "127.0.0.1"),
            port=_number("PORT", 8000, int),
            moto_port=_number("MOTO_PORT", 5000, int),
            hcp_auth_port=_number("HCP_AUTH_PORT", 8443, int),
            sweep_interval=_number("SWEEP_INTERVAL", 60.0, float),
            table=os.environ.get("REGISTRY_TABLE") or "packer-registry",
            bucket=os.environ.get("MANIFEST_BUCKET") or "packer-manifests",
            admin_token=os.environ.get("REGISTRY_ADMIN_TOKEN", ""),
            data_dir=data_dir(),
        )


def _number(name: str, default: Any, kind: type) -> Any:
    raw = os.environ.get(name, "")
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise SystemExit(f"{name} must be positive, got {raw!r}")
    return value


def load_config() -> Config:
    """The `local` stage of .chalice/config.json, built the way `chalice local` builds it."""
    return CLIFactory(str(PROJECT_DIR)).create_config_obj(chalice_stage_name=STAGE)


def prepare_environment(config: Config, data: DataDir) -> None:
    """Stage variables and fake credentials as defaults: what the user exported wins; the
    admin token kept in the data directory unless REGISTRY_ADMIN_TOKEN is set.

    Must run before the app is imported (Powertools reads LOG_LEVEL at import) and before
    any boto3 client exists (a client made earlier would talk to real AWS).
    """
    for name, value in config.environment_variables.items():
        os.environ.setdefault(name, str(value))
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    # Here, not in the `local` stage: chalice.test.Client applies that stage's variables to
    # every test, and every change would then publish to a bus most tests do not create.
    os.environ.setdefault("EVENT_BUS_NAME", EVENT_BUS)
    if not os.environ.get("REGISTRY_ADMIN_TOKEN"):
        os.environ["REGISTRY_ADMIN_TOKEN"] = data.admin_token()
    # moto keeps an S3 object over 5 MB in a temporary file, which a forked copy of the state
    # (local/data.py Saver) would share with this process: keep every object in memory.
    os.environ["MOTO_S3_DEFAULT_KEY_BUFFER_SIZE"] = str(1 << 40)


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def ensure_port_free(host: str, port: int) -> None:
    """Fail fast: moto's server thread would otherwise hang on a port already taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise SystemExit(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def provision(settings: Settings) -> str:
    """Create the table, the manifest bucket, the event queue and the run-task queue if
    missing; return the event queue's URL.

    Idempotent, so a runner pointed at a moto that already has them just reuses them.
    """
    dynamodb = aws.client("dynamodb")
    try:
        dynamodb.create_table(**table_definition(settings.table))
    except dynamodb.exceptions.ResourceInUseException:
        log.info("table %s already exists", settings.table)
        # A table kept from an older release gets the indexes added since (GSI3: versions by status).
        for update in missing_indexes(dynamodb.describe_table(TableName=settings.table)["Table"]):
            log.info("adding index %s to table %s", update["GlobalSecondaryIndexUpdates"][0]["Create"]["IndexName"],
                     settings.table)
            dynamodb.update_table(TableName=settings.table, **update)

    s3 = aws.client("s3")
    create: dict[str, Any] = {"Bucket": settings.bucket}
    if region() != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": region()}
    try:
        s3.create_bucket(**create)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
        log.info("bucket %s already exists", settings.bucket)

    sqs = aws.client("sqs")
    queue_url = sqs.create_queue(QueueName=settings.queue_name,
                                 Attributes={"VisibilityTimeout": str(VISIBILITY_TIMEOUT)})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    # What `@app.on_s3_event(events=["s3:ObjectCreated:*"])` wires up in AWS, via SQS instead of Lambda.
    s3.put_bucket_notification_configuration(Bucket=settings.bucket, NotificationConfiguration={
        "QueueConfigurations": [{"Id": "registry-ingest", "QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}],
    })
    sqs.create_queue(QueueName=settings.run_task_queue, Attributes={"VisibilityTimeout": str(VISIBILITY_TIMEOUT)})
    provision_webhooks(os.environ.get("EVENT_BUS_NAME") or EVENT_BUS, settings.webhook_queue)
    return queue_url


def provision_webhooks(bus: str, queue: str) -> str:
    """The audit events' bus, the webhook queue and the rule that sends the registry's events
    from one to the other (deploy/resources.yaml's WebhookRule); the queue's URL. Idempotent:
    moto's EventBridge state is not among what local/data.py keeps, so it is made on each start."""
    events, sqs = aws.client("events"), aws.client("sqs")
    try:
        events.create_event_bus(Name=bus)
    except events.exceptions.ResourceAlreadyExistsException:
        pass
    url = sqs.create_queue(QueueName=queue, Attributes={"VisibilityTimeout": str(WEBHOOK_VISIBILITY_TIMEOUT)})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=WEBHOOK_RULE, EventBusName=bus, EventPattern=json.dumps({"source": ["packer-registry"]}))
    events.put_targets(Rule=WEBHOOK_RULE, EventBusName=bus, Targets=[{"Id": "webhook-queue", "Arn": arn}])
    return url


def sqs_event(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS event source passes a function for one received message."""
    return {"Records": [{
        "messageId": message.get("MessageId", ""), "receiptHandle": message.get("ReceiptHandle", ""),
        "body": message.get("Body", ""), "md5OfBody": message.get("MD5OfBody", ""),
        "attributes": message.get("Attributes", {}), "messageAttributes": {}, "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn, "awsRegion": region()}]}


def scheduled_event(rule: str) -> dict[str, Any]:
    """The event EventBridge passes a scheduled Lambda."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region(),
        "resources": [f"arn:aws:events:{region()}:{ACCOUNT_ID}:rule/{rule}"],
        "detail": {},
    }


class LocalRegistry:
    """moto + HTTP API + S3-event and run-task pollers + sweep timer + state saver; `start()`, then
    `serve_forever()`, then `stop()`."""

    def __init__(self, settings: Settings, config: Config, data: DataDir) -> None:
        self.settings = settings
        self.config = config
        self.data = data
        self.app_module: ModuleType | None = None
        self.queue_url = ""
        self.restored: dict[str, Any] | None = None  # the header of the state restored at start
        self._stop = threading.Event()
        self._moto: Any = None
        self._saver: Saver | None = None
        self._server: LocalDevServer | None = None
        self._relay: TlsRelay | None = None
        self.certificate: Path | None = None  # the token endpoint's, in the data directory
        self._threads: list[threading.Thread] = []

    # ---- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        """Everything up to a listening HTTP socket; safe to `stop()` after a partial start."""
        from local.moto_server import SerializedMotoServer  # heavy import, only needed here

        ensure_port_free("127.0.0.1", self.settings.moto_port)
        ensure_port_free(self.settings.host, self.settings.port)
        ensure_port_free(self.settings.host, self.settings.hcp_auth_port)
        self.app_module = self._import_app()

        self._moto = SerializedMotoServer(ip_address="127.0.0.1", port=self.settings.moto_port, verbose=False)
        started = time.monotonic()
        self.restored = self.data.restore()  # before moto serves anything
        if self.restored:
            log.info("restored the state saved in %s in %.1f s", self.data.snapshot, time.monotonic() - started)
        self._moto.start()
        for name in _SERVICE_ENDPOINT_VARS:
            if os.environ.pop(name, None):
                log.warning("ignoring %s: everything goes to the local moto", name)
        os.environ["AWS_ENDPOINT_URL"] = self.settings.moto_url
        aws.reset()  # no client made so far may point anywhere else
        log.info("moto listening on %s", self.settings.moto_url)

        self.queue_url = provision(self.settings)
        self._saver = Saver(self.data, self._moto.gate)
        self._saver.start()
        # socketserver's listen backlog is 5: a burst of clients (a CI fan-out, a load test)
        # would see refused connections that API Gateway never gives.
        ThreadedHTTPServer.request_queue_size = LISTEN_BACKLOG
        self._server = create_local_server(self.app_module.app, self.config, self.settings.host, self.settings.port)
        self._server.server.RequestHandlerClass = functools.partial(
            JsonErrorsHandler, app_object=self.app_module.app, config=self.config)
        self.certificate, key = ensure_certificate(self.data.path, [self.settings.host])
        self._relay = TlsRelay((self.settings.host, self.settings.hcp_auth_port), self.certificate, key,
                               (self.settings.host, self.settings.port))
        self._relay.serve_in_thread()
        self._spawn("s3-events", self._poll_events)
        self._spawn("run-tasks", functools.partial(self._poll_function, self.settings.run_task_queue, "run_task"))
        self._spawn("webhooks", functools.partial(self._poll_function, self.settings.webhook_queue,
                                                  "webhook_delivery"))
        self._spawn("sweep-schedule", self._run_schedule)

    def serve_forever(self) -> None:
        """Serve HTTP in the calling thread until `shutdown()`."""
        assert self._server is not None, "call start() first"
        if not self._stop.is_set():
            # The underlying server, not LocalDevServer.serve_forever(), which prints its own banner.
            self._server.server.serve_forever()

    def shutdown(self) -> None:
        """Ask everything to stop; callable from a signal handler (never blocks)."""
        self._stop.set()
        if self._server is not None:
            # HTTPServer.shutdown() waits for the serve loop, so it must not run in that thread.
            threading.Thread(target=self._server.shutdown, name="http-shutdown", daemon=True).start()

    def stop(self) -> None:
        """Release everything `start()` acquired, within STOP_WITHIN seconds: threads, HTTP
        socket, then the last save of moto's state (moto stays closed after it), then moto.

        A poll or sweep still running after its share of the time is left behind (its
        thread dies with the process): its DynamoDB calls wait at the closed moto, and the
        S3 event it was ingesting is still in the saved queue, delivered again next time."""
        deadline = time.monotonic() + STOP_WITHIN
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - 3.0 - time.monotonic()))
            if thread.is_alive():
                log.warning("%s still running; left to the restart", thread.name)
        if self._relay is not None:
            self._relay.shutdown()
            self._relay.server_close()
        if self._server is not None:
            self._server.server.server_close()
        if self._saver is not None:
            self._saver.final(timeout=max(0.1, deadline - 2.0 - time.monotonic()))
            log.info("state saved in %s", self.data.path)
        if self._moto is not None:
            self._moto.stop()
        log.info("stopped")

    def banner(self) -> str:
        s = self.settings
        token = s.admin_token
        return "\n".join([
            "",
            f"  API:              {s.api_url}",
            f"  S3 endpoint:      {s.moto_url}",
            f"  Manifest bucket:  {s.bucket}",
            f"  DynamoDB table:   {s.table}",
            f"  Data directory:   {s.data_dir} ({self._data_summary()}; `make reset` empties it)",
            f"  Admin token:      {token}",
            "",
            "  Upload a Packer manifest (moto takes any credentials):",
            "    AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1 \\",
            f"    aws --endpoint-url {s.moto_url} s3 cp packer-manifest.json"
            f" s3://{s.bucket}/my-image/packer-manifest.json",
            "  Read it back:",
            f"    curl -s -H 'Authorization: Bearer {token}' {s.api_url}/buckets/my-image/versions",
            "",
            *self._hcp_banner(),
            "",
            f"Registry ready at {s.api_url} (Ctrl-C to stop)",
        ])

    def _hcp_banner(self) -> list[str]:
        """How to point Packer (or Terraform's hcp provider) at this registry."""
        s = self.settings
        organization, project = hcp_ids()
        return [
            f"  HCP token URL:    {s.auth_url}/oauth2/token (TLS, self-signed: {self.certificate})",
            "  Point Packer at the registry: client credentials first (the secret is shown once):",
            f"    curl -s -X POST -H 'Authorization: Bearer {s.admin_token}' -H 'Content-Type: application/json' \\",
            f"      -d '{{\"name\": \"packer\", \"role\": \"contributor\"}}' {s.api_url}/service-principals",
            "  then export:",
            f"    export HCP_API_ADDRESS={s.host}:{s.port} HCP_API_TLS=disabled"
            f" HCP_AUTH_URL={s.auth_url} HCP_AUTH_TLS=insecure",
            "    export HCP_CLIENT_ID=<client_id> HCP_CLIENT_SECRET=<client_secret>",
            f"    export HCP_ORGANIZATION_ID={organization} HCP_PROJECT_ID={project}",
        ]

    def _data_summary(self) -> str:
        if not self.restored:
            return "new"
        saved = datetime.fromtimestamp(self.restored["taken_at"]).astimezone().strftime("%Y-%m-%d %H:%M:%S")
        return f"state of {saved} restored"

    # ---- Lambda stand-ins ---------------------------------------------------------------

    def context(self, function: str) -> LambdaContext:
        """A Lambda context with the stage's configured timeout and memory for `function`."""
        scoped = self.config.scope(STAGE, function)
        name = f"{self.config.app_name}-{STAGE}-{function}"
        context = LambdaContext(name, scoped.lambda_memory_size or 128, (scoped.lambda_timeout or 60) * 1000)
        context.invoked_function_arn = f"arn:aws:lambda:{region()}:{ACCOUNT_ID}:function:{name}"
        return context

    def _poll_events(self) -> None:
        """Hand each S3 event of the queue S3 notifies to `ingest_manifest`."""
        self._poll(self.queue_url, self._deliver)

    def _poll_function(self, queue: str, function: str) -> None:
        """Hand each message of `queue` to `function` (a run-task request to `run_task`, an
        audit event or a webhook retry to `webhook_delivery`), as Lambda's SQS event source does."""
        sqs = aws.client("sqs")
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self._poll(url, lambda message: self._invoke(function, sqs_event(message, arn), message,
                                                     f"message {message.get('MessageId')} of {queue}"))

    def _poll(self, queue_url: str, deliver: Any) -> None:
        """Poll a queue and `deliver` each message, deleting those it is done with.

        Short polls (every POLL_EVERY s while empty), not long ones: a long poll is a request
        moto keeps running, and the state saver waits for running requests."""
        sqs = aws.client("sqs")
        while not self._stop.is_set():
            try:
                response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                               MessageSystemAttributeNames=["ApproximateReceiveCount"])
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("polling %s failed; retrying", queue_url)
                self._stop.wait(1)
                continue
            if not response.get("Messages"):
                self._stop.wait(POLL_EVERY)
            for message in response.get("Messages", []):
                if self._stop.is_set():
                    return  # the rest stay in the queue for the next start
                if deliver(message):
                    try:
                        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                    except Exception:
                        log.exception("could not delete message %s", message.get("MessageId"))

    def _deliver(self, message: dict[str, Any]) -> bool:
        """Invoke `ingest_manifest` for one S3 event message; True when the message is done with (delete it)."""
        try:
            event = json.loads(message.get("Body", ""))
        except ValueError:
            log.warning("dropping a queue message that is not JSON: %.200s", message.get("Body"))
            return True
        if not isinstance(event, dict) or "Records" not in event:
            log.debug("skipping non-S3-event message (%s)", event.get("Event") if isinstance(event, dict) else "?")
            return True  # e.g. the s3:TestEvent S3 sends when notifications are configured
        keys = [unquote_plus(r.get("s3", {}).get("object", {}).get("key", "")) for r in event["Records"]]
        return self._invoke("ingest_manifest", event, message, f"S3 event for {keys}")

    def _invoke(self, function: str, event: dict[str, Any], message: dict[str, Any], what: str) -> bool:
        """Invoke `function` with `event`, as Lambda would; True when `message` is done with
        (handled, or failed on its last attempt), False to have it delivered again."""
        attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        try:
            getattr(self.app_module, function)(event, self.context(function))
        except Exception:
            if attempt >= MAX_ATTEMPTS:
                log.exception("%s failed for %s on attempt %d; giving up as Lambda would", function, what, attempt)
                return True
            log.exception("%s failed for %s (attempt %d of %d); retrying in ~%d s",
                          function, what, attempt, MAX_ATTEMPTS, VISIBILITY_TIMEOUT)
            return False
        log.info("%s handled %s", function, what)
        return True

    def _run_schedule(self) -> None:
        """Invoke `sweep` every SWEEP_INTERVAL seconds, like its EventBridge rule (first run after one interval)."""
        interval = self.settings.sweep_interval
        rule = f"{self.config.app_name}-{STAGE}-sweep-event"
        due = time.monotonic() + interval
        while not self._stop.wait(max(0.0, due - time.monotonic())):
            due += interval
            started = time.monotonic()
            try:
                self.app_module.sweep(scheduled_event(rule), self.context("sweep"))  # type: ignore[union-attr]
            except Exception:
                log.exception("scheduled sweep failed")
            else:
                log.info("scheduled sweep completed in %.0f ms", (time.monotonic() - started) * 1000)
            due = max(due, time.monotonic())  # a slow sweep delays the next one instead of piling up

    # ---- helpers --------------------------------------------------------------------------

    def _spawn(self, name: str, target: Any) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    @staticmethod
    def _import_app() -> ModuleType:
        if str(PROJECT_DIR) not in sys.path:
            sys.path.insert(0, str(PROJECT_DIR))
        local_gateway_responses()  # the same 401 JSON API Gateway is configured to give
        module = importlib.import_module("app")
        requests_per_thread(module.app)
        return module


def requests_per_thread(app: Any) -> None:
    """Keep Chalice's `app.current_request` (and `lambda_context`) per thread.

    Chalice stores the request being handled on the app object: right on Lambda, where a
    process handles one request at a time, but under the threaded local server a route could
    read another request's body or identity. A subclass with thread-local properties fixes
    that for the local runner only; what Lambda runs is unchanged.
    """
    if getattr(type(app), "_per_thread", False):
        return
    state = threading.local()

    def slot(name: str) -> property:
        return property(lambda self: getattr(state, name, None), lambda self, value: setattr(state, name, value))

    app.__class__ = type(type(app).__name__, (type(app),), {
        "_per_thread": True, "current_request": slot("current_request"), "lambda_context": slot("lambda_context")})


class RouteNotFound(LocalGatewayException):
    CODE = 404


class RegistryGateway(LocalGateway):
    """Chalice's local gateway, but a path no route has is API Gateway's
    MISSING_AUTHENTICATION_TOKEN as scripts/deploy.sh configures it: a 404 in the registry's
    JSON shape. (Chalice answers 403 with API Gateway's default text, which quotes the
    caller's Authorization header back.) Under the HCP API's prefixes it is the HCP answer
    (404 code 5), which API Gateway gives through the `{proxy+}` routes that Chalice's local
    matcher takes for one segment only (chalicelib/api/hcp/unserved.py)."""

    def _generate_lambda_event(self, method: str, path: str, headers: Any, body: bytes | None) -> Any:
        try:
            return super()._generate_lambda_event(method, path, headers, body)
        except ValueError:  # RouteMatcher: no route matches the path
            from chalicelib.api import hcp
            from chalicelib.api.hcp import unserved

            route = path.split("?", 1)[0]
            if hcp.serves(route):
                answer = unserved.not_found(method, route)
                raise RouteNotFound(answer.headers, str(answer.body).encode()) from None
            raise RouteNotFound({"Content-Type": "application/json"}, json.dumps(NO_SUCH_ROUTE).encode()) from None


class JsonErrorsHandler(ChaliceRequestHandler):
    """Chalice's local handler, with every answer Python's HTTP server gives itself in the
    registry's JSON error shape instead of an HTML page, and no request text in it:
    - a method it has no handler for (TRACE, CONNECT, …) is a 405, as API Gateway refuses it;
    - a header line over 65,536 bytes (a 100 KB bearer token) or over 100 headers is a 431
      naming the limit; a request line over 65,536 bytes a 414."""

    # The limits of Python's http.server (http.client._MAXLINE, _MAXHEADERS).
    MAX_LINE, MAX_HEADERS = 65536, 100
    _DRAIN_AT_MOST = 1 << 20  # bytes of an oversized request read (and dropped) before answering

    def __init__(self, request: Any, client_address: Any, server: Any, app_object: Chalice, config: Config) -> None:
        self.local_gateway = RegistryGateway(app_object, config)
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)  # handles the request

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        error, text = self._describe(code, message)
        if code in (431, 414):
            self._drain_headers()
        body = json.dumps({"error": error, "message": text}).encode()
        self.log_error("code %d, %s", code, text)
        self.send_response(code if code != 501 else 405)
        self.send_header("Connection", "close")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.close_connection = True
        if self.command != "HEAD":
            self.wfile.write(body)

    def _describe(self, code: int, message: str | None) -> tuple[str, str]:
        if code == 501:
            return "MethodNotAllowed", f"{self.command} is not supported"
        if code == 431 and message == "Too many headers":
            return "RequestHeaderFieldsTooLarge", f"a request may have at most {self.MAX_HEADERS} headers"
        if code == 431:
            return "RequestHeaderFieldsTooLarge", f"a request header line may be at most {self.MAX_LINE:,} bytes"
        if code == 414:
            return "URITooLong", f"the request line may be at most {self.MAX_LINE:,} bytes"
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Bad Request"
        return phrase.title().replace(" ", "").replace("-", ""), f"the request could not be read: {phrase.lower()}"

    def _drain_headers(self) -> None:
        """Read what is left of the oversized headers (bounded in bytes and time), so the
        client, still sending, gets the answer instead of a connection reset."""
        self.connection.settimeout(1.0)
        read, at_line_start = 0, False
        try:
            while read < self._DRAIN_AT_MOST:
                line = self.rfile.readline(self.MAX_LINE + 1)
                read += len(line)
                if not line or (at_line_start and line in (b"\r\n", b"\n")):
                    return
                at_line_start = line.endswith(b"\n")
        except OSError:
            return


def hcp_ids() -> tuple[str, str]:
    """The HCP organization and project the registry answers as (HCP_ORGANIZATION_ID and
    HCP_PROJECT_ID): REGISTRY_ORGANIZATION_ID / REGISTRY_PROJECT_ID, else the ones kept in the table."""
    from chalicelib.services import identity

    return identity.ids()


def main() -> int:
    """Start, print the banner, serve until SIGINT/SIGTERM; 0 on a clean stop."""
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto logs every request, polls included
    logging.getLogger("botocore").setLevel(logging.WARNING)  # "Found credentials ..." per client

    config = load_config()
    data = DataDir(data_dir())
    data.acquire()
    prepare_environment(config, data)
    registry = LocalRegistry(Settings.from_env(), config, data)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("%s received, stopping", signal.Signals(signum).name)
        registry.shutdown()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        registry.start()
        print(registry.banner(), flush=True)
        registry.serve_forever()
    finally:
        registry.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
