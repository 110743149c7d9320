"""The resource types the fake API server knows: names, kinds, groups and scopes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubeproxy_config.testing._status import StatusError, bad_request


@dataclass(frozen=True)
class Resource:
    """One REST resource (e.g. core/v1 ``services``) served by the fake API server."""

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = (
        "create",
        "delete",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    )
    stored: bool = True

    @property
    def api_version(self) -> str:
        """``v1`` for the core group, ``group/version`` otherwise."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        """The kind of a list of this resource, e.g. ``ServiceList``."""
        return f"{self.kind}List"

    @property
    def group_version_path(self) -> str:
        """The URL prefix of the resource's group version, e.g. ``/api/v1``."""
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"


SERVICES = Resource("", "v1", "services", "service", "Service", True, ("svc",))
ENDPOINTS = Resource("", "v1", "endpoints", "endpoints", "Endpoints", True, ("ep",))
ENDPOINT_SLICES = Resource(
    "discovery.k8s.io", "v1", "endpointslices", "endpointslice", "EndpointSlice", True
)
NAMESPACES = Resource(
    "", "v1", "namespaces", "namespace", "Namespace", False, ("ns",), ("get", "list"), False
)

RESOURCES: tuple[Resource, ...] = (SERVICES, ENDPOINTS, ENDPOINT_SLICES, NAMESPACES)
STORED: tuple[Resource, ...] = tuple(r for r in RESOURCES if r.stored)


def lookup(group: str, version: str, plural: str) -> Resource | None:
    """The resource served at ``group/version/plural``, or None."""
    for res in RESOURCES:
        if (res.group, res.version, res.plural) == (group, version, plural):
            return res
    return None


def resolve(name: str) -> Resource:
    """Resolve a kind, plural, singular or short name (any case) to a stored resource.

    Raises ``KeyError`` for an unknown name.
    """
    wanted = name.lower()
    for res in STORED:
        names = {res.kind.lower(), res.plural, res.singular, *res.short_names}
        if wanted in names or wanted in {f"{n}.{res.group}" for n in names if res.group}:
            return res
    raise KeyError(f"unknown resource {name!r}")


def for_object(obj: Mapping[str, Any]) -> Resource:
    """The stored resource of an object, from its ``kind`` and ``apiVersion``.

    Raises ``StatusError`` (400) when the kind is missing, unknown or not served.
    """
    kind = obj.get("kind")
    if not isinstance(kind, str) or not kind:
        raise StatusError(bad_request("Object 'Kind' is missing"))
    for res in STORED:
        if res.kind == kind:
            api_version = obj.get("apiVersion")
            if api_version not in (None, res.api_version):
                raise StatusError(bad_request(f"{kind} is served as {res.api_version}"))
            return res
    raise StatusError(bad_request(f"kind {kind!r} is not served by the fake API server"))
