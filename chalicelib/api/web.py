"""The registry web page: static files shipped in the package, served by the app itself.

`GET /` is `index.html`; `GET /static/{asset}` is one of the other shipped files. Only the
files named in `ASSETS` are served (no path is ever built from the request beyond a lookup
in that table), each read once per container and kept in memory. The page is plain HTML,
CSS and JavaScript with no third-party code and no network access beyond this API, so it
works offline; its Content-Security-Policy allows nothing else.

The JavaScript is native ES modules, with no build step: `index.html` loads `app.js` as a
module script, and each module imports the others by relative URL (`./api.js`), so they
resolve under `static/` behind API Gateway's stage prefix too. Same-origin module scripts are
what `script-src 'self'` already allows. A new module is a new line in `ASSETS` (a test
checks the list against the folder and every import against the list).
"""

from __future__ import annotations

from pathlib import Path

from chalice import Response

from ..errors import NotFound

WEB_DIR = Path(__file__).resolve().parent / "assets"
JS = "text/javascript; charset=utf-8"
# The shipped files and their media types: the allow-list.
ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
    # The page's ES modules: app.js (routing) is the one index.html loads; it imports the rest.
    "app.js": JS,
    "actions.js": JS,
    "api.js": JS,
    "bucket-list.js": JS,
    "bucket.js": JS,
    "compliance.js": JS,
    "controls.js": JS,
    "dom.js": JS,
    "format.js": JS,
    "ingestions.js": JS,
    "links.js": JS,
    "messages.js": JS,
    "session.js": JS,
    "version.js": JS,
}
# The page talks only to its own origin; nothing inline, no frames, no plugins.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
_cache: dict[str, str] = {}


def page(name: str) -> Response:
    """One shipped file with its Content-Type; 404 (JSON, via the error middleware) otherwise."""
    content_type = ASSETS.get(name)
    if content_type is None:
        raise NotFound(f"no page asset {name!r}; the page's files are {', '.join(sorted(ASSETS))}")
    body = _cache.get(name)
    if body is None:
        body = _cache[name] = (WEB_DIR / name).read_text(encoding="utf-8")
    headers: dict[str, str | list[str]] = {  # chalice's header type (a list: a repeated header)
        "Content-Type": content_type,
        # No ETag handling here, so let the browser revalidate (the files are small).
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if name == "index.html":
        headers["Content-Security-Policy"] = CSP
        headers["X-Frame-Options"] = "DENY"
    return Response(body=body, status_code=200, headers=headers)
