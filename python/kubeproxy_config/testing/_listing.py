"""LIST responses: selectors, ``limit``/``continue`` pagination over a consistent snapshot.

A page costs O(page + writes since the list's resourceVersion), whatever the store holds: it
reads a ``SnapshotView`` in key order and stops after the page.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubeproxy_config.testing import _status
from kubeproxy_config.testing._resources import NAMESPACES, Resource
from kubeproxy_config.testing._selectors import FieldSelector, LabelSelector, SelectorError
from kubeproxy_config.testing._snapshot import SnapshotView
from kubeproxy_config.testing._status import StatusError
from kubeproxy_config.testing._store import Key, Obj, Predicate, Store

_EXPIRED_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. "
    "You can start a new list without the continue parameter."
)
DEFAULT_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")


@dataclass(frozen=True)
class Query:
    """The filtering part of a list or watch request."""

    namespace: str | None
    labels: LabelSelector
    fields: FieldSelector

    @classmethod
    def parse(cls, namespace: str | None, params: Mapping[str, str]) -> Query:
        """From the ``labelSelector`` and ``fieldSelector`` parameters; 400 if they are bad."""
        try:
            labels = LabelSelector.parse(params.get("labelSelector"))
            fields = FieldSelector.parse(params.get("fieldSelector"))
        except SelectorError as exc:
            raise StatusError(_status.bad_request(str(exc))) from None
        return cls(namespace, labels, fields)

    def predicate(self) -> Predicate:
        """A function telling whether an object is selected."""

        def selected(obj: Obj) -> bool:
            if self.namespace is not None and obj["metadata"].get("namespace") != self.namespace:
                return False
            return self.labels.matches(obj) and self.fields.matches(obj)

        return selected


def encode_continue(rv: int, key: Key) -> str:
    """A continue token: the list's resourceVersion and the last key returned."""
    raw = json.dumps({"rv": rv, "start": list(key)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_continue(token: str) -> tuple[int, Key]:
    """The (resourceVersion, last key) of a continue token; 400 BadRequest if malformed."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        rv, (namespace, name) = int(data["rv"]), data["start"]
        return rv, (str(namespace), str(name))
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise StatusError(_status.bad_request(f"invalid continue token {token!r}")) from None


def parse_rv(value: str | None, what: str = "resourceVersion") -> int | None:
    """A resourceVersion parameter: None for "" and "0" (any version), else the integer."""
    if value is None or value in ("", "0"):
        return None
    try:
        return int(value)
    except ValueError:
        raise StatusError(_status.bad_request(f"invalid {what} {value!r}")) from None


def namespace_objects(store: Store) -> dict[Key, Obj]:
    """The (virtual, read-only) Namespace objects: the usual ones plus every one in use."""
    names = set(DEFAULT_NAMESPACES) | store.namespaces()
    return {
        ("", name): {
            "kind": "Namespace",
            "apiVersion": "v1",
            "metadata": {
                "name": name,
                "uid": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{name}.namespace.fake")),
                "resourceVersion": "1",
                "creationTimestamp": "2024-01-01T00:00:00Z",
                "labels": {"kubernetes.io/metadata.name": name},
            },
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }
        for name in names
    }


def list_objects(
    store: Store, res: Resource, query: Query, params: Mapping[str, str]
) -> dict[str, Any]:
    """The ``…List`` response to a LIST request (objects shared with the store)."""
    limit_text = params.get("limit") or "0"
    try:
        limit = int(limit_text)
    except ValueError:
        raise StatusError(_status.bad_request(f"invalid limit {limit_text!r}")) from None
    token = params.get("continue")
    start: Key | None = None
    at_rv: int | None
    if token:
        at_rv, start = decode_continue(token)
        if at_rv < store.compacted_rv:
            raise StatusError(_status.expired(_EXPIRED_CONTINUE))
    else:
        at_rv = parse_rv(params.get("resourceVersion"))
        if at_rv is not None and at_rv > store.rv:
            message = f"Too large resource version: {at_rv}, current: {store.rv}"
            raise StatusError(_status.status(504, message, "Timeout"))
        if params.get("resourceVersionMatch") != "Exact":
            at_rv = None
    labels_or_fields = bool(query.labels.requirements or query.fields.terms)
    selected = query.predicate()
    with store.cond:  # the view reads the live store
        if res is NAMESPACES:
            view = SnapshotView.of(store.rv, namespace_objects(store))
        else:
            try:
                view = store.view(res, at_rv)
            except StatusError as exc:
                if token:
                    raise StatusError(_status.expired(_EXPIRED_CONTINUE)) from exc
                raise
        page: list[tuple[Key, Obj]] = []
        more = False
        for key, obj in view.items(start, query.namespace):
            if not selected(obj):
                continue
            if 0 < limit == len(page):
                more = True
                break
            page.append((key, obj))
        metadata: dict[str, Any] = {"resourceVersion": str(view.rv)}
        if more:
            last = page[-1][0]
            metadata["continue"] = encode_continue(view.rv, last)
            if not labels_or_fields:  # as the API server: unknown (absent) with selectors
                metadata["remainingItemCount"] = view.count(last, query.namespace)
    items = []
    for _key, obj in page:
        item = dict(obj)  # list items carry no kind/apiVersion, as from the API server
        item.pop("kind", None)
        item.pop("apiVersion", None)
        items.append(item)
    return {
        "kind": res.list_kind,
        "apiVersion": res.api_version,
        "metadata": metadata,
        "items": items,
    }
