"""`packer-registry`: the commands, their arguments and their exit codes.

Each command is one function taking the parsed arguments and a `Context` (the API client,
made on first use so `login`, `logout` and `upload` without `--wait` need no login) and
returning its exit code. Errors of the API end a command with its message on stderr.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
from functools import cached_property
from typing import Any, Callable, Sequence

from cli import config, output
from cli.client import ApiError, Client, quoted
from cli.config import Login, NotLoggedIn

# Exit codes (README "Command line"):
OK = 0
FAILED = 1  # the answer is no: `check` found a revoked image, `query` a revoked version, `upload --wait` a rejection
USAGE = 2  # bad arguments (argparse's own code)
API_ERROR = 3  # the registry answered an error (its message is printed), or could not be reached
NOT_LOGGED_IN = 4  # no URL or token: neither `login` nor PACKER_REGISTRY_URL / PACKER_REGISTRY_TOKEN
TIMED_OUT = 5  # `upload --wait` gave up before the ingestion record appeared

PROG = "packer-registry"


class Context:
    """What a command works with: its output mode and the API client (made on first use)."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    @cached_property
    def client(self) -> Client:
        return Client(config.current())

    def emit(self, value: Any, human: Callable[[Any], str]) -> None:
        """`value` as JSON with `--json`, else as `human` writes it."""
        print(output.to_json(value) if self.as_json else human(value))

    def listing(self, path: str, columns: Sequence[output.Column], params: dict[str, str] | None = None,
                limit: int | None = None) -> int:
        """Every item of a list (or `limit` of them): a JSON array, or a table of `columns`."""
        items = list(self.client.items(path, params, limit))
        self.emit(items, lambda rows: output.table(rows, columns))
        return OK


