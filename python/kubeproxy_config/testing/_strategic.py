"""Strategic merge patch (``application/strategic-merge-patch+json``), as the API server
applies it to the kinds it serves: kubectl's default patch type and what ``kubectl apply``
(client side) sends.

Maps merge recursively and ``null`` deletes a field, as in a JSON merge patch; a list merges
only where its type declares a merge key (``_schema``), otherwise the patch's list replaces
it. Directives: ``$patch: replace`` / ``delete`` on a map or on a list item, a list item
``{"$patch": "replace"}`` replacing the whole list, ``$retainKeys``,
``$setElementOrder/<field>`` and ``$deleteFromPrimitiveList/<field>``.
"""

from __future__ import annotations

import copy
from typing import Any

from kubeproxy_config.testing._schema import Path, strategic_keys
from kubeproxy_config.testing._status import StatusError, bad_request

_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"
_DELETED = object()  # a map patched with ``$patch: delete``


def strategic_merge(target: dict[str, Any], patch: Any) -> dict[str, Any]:
    """Apply a strategic merge patch to an object; returns a new dict, inputs unchanged."""
    if not isinstance(patch, dict):
        raise StatusError(bad_request("a strategic merge patch must be a JSON object"))
    keys = strategic_keys(str(patch.get("kind") or target.get("kind") or ""))
    out = _merge_map(target, patch, (), keys)
    if out is _DELETED:
        raise StatusError(bad_request("a strategic merge patch cannot delete the object"))
    assert isinstance(out, dict)
    return out


def _strip(value: Any) -> Any:
    # A patch value stored as is: directives are applied against nothing.
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip(v) for v in value if not (isinstance(v, dict) and "$patch" in v)]
    return value


def _merge_map(
    orig: Any, patch: dict[str, Any], path: Path, keys: dict[Path, tuple[str, ...]]
) -> Any:
    directive = patch.get("$patch")
    if directive == "delete":
        return _DELETED
    if directive == "replace":
        return _strip(patch)
    if directive is not None:
        raise StatusError(bad_request(f"unknown patch type: {directive!r} in map"))
    out: dict[str, Any] = copy.deepcopy(orig) if isinstance(orig, dict) else {}
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        out = {k: v for k, v in out.items() if k in retain}
    for name, value in patch.items():
        if name.startswith(_DELETE_PRIMITIVE) and isinstance(value, list):
            field = name.removeprefix(_DELETE_PRIMITIVE)
            if isinstance(out.get(field), list):
                out[field] = [v for v in out[field] if v not in value]
    for name, value in patch.items():
        if name.startswith("$"):
            continue
        sub = (*path, name)
        if value is None:
            out.pop(name, None)
        elif isinstance(value, dict):
            merged = _merge_map(out.get(name), value, sub, keys)
            if merged is _DELETED:
                out.pop(name, None)
            else:
                out[name] = merged
        elif isinstance(value, list) and sub in keys and isinstance(out.get(name), list):
            out[name] = _merge_list(out[name], value, sub, keys)
        else:
            out[name] = _strip(value)
    for name, order in patch.items():
        field = name.removeprefix(_ORDER)
        if name.startswith(_ORDER) and isinstance(order, list) and isinstance(out.get(field), list):
            out[field] = _reorder(out[field], order, keys.get((*path, field), ()))
    return out


def _identity(item: Any, merge_key: tuple[str, ...]) -> Any:
    if not merge_key:
        return item
    if not isinstance(item, dict):
        return None
    return tuple(item.get(k) for k in merge_key)


def _merge_list(
    orig: list[Any], patch: list[Any], path: Path, keys: dict[Path, tuple[str, ...]]
) -> list[Any]:
    merge_key = keys[path]
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [_strip(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    out = copy.deepcopy(orig)
    if not merge_key:  # a set of scalars: union, in order
        out.extend(v for v in patch if v not in out)
        return out
    for item in patch:
        if not isinstance(item, dict):
            raise StatusError(bad_request(f"a list item of {'.'.join(path)} must be an object"))
        ident = _identity(item, merge_key)
        if None in ident:
            field = merge_key[0]
            message = f"map: {item} does not contain declared merge key: {field}"
            raise StatusError(bad_request(message))
        found = next((i for i, cur in enumerate(out) if _identity(cur, merge_key) == ident), None)
        if item.get("$patch") == "delete":
            out = [cur for cur in out if _identity(cur, merge_key) != ident]
        elif found is None:
            out.append(_strip(item))
        else:
            merged = _merge_map(out[found], item, path, keys)
            if merged is _DELETED:
                del out[found]
            else:
                out[found] = merged
    return out


def _reorder(items: list[Any], order: list[Any], merge_key: tuple[str, ...]) -> list[Any]:
    # Items named by ``$setElementOrder`` come in its order; the others keep theirs, after.
    wanted = [_identity(o, merge_key) for o in order]
    rank = {ident: n for n, ident in enumerate(wanted) if ident is not None}
    placed = sorted(
        (i for i in items if _identity(i, merge_key) in rank),
        key=lambda i: rank[_identity(i, merge_key)],
    )
    return placed + [i for i in items if _identity(i, merge_key) not in rank]
