"""Reading YAML/JSON manifests (multi-document, ``List`` kinds) into object dicts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

KEPT_KINDS = frozenset({"Service", "Endpoints", "EndpointSlice"})
_SUFFIXES = frozenset({".yaml", ".yml", ".json"})

# The C loader when PyYAML was built with libyaml.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _flatten(doc: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(doc, dict):
        return
    kind = doc.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
        for item in doc["items"]:
            yield from _flatten(item)
    elif kind in KEPT_KINDS:
        yield doc


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in _SUFFIXES)
    return [path]


def load_manifests(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The Service, Endpoints and EndpointSlice objects in a manifest file or directory.

    Files are read in name order; multi-document YAML and ``…List`` kinds are flattened, other
    kinds are skipped. Raises ``OSError`` or ``yaml.YAMLError`` for unreadable files.
    """
    objects: list[dict[str, Any]] = []
    for file in _files(Path(path)):
        with file.open(encoding="utf-8") as f:
            for doc in yaml.load_all(f, Loader=_Loader):
                objects.extend(_flatten(doc))
    return objects
