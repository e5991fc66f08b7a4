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

The zip is written reproducibly: the same files give the same bytes, whatever directory the
build ran in and in whatever order the file system listed it. Entries are sorted by name, dated
1980-01-01 (zip's epoch; Chalice's own dates are that already), regular files of mode 644 (755
where the file had an execute bit), and the bytecode names its source as it lies on Lambda
(`/var/task/...`, the function's task root) instead of this build's temporary directory.
"""

from __future__ import annotations

import compileall
import py_compile
import stat
import sys
import tempfile
import zipfile
from pathlib import Path


# Zip's epoch, the earliest date it can hold; what Chalice dates its entries with too.
EPOCH = (1980, 1, 1, 0, 0, 0)
# Where Lambda unpacks a function's zip: the path tracebacks name (the loader rewrites it to
# wherever the module is actually found, so this is only what the bytes say).
TASK_ROOT = "/var/task"


def add_bytecode(zip_path: Path) -> int:
    """Rewrite `zip_path`, reproducibly, with a .pyc for each .py; returns how many were written. Bytecode the
    zip held already (`chalice package` copies the project's __pycache__ folders: timestamp
    .pyc files whose timestamps the zip does not keep, so the loader finds them stale) is
    replaced."""
    with tempfile.TemporaryDirectory() as work:
        root = Path(work) / "package"
        with zipfile.ZipFile(zip_path) as archive:
            executable = {e.filename for e in archive.infolist() if (e.external_attr >> 16) & 0o111}
            archive.extractall(root)
        for stale in root.rglob("*.pyc"):
            stale.unlink()
        if not compileall.compile_dir(str(root), ddir=TASK_ROOT, quiet=2, workers=0, force=True,
                                      invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH):
            raise SystemExit(f"error: compiling the sources of {zip_path} failed")
        rewritten = zip_path.with_suffix(".tmp")
        with zipfile.ZipFile(rewritten, "w", compression=zipfile.ZIP_DEFLATED) as target:
            for name in sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()):
                info = zipfile.ZipInfo(name, date_time=EPOCH)
                info.external_attr = (stat.S_IFREG | (0o755 if name in executable else 0o644)) << 16
                target.writestr(info, (root / name).read_bytes(), compress_type=zipfile.ZIP_DEFLATED)
        rewritten.replace(zip_path)
        return sum(1 for _ in root.rglob("*.pyc"))


if __name__ == "__main__":
    print(f"added {add_bytecode(Path(sys.argv[1]))} compiled modules to {sys.argv[1]}")
