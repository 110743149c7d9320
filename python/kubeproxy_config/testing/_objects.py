"""Turning request bodies and user input into objects ready for the store."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

from kubeproxy_config.testing import _status
from kubeproxy_config.testing._resources import Resource
from kubeproxy_config.testing._status import StatusError
from kubeproxy_config.testing._store import Obj


def parse_json(body: bytes) -> Any:
    """A JSON request body; 400 BadRequest if it does not parse."""
    try:
        return json.loads(body or b"null")
    except ValueError as exc:
        raise StatusError(
            _status.bad_request(f"the request body is not valid JSON: {exc}")
        ) from None


def to_dict(obj: object) -> Obj:
    """A private dict copy of an object given as a dict, JSON text or a ``kubernetes`` model."""
    if isinstance(obj, Mapping):
        return copy.deepcopy(dict(obj))
    if isinstance(obj, (str, bytes, bytearray)):
        data = parse_json(bytes(obj, "utf-8") if isinstance(obj, str) else bytes(obj))
    else:
        from kubernetes.client import ApiClient  # lazily: optional for the server itself

        client: Any = ApiClient()
        data = client.sanitize_for_serialization(obj)
        if isinstance(data, dict) and not data.get("kind"):
            # Models often leave kind unset: V1EndpointSlice -> EndpointSlice.
            data["kind"] = re.sub(r"^V\d+((alpha|beta)\d+)?", "", type(obj).__name__)
    if not isinstance(data, dict):
        raise StatusError(_status.bad_request("an object must be a JSON object"))
    return data


def normalize(res: Resource, obj: Obj, namespace: str | None) -> Obj:
    """Check kind, apiVersion, name and namespace of an object for ``res`` and fill them in.

    ``namespace`` is the namespace of the request path (None: take the object's, or
    ``default``). Mutates and returns ``obj``.
    """
    if not isinstance(obj, dict):
        raise StatusError(_status.bad_request("the request body must be a JSON object"))
    kind = obj.get("kind")
    if kind not in (None, "", res.kind):
        message = f"the kind {kind!r} does not match the resource {res.plural!r} ({res.kind})"
        raise StatusError(_status.bad_request(message))
    api_version = obj.get("apiVersion")
    if api_version not in (None, "", res.api_version):
        raise StatusError(_status.bad_request(f"{res.kind} is served as {res.api_version}"))
    obj["kind"], obj["apiVersion"] = res.kind, res.api_version
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise StatusError(_status.bad_request("metadata must be an object"))
    if res.namespaced:
        given = meta.get("namespace")
        if namespace is not None and given and given != namespace:
            raise StatusError(
                _status.bad_request(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request"
                )
            )
        meta["namespace"] = namespace or given or "default"
    else:
        meta.pop("namespace", None)
    if not meta.get("name") and not meta.get("generateName"):
        message = f"{res.kind} is invalid: metadata.name: Required value: name or generateName"
        raise StatusError(_status.status(422, message, "Invalid"))
    return obj
