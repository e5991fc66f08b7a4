"""The local moto server serialises DynamoDB requests only (a timing-free regression test:
the runner's SQS long poll once held the lock, so every DynamoDB call waited up to 1 s)."""

from chalicelib.localmoto import _OneAtATime


def _lock_state_seen_by_the_app(target: str) -> bytes:
    wrapper = _OneAtATime(lambda environ, start_response: [b"locked" if wrapper.lock.locked() else b"free"])
    return b"".join(wrapper({"HTTP_X_AMZ_TARGET": target} if target else {}, lambda *a: None))


def test_dynamodb_requests_run_alone():
    assert _lock_state_seen_by_the_app("DynamoDB_20120810.TransactWriteItems") == b"locked"


def test_s3_and_sqs_requests_never_wait_for_the_lock():
    assert _lock_state_seen_by_the_app("") == b"free"  # S3: no target header
    assert _lock_state_seen_by_the_app("AmazonSQS.ReceiveMessage") == b"free"
