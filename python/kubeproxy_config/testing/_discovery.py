"""Discovery documents: ``/version``, ``/api``, ``/apis`` and the APIResourceLists."""

from __future__ import annotations

from typing import Any

from kubeproxy_config.testing._resources import RESOURCES, Resource

SERVER_VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.0-fake"}


def version() -> dict[str, Any]:
    """The ``/version`` document."""
    return {
        **SERVER_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2024-01-01T00:00:00Z",
        "goVersion": "go1.23.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def _groups() -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for res in RESOURCES:
        if res.group and res.version not in groups.setdefault(res.group, []):
            groups[res.group].append(res.version)
    return groups


def core_versions(server_address: str) -> dict[str, Any]:
    """The ``/api`` document (APIVersions)."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def group_list() -> dict[str, Any]:
    """The ``/apis`` document (APIGroupList)."""
    groups = [_group(name, versions) for name, versions in sorted(_groups().items())]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(name: str) -> dict[str, Any] | None:
    """The ``/apis/{group}`` document (APIGroup), or None for an unknown group."""
    versions = _groups().get(name)
    if versions is None:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def _api_resource(res: Resource) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": res.plural,
        "singularName": res.singular,
        "namespaced": res.namespaced,
        "kind": res.kind,
        "verbs": list(res.verbs),
    }
    if res.short_names:
        out["shortNames"] = list(res.short_names)
    return out


def resource_list(group_name: str, version_name: str) -> dict[str, Any] | None:
    """The APIResourceList of one group version, or None if it is not served."""
    resources = [
        _api_resource(res)
        for res in RESOURCES
        if (res.group, res.version) == (group_name, version_name)
    ]
    if not resources:
        return None
    group_version = f"{group_name}/{version_name}" if group_name else version_name
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }


_OPENAPI_HASH = "F4K3"


def openapi_v3_root() -> dict[str, Any]:
    """The ``/openapi/v3`` index: one document per served group version."""
    paths = {}
    for res in RESOURCES:
        path = res.group_version_path.lstrip("/")
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={_OPENAPI_HASH}"}
    return {"paths": paths}


def openapi_v3_spec(path: str) -> dict[str, Any] | None:
    """A minimal OpenAPI v3 document for one group version (``api/v1``, ``apis/g/v``).

    It declares, per kind, a PATCH operation that takes the ``fieldValidation`` query parameter:
    that is what ``kubectl create/apply`` looks for to leave field validation to the server
    (which this fake skips) instead of downloading full schemas. Its schemas accept anything.
    """
    schemas: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for res in RESOURCES:
        if res.group_version_path.lstrip("/") != path:
            continue
        prefix = "io.k8s.api.core.v1" if not res.group else f"io.k8s.api.discovery.{res.version}"
        gvk = {"group": res.group, "version": res.version, "kind": res.kind}
        schemas[f"{prefix}.{res.kind}"] = {
            "type": "object",
            "description": f"{res.kind} (fields not modelled by the fake API server)",
            "x-kubernetes-group-version-kind": [gvk],
        }
        scope = "/namespaces/{namespace}" if res.namespaced else ""
        operation = {
            "operationId": f"patch{res.kind}",
            "x-kubernetes-group-version-kind": gvk,
            "parameters": [
                {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}
            ],
            "responses": {"200": {"description": "OK"}},
        }
        paths[f"{res.group_version_path}{scope}/{res.plural}/{{name}}"] = {"patch": operation}
    if not schemas:
        return None
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (fake)", "version": SERVER_VERSION["gitVersion"]},
        "paths": paths,
        "components": {"schemas": schemas},
    }