def fail(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


# ---- login ------------------------------------------------------------------------------

def cmd_login(args: argparse.Namespace, ctx: Context) -> int:
    """Check the token against the registry (GET /whoami), then store URL and token."""
    token = read_token()
    if not token:
        fail("no token given (type it at the prompt, or pipe it: `echo $TOKEN | packer-registry login URL`)")
        return USAGE
    login = Login(config.normalise_url(args.url), token)
    identity = Client(login).get("/whoami")
    path = config.save(login)
    ctx.emit({"url": login.url, **identity, "config": str(path)},
             lambda i: f"Logged in to {i['url']} as {i['name']} ({i['role']}); saved in {i['config']}")
    return OK


def read_token() -> str:
    """The token from a prompt that does not echo it, or the first line of piped input: never
    an argument, which `ps` and the shell's history would show."""
    if sys.stdin.isatty():
        return getpass.getpass("Token: ").strip()
    return sys.stdin.readline().strip()


def cmd_logout(args: argparse.Namespace, ctx: Context) -> int:
    removed = config.forget()
    print(f"Removed {config.config_path()}" if removed else "Not logged in: nothing to remove")
    return OK


def cmd_whoami(args: argparse.Namespace, ctx: Context) -> int:
    identity = ctx.client.get("/whoami")
    ctx.emit({"url": ctx.client.login.url, **identity},
             lambda i: f"{i['name']} ({i['role']}) at {i['url']}")
    return OK


# ---- buckets and versions -----------------------------------------------------------------

BUCKET_COLUMNS: list[output.Column] = [
    ("NAME", lambda b: b["name"]),
    ("VERSIONS", lambda b: b["version_count"]),
    ("LATEST", lambda b: b["latest_version"]),
    ("CHANNELS", lambda b: [f"{c['name']}:{c['version'] or '-'}" for c in b.get("channels") or []]),
    ("UPDATED", lambda b: output.short_time(b["updated_at"])),
    ("DESCRIPTION", lambda b: b["description"]),
]


# List options → the API's query parameters (issue 14's filters), passed through as given:
# the registry checks them, so the CLI needs no change as it learns new values.
BUCKET_FILTERS = ("prefix",)
VERSION_FILTERS = ("status", "ancestry_status", "platform", "region", "created_after", "created_before", "channel")


def list_filters(args: argparse.Namespace, options: tuple[str, ...]) -> dict[str, str]:
    """The filters given (`--label` repeated: `labels=k:v,…`, all must match)."""
    params = {option: getattr(args, option) for option in options}
    if args.label:
        params["labels"] = ",".join(args.label)
    return {k: v for k, v in params.items() if v}


def cmd_buckets(args: argparse.Namespace, ctx: Context) -> int:
    return ctx.listing("/buckets", BUCKET_COLUMNS, list_filters(args, BUCKET_FILTERS), args.limit)


VERSION_COLUMNS: list[output.Column] = [
    ("VERSION", lambda v: v["name"]),
    ("STATUS", lambda v: v["status"]),
    ("ANCESTRY", lambda v: v["ancestry_status"]),
    ("BUILDS", lambda v: v["build_count"]),
    ("CREATED", lambda v: output.short_time(v["created_at"])),
    ("FINGERPRINT", lambda v: v["fingerprint"]),
]


def cmd_versions(args: argparse.Namespace, ctx: Context) -> int:
    return ctx.listing(quoted("buckets", args.bucket, "versions"), VERSION_COLUMNS, list_filters(args, VERSION_FILTERS), args.limit)


def cmd_show(args: argparse.Namespace, ctx: Context) -> int:
    version = ctx.client.get(quoted("buckets", args.bucket, "versions", args.version))
    ctx.emit(version, describe_version)
    return OK


def describe_version(v: dict[str, Any]) -> str:
    """A version's summary, its revocation and ancestry, then one row per artifact."""
    revocation = v.get("revocation") or {}
    parents = [f"{p['bucket']} {p['version']}" + (f" (channel {p['channel']})" if p.get("channel") else "")
               for p in v.get("parents") or []]
    summary = output.fields([
        ("Bucket", v["bucket"]), ("Version", v["name"]), ("Fingerprint", v["fingerprint"]), ("ID", v.get("id")),
        ("Status", v["status"]), ("Created", v["created_at"]),
        ("Revoked", revocation.get("revoked_at")), ("Revoke at", revocation.get("revoke_at")),
        ("Revoked by", revocation.get("revoked_by")), ("Reason", revocation.get("reason")),
        ("Inherited from", revocation.get("inherited_from")),
        ("Parents", parents), ("Ancestry", v.get("ancestry_status")),
    ])
    messages = "".join(f"\n  {finding_line(f)}" for f in v.get("ancestry_findings") or [])
    messages += "".join(f"\n  {u['message']} — information, not a finding" for u in v.get("untracked") or [])
    artifacts = [(b, a) for b in v.get("builds") or [] for a in b.get("artifacts") or [{}]]
    builds = output.table(artifacts, [
        ("COMPONENT", lambda ba: ba[0]["component_type"]),
        ("PLATFORM", lambda ba: ba[0]["platform"]),
        ("REGION", lambda ba: ba[1].get("region")),
        ("EXTERNAL ID", lambda ba: ba[1].get("external_id")),
        ("BUILD TIME", lambda ba: output.short_time(ba[0].get("build_time"))),
    ])
    return f"{summary}{messages}\n\n{builds}"


def finding_line(finding: dict[str, Any]) -> str:
    """A finding as the API gives it: its own status, its sentence, how its link was found
    ("undetermined: parent not found: … (named in the manifest: parent_bucket, parent_version)")."""
    how = f" ({finding['how']})" if finding.get("how") else ""
    return f"{str(finding.get('status') or 'note').replace('_', ' ')}: {finding['message']}{how}"


# ---- channels -----------------------------------------------------------------------------

def channel_path(bucket: str, channel: str, *more: str) -> str:
    return quoted("buckets", bucket, "channels", channel, *more)


CHANNEL_COLUMNS: list[output.Column] = [
    ("CHANNEL", lambda c: c["name"]),
    ("VERSION", lambda c: c["version"]),
    ("STATUS", lambda c: c["version_status"]),
    ("RESTRICTED", lambda c: c["restricted"]),
    ("UPDATED", lambda c: output.short_time(c["updated_at"])),
    ("BY", lambda c: c.get("updated_by")),
]


def cmd_channel_list(args: argparse.Namespace, ctx: Context) -> int:
    return ctx.listing(quoted("buckets", args.bucket, "channels"), CHANNEL_COLUMNS, limit=args.limit)


def cmd_channel_set(args: argparse.Namespace, ctx: Context) -> int:
    """Assign the version; a channel that does not exist yet is created with it (one more
    request), as `set` suggests."""
    client, path, body = ctx.client, channel_path(args.bucket, args.channel), {"version": args.version}
    try:
        channel = client.call("PATCH", path, body=body)
    except ApiError as missing:
        if missing.status != 404:
            raise
        channel = create_assigned(client, args.bucket, args.channel, args.version)
    ctx.emit(channel, lambda c: f"{c['bucket']}/{c['name']} → {c['version']}")
    return OK


def create_assigned(client: Client, bucket: str, name: str, version: str) -> Any:
    """POST the channel with its version, after its PATCH answered 404. The POST names a
    missing bucket or version (404) itself. Its 409 is either the real reason (the version is
    revoked or still being built) or a channel created meanwhile: the PATCH again then succeeds
    or says what is wrong, and if it still finds no channel, the POST's 409 is the answer
    (never the PATCH's "no channel")."""
    try:
        return client.call("POST", quoted("buckets", bucket, "channels"), body={"name": name, "version": version})
    except ApiError as refused:
        if refused.status != 409:
            raise
        try:
            return client.call("PATCH", channel_path(bucket, name), body={"version": version})
        except ApiError as again:
            raise refused if again.status == 404 else again from None


def cmd_channel_unset(args: argparse.Namespace, ctx: Context) -> int:
    channel = ctx.client.call("PATCH", channel_path(args.bucket, args.channel), body={"version": None})
    ctx.emit(channel, lambda c: f"{c['bucket']}/{c['name']} → (unassigned)")
    return OK


HISTORY_COLUMNS: list[output.Column] = [
    ("AT", lambda h: output.short_time(h["at"])),
    ("CAUSE", lambda h: h["cause"]),
    ("FROM", lambda h: h["from_version"]),
    ("TO", lambda h: h["to_version"]),
    ("AUTHOR", lambda h: h["author"]),
]


def cmd_channel_history(args: argparse.Namespace, ctx: Context) -> int:
    return ctx.listing(channel_path(args.bucket, args.channel, "history"), HISTORY_COLUMNS, limit=args.limit)


# ---- revocation ---------------------------------------------------------------------------

def cmd_revoke(args: argparse.Namespace, ctx: Context) -> int:
    body = {"reason": args.reason, "revoke_at": args.at, "revoke_in": args.revoke_in,
            "skip_descendants_revocation": args.skip_descendants, "disable_rollback_channels": args.no_rollback}
    version = ctx.client.call("POST", quoted("buckets", args.bucket, "versions", args.version, "revoke"),
                              body={k: v for k, v in body.items() if v is not None})
    ctx.emit(version, lifecycle_line)
    return OK


def cmd_restore(args: argparse.Namespace, ctx: Context) -> int:
    version = ctx.client.call("POST", quoted("buckets", args.bucket, "versions", args.version, "restore"))
    ctx.emit(version, lifecycle_line)
    return OK


def lifecycle_line(v: dict[str, Any]) -> str:
    """`base v2: revoked (reason)`, `…: revocation_scheduled for <time> (reason)`, `…: active`."""
    revocation = v.get("revocation") or {}
    when = f" for {revocation['revoke_at']}" if v["status"] == "revocation_scheduled" else ""
    reason = f" ({revocation['reason']})" if revocation.get("reason") else ""
    return f"{v['bucket']} {v['name']}: {v['status']}{when}{reason}"


# ---- bulk revocation -----------------------------------------------------------------------

def cmd_revoke_bulk(args: argparse.Namespace, ctx: Context) -> int:
    """POST /buckets/{b}/revocations (or /revocations without a bucket); `--wait` follows the
    job until it is done. Exit 1 when versions failed, 5 when --wait timed out."""
    criteria = {"created_before": args.created_before, "external_ids": args.external_id,
                "labels": dict(pair.split(":", 1) for pair in args.label) if args.label else None,
                "parent": dict(zip(("bucket", "version"), args.parent.split("/", 1))) if args.parent else None}
    body = {"reason": args.reason, "revoke_at": args.at, "revoke_in": args.revoke_in, "buckets": args.buckets,
            "skip_descendants_revocation": args.skip_descendants, "disable_rollback_channels": args.no_rollback,
            "dry_run": args.dry_run, "filter": {k: v for k, v in criteria.items() if v is not None}}
    path = quoted("buckets", args.bucket, "revocations") if args.bucket else "/revocations"
    answer = ctx.client.call("POST", path, body={k: v for k, v in body.items() if v is not None})
    if args.dry_run:
        ctx.emit(answer, describe_preview)
        return OK
    if args.wait:
        from cli.upload import POLL_INTERVAL, Progress

        progress = Progress(f"Waiting for revocation {answer['id']}")
        deadline = time.monotonic() + args.timeout
        try:
            while answer["status"] != "done" and time.monotonic() < deadline:
                time.sleep(POLL_INTERVAL)
                progress.tick()
                answer = ctx.client.get(quoted("revocations", answer["id"]))
        finally:
            progress.done()
    ctx.emit(answer, describe_job)
    if answer["counts"]["failed"]:
        return FAILED
    return TIMED_OUT if args.wait and answer["status"] != "done" else OK


def cmd_revocation(args: argparse.Namespace, ctx: Context) -> int:
    ctx.emit(ctx.client.get(quoted("revocations", args.id)), describe_job)
    return OK


def describe_preview(answer: dict[str, Any]) -> str:
    lines = [output.table(answer["versions"], [
        ("BUCKET", lambda v: v["bucket"]), ("VERSION", lambda v: v["version"]), ("STATUS", lambda v: v["status"]),
        ("ACTION", lambda v: v["action"]), ("SKIPPED BECAUSE", lambda v: v["skip_reason"])])]
    if answer["truncated"]:
        lines.append("… and more (the dry run lists 100)")
    if answer["descendants"]:
        lines += ["", "Descendants that would inherit the revocation:", output.table(answer["descendants"], [
            ("BUCKET", lambda v: v["bucket"]), ("VERSION", lambda v: v["version"]),
            ("FROM", lambda v: v["inherited_from"])])]
        if answer["descendants_truncated"]:
            lines.append("… and more")
    return "\n".join(lines)


def describe_job(job: dict[str, Any]) -> str:
    counts = job["counts"]
    lines = [output.fields([
        ("Revocation", job["id"]), ("Status", job["status"]), ("Bucket", job["bucket"] or "(across buckets)"),
        ("Reason", job["reason"]), ("Revoke at", job["revoke_at"]), ("Matched", counts["matched"]),
        ("Revoked", counts["revoked"]), ("Scheduled", counts["scheduled"]),
        ("Skipped", ", ".join(f"{n} {why.replace('_', ' ')}" for why, n in counts["skipped"].items() if n) or "0"),
        ("Failed", counts["failed"]), ("Batches", job["batches"])])]
    if job["failures"]:
        lines += ["", output.table(job["failures"], [("BUCKET", lambda f: f["bucket"]),
                                                     ("VERSION", lambda f: f["version"]),
                                                     ("WHY", lambda f: f["reason"])])]
    return "\n".join(lines)


# ---- the consumer query and the compliance check -------------------------------------------

def cmd_query(args: argparse.Namespace, ctx: Context) -> int:
    """The external ID alone, for `AMI=$(packer-registry query …)`; a channel holding a
    revoked version is exit 1 with the registry's explanation on stderr."""
    params = {"platform": args.platform, "region": args.region, "component_type": args.component_type,
              "labels": ",".join(args.label) if args.label else None}
    try:
        artifact = ctx.client.get(channel_path(args.bucket, args.channel, "artifact"), **params)
    except ApiError as error:
        if error.status != 409:
            raise
        fail(str(error))
        return FAILED
    ctx.emit(artifact, lambda a: a["external_id"])
    return OK


def cmd_check(args: argparse.Namespace, ctx: Context) -> int:
    """POST the plan (or `{"artifacts": […]}`) as it is; exit 1 unless it passes."""
    try:
        text = sys.stdin.read() if args.plan == "-" else open(args.plan, encoding="utf-8").read()
        plan = json.loads(text)
    except OSError as error:
        fail(f"cannot read {args.plan}: {error.strerror or error}")
        return USAGE
    except ValueError as error:
        fail(f"{args.plan} is not JSON ({error}); give `terraform show -json plan.out` output")
        return USAGE
    verdict = ctx.client.call("POST", "/compliance/check", body=plan)
    ctx.emit(verdict, describe_check)
    return OK if verdict["passed"] else FAILED


def describe_check(c: dict[str, Any]) -> str:
    rows = output.table(c["results"], [
        ("ARTIFACT", lambda r: r["artifact"]),
        ("VERDICT", lambda r: r["verdict"]),
        ("BUCKET", lambda r: r["bucket"]),
        ("VERSION", lambda r: r["version"]),
        ("MESSAGE", lambda r: r["message"]),
    ])
    counts = ", ".join(f"{n} {verdict.replace('_', ' ')}" for verdict, n in c["counts"].items() if n)
    return f"{rows}\n\n{'passed' if c['passed'] else 'FAILED'}: {counts or 'no image IDs found'}"


# ---- upload -------------------------------------------------------------------------------

def cmd_upload(args: argparse.Namespace, ctx: Context) -> int:
    from cli import upload  # boto3 loads only here

    return upload.run(args, ctx)


# ---- the parser -----------------------------------------------------------------------------

def label(value: str) -> str:
    """`--label key:value` (argparse type)."""
    key, sep, _ = value.partition(":")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"labels look like key:value, not {value!r}")
    return value


