"""Add compiled bytecode to a Lambda deployment.zip (scripts/package.sh runs it).

Lambda's /var/task is read-only, so a package without bytecode compiles every module it
imports on each cold start (and cannot cache the result). Every .py in the zip gets its
`__pycache__/<name>.cpython-XY.pyc` beside it, compiled by this Python (the Lambda runtime's
version: `chalice package` picks the runtime from it too) with `unchecked-hash` invalidation:
the loader neither stats the source nor checks a timestamp (zip entries would carry the build
machine's), it just loads the bytecode.

The .py files stay: tracebacks in CloudWatch show their source lines, and should the runtime's
Python ever differ from this one, its loader ignores bytecode of another tag and compiles the
sources as before. The cost is the size of the sources (a fraction of the zip).
"""

from __future__ import annotations

import compileall
import py_compile
import sys
import tempfile
import zipfile
from pathlib import Path


def add_bytecode(zip_path: Path) -> int:
    """Rewrite `zip_path` with a .pyc for each .py; returns how many were written. Bytecode the
    zip held already (`chalice package` copies the project's __pycache__ folders: timestamp
    .pyc files whose timestamps the zip does not keep, so the loader finds them stale) is
    replaced."""
    with tempfile.TemporaryDirectory() as work:
        root = Path(work) / "package"
        with zipfile.ZipFile(zip_path) as archive:
            entries = archive.infolist()
            archive.extractall(root)
        for stale in root.rglob("*.pyc"):
            stale.unlink()
        if not compileall.compile_dir(str(root), quiet=2, workers=0, force=True,
                                      invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH):
            raise SystemExit(f"error: compiling the sources of {zip_path} failed")
        compiled = sorted(root.rglob("*.pyc"))
        rewritten = zip_path.with_suffix(".tmp")
        with zipfile.ZipFile(zip_path) as source, \
                zipfile.ZipFile(rewritten, "w", compression=zipfile.ZIP_DEFLATED) as target:
            for entry in (e for e in entries if not e.filename.endswith(".pyc")):
                target.writestr(entry, source.read(entry.filename), compress_type=entry.compress_type)
            for path in compiled:
                info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                target.writestr(info, path.read_bytes(), compress_type=zipfile.ZIP_DEFLATED)
        rewritten.replace(zip_path)
    return len(compiled)


if __name__ == "__main__":
    print(f"added {add_bytecode(Path(sys.argv[1]))} compiled modules to {sys.argv[1]}")
