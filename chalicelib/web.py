"""The registry web page: static files shipped in the package (placeholder)."""

from chalice import Response


def page(name: str) -> Response:
    return Response(body="<!doctype html><title>Packer registry</title>", status_code=200,
                    headers={"Content-Type": "text/html; charset=utf-8"})
