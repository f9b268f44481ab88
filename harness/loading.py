"""Load a user's implementation from `MODULE:ATTR`, where MODULE is importable or a path to a .py file."""
from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any


class ImplLoadError(Exception):
    """The implementation could not be imported; the message is one line."""


def split_spec(spec: str) -> tuple[str, str]:
    """Split `MODULE:ATTR` (the last colon separates, so Windows-free paths with dots work)."""
    module, sep, attr = spec.rpartition(":")
    if not sep or not module or not attr:
        raise ImplLoadError(f"--impl {spec!r} is not MODULE:ATTR (a module or a .py file, a colon, an attribute)")
    return module, attr


def _load_file(path: Path) -> Any:
    if not path.is_file():
        raise ImplLoadError(f"cannot import {path}: no such file")
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    name = f"claimbench_user_{path.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImplLoadError(f"cannot import {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise ImplLoadError(f"importing {path} raised {type(exc).__name__}: {_one_line(exc)}") from None
    return module


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else ""


@functools.lru_cache(maxsize=None)
def load(spec: str) -> Any:
    """The object named by `MODULE:ATTR`; dotted ATTR walks attributes. Raises ImplLoadError in one line."""
    module_name, attr = split_spec(spec)
    if module_name.endswith(".py") or "/" in module_name or "\\" in module_name:
        module = _load_file(Path(module_name))
    else:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ImplLoadError(f"cannot import module {module_name!r}: {_one_line(exc)}") from None
        except Exception as exc:
            raise ImplLoadError(f"importing {module_name!r} raised {type(exc).__name__}: {_one_line(exc)}") from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ImplLoadError(f"{module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj
