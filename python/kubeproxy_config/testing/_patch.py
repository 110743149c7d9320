"""PATCH bodies: JSON merge patch (RFC 7386), strategic merge patch, JSON patch (RFC 6902)."""

from __future__ import annotations

import copy
from typing import Any

from kubeproxy_config.testing._status import StatusError, bad_request, status
from kubeproxy_config.testing._strategic import strategic_merge

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7386 merge patch; returns a new value, inputs are left unchanged."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise StatusError(bad_request(f"invalid JSON pointer {path!r}"))
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str], path: str) -> Any:
    node = doc
    for part in parts[:-1]:
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError):
            raise StatusError(bad_request(f"path {path!r} does not exist")) from None
    return node


def _get(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    node = _parent(doc, parts, path)
    try:
        return node[int(parts[-1])] if isinstance(node, list) else node[parts[-1]]
    except (KeyError, IndexError, ValueError, TypeError):
        raise StatusError(bad_request(f"path {path!r} does not exist")) from None


def _add(doc: Any, path: str, value: Any) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    node = _parent(doc, parts, path)
    if isinstance(node, list):
        index = len(node) if parts[-1] == "-" else int(parts[-1])
        node.insert(index, value)
    elif isinstance(node, dict):
        node[parts[-1]] = value
    else:
        raise StatusError(bad_request(f"cannot add at {path!r}"))
    return doc


def _remove(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    node = _parent(doc, parts, path)
    try:
        if isinstance(node, list):
            del node[int(parts[-1])]
        else:
            del node[parts[-1]]
    except (KeyError, IndexError, ValueError, TypeError):
        raise StatusError(bad_request(f"path {path!r} does not exist")) from None
    return doc


def json_patch(target: Any, ops: Any) -> Any:
    """Apply an RFC 6902 JSON patch (a list of operations); returns a new value."""
    if not isinstance(ops, list):
        raise StatusError(bad_request("a JSON patch must be a list of operations"))
    doc = copy.deepcopy(target)
    for op in ops:
        if not isinstance(op, dict) or "path" not in op:
            raise StatusError(bad_request(f"invalid JSON patch operation {op!r}"))
        name, path = op.get("op"), op["path"]
        if name == "add":
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif name == "remove":
            doc = _remove(doc, path)
        elif name == "replace":
            _get(doc, path)
            doc = _add(_remove(doc, path), path, copy.deepcopy(op.get("value")))
        elif name in ("move", "copy"):
            value = copy.deepcopy(_get(doc, op.get("from", "")))
            if name == "move":
                doc = _remove(doc, op.get("from", ""))
            doc = _add(doc, path, value)
        elif name == "test":
            if _get(doc, path) != op.get("value"):
                raise StatusError(status(422, f"test operation failed at {path!r}", "Invalid"))
        else:
            raise StatusError(bad_request(f"unknown JSON patch operation {name!r}"))
    return doc


def media_type(content_type: str) -> str:
    """The media type of a Content-Type header, without parameters."""
    return content_type.split(";")[0].strip().lower()


def apply_patch(target: dict[str, Any], content_type: str, patch: Any) -> Any:
    """Apply a patch body of the given media type to an object (server-side apply is
    ``_apply``'s, since it also creates)."""
    media = media_type(content_type)
    if media == MERGE:
        return merge_patch(target, patch)
    if media == STRATEGIC:
        return strategic_merge(target, patch)
    if media == JSON_PATCH:
        return json_patch(target, patch)
    raise StatusError(
        status(415, f"the body of the request was in an unknown format: {media}", None)
    )
