"""Modules loaded on first use.

app.py names every module a route may need, but a cold Lambda answering the consumer query
should load only what that query touches: each module named here is imported the first
time one of its attributes is read.

Not the standard library's LazyLoader: on Python 3.11 two threads touching a LazyLoader
module at once can see it half-executed (`module has no attribute …`), which the threaded
local server (`make run`) and the concurrency tests hit. Here the first attribute read goes
through `importlib.import_module`, whose per-module import lock makes the import atomic.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any


class LazyModule(ModuleType):
    """Stands for a module until an attribute is read, then forwards to the real module."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__dict__["_module"] = None

    def __getattr__(self, attribute: str) -> Any:
        module = self.__dict__["_module"]
        if module is None:
            module = self.__dict__["_module"] = importlib.import_module(self.__name__)
        return getattr(module, attribute)


def lazy(name: str) -> ModuleType:
    """The module if it is loaded already, else a stand-in that imports it on first use."""
    return sys.modules[name] if name in sys.modules else LazyModule(name)
