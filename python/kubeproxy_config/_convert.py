"""Conversions of Python values the native module does not read itself into plain JSON types.

Kubernetes client models (``kubernetes.client.V1Service`` …) become camelCase dicts by walking
their ``openapi_types`` / ``attribute_map``, without importing ``kubernetes``; datetimes become
RFC 3339 strings, as the API server writes them.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["is_client_model", "model_to_dict", "rfc3339", "to_jsonable"]

JSON = Any


def is_client_model(value: object) -> bool:
    """Whether ``value`` looks like a model of the official ``kubernetes`` client."""
    return hasattr(value, "openapi_types") and hasattr(value, "attribute_map")


def rfc3339(value: datetime.datetime | datetime.date) -> str:
    """A datetime as RFC 3339 in UTC (``2024-05-01T12:00:00Z``); naive datetimes count as UTC."""
    if not isinstance(value, datetime.datetime):
        return value.isoformat()
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    spec = "seconds" if value.microsecond == 0 else "microseconds"
    return value.isoformat(timespec=spec) + "Z"


def model_to_dict(model: object) -> dict[str, JSON]:
    """A kubernetes client model as a Kubernetes JSON dict (camelCase keys, ``None`` omitted)."""
    if not is_client_model(model):
        raise TypeError(f"expected a kubernetes client model, got {type(model).__name__}")
    types: Mapping[str, str] = getattr(model, "openapi_types")  # noqa: B009
    names: Mapping[str, str] = getattr(model, "attribute_map")  # noqa: B009
    out: dict[str, JSON] = {}
    for attr in types:
        value = getattr(model, attr, None)
        if value is not None:
            out[names.get(attr, attr)] = to_jsonable(value)
    return out


def to_jsonable(value: object) -> JSON:
    """``value`` as dict/list/str/int/float/bool/None; ``TypeError`` names any other type."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (datetime.datetime, datetime.date)):
        return rfc3339(value)
    if is_client_model(value):
        return model_to_dict(value)
    if isinstance(value, Mapping):
        out: dict[str, JSON] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"dict keys must be str, got {type(key).__name__}")
            out[key] = to_jsonable(item)
        return out
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        return [to_jsonable(item) for item in value]
    raise TypeError(f"cannot convert {type(value).__name__} to JSON")
