"""The API as OpenAPI 3 (placeholder)."""


def document() -> dict:
    return {"openapi": "3.0.3", "info": {"title": "Packer artifact registry", "version": "1"}, "paths": {}}