def parent(value: str) -> str:
    """`--parent bucket/version` (argparse type)."""
    bucket, sep, version = value.partition("/")
    if not sep or not bucket or not version:
        raise argparse.ArgumentTypeError(f"a parent looks like bucket/version (base/v3), not {value!r}")
    return value


def positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"a whole number of at least 1, not {value!r}")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    # --json is accepted before or after the command; SUPPRESS keeps a command's parser from
    # resetting what the top level saw.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print the API's JSON instead of a table (for scripts)")
    parser = argparse.ArgumentParser(
        prog=PROG, parents=[common],
        description="The Packer artifact registry from the command line. Uses the login stored by "
                    "`login`, or PACKER_REGISTRY_URL and PACKER_REGISTRY_TOKEN.",
        epilog="Exit codes: 0 ok; 1 a check failed (revoked image, revoked channel, rejected upload); "
               "2 usage; 3 the registry answered an error (its message is shown) or is unreachable; "
               "4 not logged in; 5 timed out waiting.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Callable[..., int], help: str, parent: Any = commands) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = parent.add_parser(name, parents=[common], help=help, description=help)
        sub.set_defaults(handler=handler)
        return sub

    def limit(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--limit", type=positive, metavar="N", help="at most N items (default: all, page after page)")

    sub = command("login", cmd_login, "check a token against the registry and store both (mode 0600)")
    sub.add_argument("url", help="the registry's API URL, e.g. http://127.0.0.1:8000")
    command("logout", cmd_logout, "delete the stored login")
    command("whoami", cmd_whoami, "the name and role of the token in use")

    sub = command("buckets", cmd_buckets, "list buckets")
    sub.add_argument("--prefix", help="only buckets whose name starts with this")
    sub.add_argument("--label", action="append", type=label, metavar="KEY:VALUE",
                     help="with this bucket label (repeat: all must match)")
    limit(sub)

    sub = command("versions", cmd_versions, "list a bucket's versions, newest first")
    sub.add_argument("bucket")
    sub.add_argument("--status", help="active, running, revoked or revocation_scheduled")
    sub.add_argument("--ancestry-status", help="up_to_date, out_of_date, undetermined or parent_revoked")
    sub.add_argument("--platform", help="with a build on this platform (aws, azure, gce, docker, …)")
    sub.add_argument("--region", help="with an artifact in this region")
    sub.add_argument("--label", action="append", type=label, metavar="KEY:VALUE",
                     help="with this build label (repeat: all must match)")
    sub.add_argument("--created-after", metavar="TIME", help="ISO 8601")
    sub.add_argument("--created-before", metavar="TIME", help="ISO 8601")
    sub.add_argument("--channel", help="versions this channel has held")
    limit(sub)

    sub = command("show", cmd_show, "one version with its builds and artifacts")
    sub.add_argument("bucket")
    sub.add_argument("version", help="a name (v3), fingerprint or id")

    channel = commands.add_parser("channel", help="list, assign, unassign a channel; its history",
                                  description="Channels of a bucket.")
    channel_commands = channel.add_subparsers(dest="channel_command", required=True, metavar="SUBCOMMAND")
    sub = command("list", cmd_channel_list, "a bucket's channels", channel_commands)
    sub.add_argument("bucket")
    limit(sub)
    sub = command("set", cmd_channel_set, "point a channel at a version (creating the channel if needed)",
                  channel_commands)
    sub.add_argument("bucket")
    sub.add_argument("channel")
    sub.add_argument("version")
    sub = command("unset", cmd_channel_unset, "leave a channel unassigned", channel_commands)
    sub.add_argument("bucket")
    sub.add_argument("channel")
    sub = command("history", cmd_channel_history, "a channel's assignments, newest first", channel_commands)
    sub.add_argument("bucket")
    sub.add_argument("channel")
    limit(sub)

    sub = command("revoke", cmd_revoke, "revoke a version now or later (channels roll back)")
    sub.add_argument("bucket")
    sub.add_argument("version")
    sub.add_argument("--reason", required=True)
    when = sub.add_mutually_exclusive_group()
    when.add_argument("--at", metavar="TIME", help="revoke at this ISO 8601 time (future: scheduled)")
    when.add_argument("--in", dest="revoke_in", metavar="DURATION", help="revoke after 30d, 2h45m, …")
    sub.add_argument("--skip-descendants", action="store_true", help="do not revoke images built from it")
    sub.add_argument("--no-rollback", action="store_true",
                     help="keep it on its channels (their consumers get an error) instead of rolling them back")

    sub = command("revoke-bulk", cmd_revoke_bulk,
                  "revoke every version a filter selects, in a bucket or (admins) across buckets")
    sub.add_argument("bucket", nargs="?", help="the bucket (default: across buckets, --buckets or all)")
    sub.add_argument("--reason", required=True)
    sub.add_argument("--created-before", metavar="TIME", help="versions created before this ISO 8601 time")
    sub.add_argument("--label", action="append", type=label, metavar="KEY:VALUE",
                     help="versions with a build with this label (repeat: all must match)")
    sub.add_argument("--parent", metavar="BUCKET/VERSION", type=parent, help="versions built on this version")
    sub.add_argument("--external-id", action="append", metavar="ID", help="versions that made this artifact (repeat)")
    sub.add_argument("--buckets", type=lambda v: v.split(","), metavar="A,B", help="across buckets: only these")
    when = sub.add_mutually_exclusive_group()
    when.add_argument("--at", metavar="TIME", help="revoke at this ISO 8601 time (future: scheduled)")
    when.add_argument("--in", dest="revoke_in", metavar="DURATION", help="revoke after 30d, 2h45m, …")
    sub.add_argument("--skip-descendants", action="store_true", help="do not revoke images built from them")
    sub.add_argument("--no-rollback", action="store_true", help="keep them on their channels")
    sub.add_argument("--dry-run", action="store_true", help="show what would be revoked; change nothing")
    sub.add_argument("--wait", action="store_true", help="follow the job until the sweep has applied all of it")
    sub.add_argument("--timeout", type=positive, default=600, metavar="SECONDS",
                     help="how long --wait waits (default 600)")
    sub = command("revocation", cmd_revocation, "a bulk revocation's progress")
    sub.add_argument("id")

    sub = command("restore", cmd_restore, "undo a revocation, or cancel a scheduled one")
    sub.add_argument("bucket")
    sub.add_argument("version")

    sub = command("query", cmd_query, "print the external ID a channel serves (for shell use)")
    sub.add_argument("bucket")
    sub.add_argument("channel")
    sub.add_argument("--platform", required=True, help="aws, azure, gce, docker, …")
    sub.add_argument("--region", help="needed when the artifacts are in several regions")
    sub.add_argument("--component-type", help="e.g. amazon-ebs.ubuntu, when the version has several")
    sub.add_argument("--label", action="append", type=label, metavar="KEY:VALUE", help="build label (repeat)")

    sub = command("upload", cmd_upload, "put a Packer manifest in the manifest bucket; --wait for its ingestion")
    sub.add_argument("manifest", help="a packer-manifest.json")
    sub.add_argument("--bucket", help="the registry bucket (image family) it is for; default: the "
                                      "manifest's custom_data.bucket_name")
    sub.add_argument("--key", help="the S3 key (default: <bucket>/packer-manifest-<UTC time>.json)")
    sub.add_argument("--manifest-bucket", metavar="S3_BUCKET",
                     help="the S3 bucket (default: $MANIFEST_BUCKET, else packer-manifests)")
    sub.add_argument("--endpoint-url", metavar="URL", help="the S3 endpoint (default: $AWS_ENDPOINT_URL, else AWS)")
    sub.add_argument("--wait", action="store_true", help="wait for the ingestion record and print it")
    sub.add_argument("--timeout", type=positive, default=120, metavar="SECONDS",
                     help="how long --wait waits (default 120)")

    sub = command("check", cmd_check, "check a Terraform plan's images: exit 1 when one is revoked")
    sub.add_argument("plan", metavar="PLAN.json", help="`terraform show -json plan.out` output, or - for stdin")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    ctx = Context(as_json=getattr(args, "json", False))
    try:
        code: int = args.handler(args, ctx)
        return code
    except NotLoggedIn as error:
        fail(str(error))
        return NOT_LOGGED_IN
    except ApiError as error:
        fail(str(error))
        return API_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `packer-registry versions base | head`: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
        return OK
