"""Server-side apply (``application/apply-patch+yaml``, ``kubectl apply --server-side``).

The applied configuration creates the object when it is absent; otherwise it is merged into
the stored object: maps recursively, list-maps by their keys (a Service's ``spec.ports`` by
``port`` and ``protocol``), sets as unions, other lists replaced. Field ownership
(``managedFields``) is not tracked: there is no conflict detection between managers, and a
field a manager stops applying is kept rather than removed.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from kubeproxy_config.testing import _status
from kubeproxy_config.testing._resources import SERVICES, Resource
from kubeproxy_config.testing._schema import Path, apply_keys
from kubeproxy_config.testing._status import StatusError

Obj = dict[str, Any]
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def require_field_manager(params: dict[str, str]) -> str:
    """The ``fieldManager`` query parameter, which apply requires (422 Invalid without)."""
    manager = params.get("fieldManager") or ""
    if not manager:
        body = "Required value: is required for apply patch"
        message = f'PatchOptions.meta.k8s.io "" is invalid: fieldManager: {body}'
        cause = {"reason": "FieldValueRequired", "message": body, "field": "fieldManager"}
        details = {"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [cause]}
        raise StatusError(_status.status(422, message, "Invalid", details))
    return manager


def parse_applied(body: bytes, res: Resource, name: str) -> Obj:
    """The applied configuration of a request (YAML or JSON), checked against the URL."""
    try:
        obj = yaml.load(body or b"", Loader=_Loader)
    except yaml.YAMLError as exc:
        message = f"error decoding YAML: {exc}"
        raise StatusError(_status.bad_request(message)) from None
    if not isinstance(obj, dict):
        raise StatusError(_status.bad_request("the applied configuration must be an object"))
    if obj.get("apiVersion") != res.api_version or obj.get("kind") != res.kind:
        message = (
            f"the API version in the data ({obj.get('apiVersion')}) does not match the "
            f"expected API version ({res.api_version})"
        )
        if obj.get("apiVersion") == res.api_version:
            message = f"the kind in the data ({obj.get('kind')}) does not match {res.kind}"
        raise StatusError(_status.bad_request(message))
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or meta.get("name") != name:
        message = "the name of the object does not match the name on the URL"
        raise StatusError(_status.bad_request(message))
    if res is SERVICES:  # a key field left out is keyed by its default
        for port in (obj.get("spec") or {}).get("ports") or []:
            if isinstance(port, dict) and not port.get("protocol"):
                port["protocol"] = "TCP"
    return obj


def apply_merge(live: Obj, applied: Obj) -> Obj:
    """Merge an applied configuration into the live object; returns a new dict."""
    merged = _merge(live, applied, (), apply_keys(str(live.get("kind") or "")))
    assert isinstance(merged, dict)
    return merged


def _merge(live: Any, applied: Any, path: Path, keys: dict[Path, tuple[str, ...]]) -> Any:
    if isinstance(applied, dict):
        out = copy.deepcopy(live) if isinstance(live, dict) else {}
        for name, value in applied.items():
            if value is None:
                out.pop(name, None)
            else:
                out[name] = _merge(out.get(name), value, (*path, name), keys)
        return out
    if isinstance(applied, list) and path in keys and isinstance(live, list):
        key = keys[path]
        out_list = copy.deepcopy(live)
        if not key:
            out_list.extend(v for v in applied if v not in out_list)
            return out_list
        for item in applied:
            ident = tuple(item.get(k) for k in key) if isinstance(item, dict) else None
            at = next(
                (
                    n
                    for n, cur in enumerate(out_list)
                    if isinstance(cur, dict) and tuple(cur.get(k) for k in key) == ident
                ),
                None,
            )
            if at is None:
                out_list.append(copy.deepcopy(item))
            else:
                out_list[at] = _merge(out_list[at], item, path, keys)
        return out_list
    return copy.deepcopy(applied)
