"""What the API server's registry does to an object written over HTTP before storing it:
defaulting, then for Services the cluster IP and node port allocation, the fields it keeps
from the stored object on update, and the rejection of values in use or out of range (422
Invalid, with the API server's messages)."""

from __future__ import annotations

import copy
import json
from typing import Any

from kubeproxy_config.testing import _status
from kubeproxy_config.testing._allocator import Allocator, cluster_ips, node_ports
from kubeproxy_config.testing._defaults import NODE_PORT_TYPES, default_object
from kubeproxy_config.testing._resources import SERVICES, Resource
from kubeproxy_config.testing._status import StatusError

Obj = dict[str, Any]


def _go(value: Any) -> str:
    # A bad value as the API server's field errors print it (Go's %q / %v / %#v).
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "[]string{" + ", ".join(json.dumps(v) for v in value) + "}"
    return json.dumps(value)


def invalid(name: str, field: str, value: Any, detail: str, reason: str = "Invalid") -> StatusError:
    """A 422 Invalid for one field of a Service, as the API server words it."""
    if reason == "Invalid":
        body = f"Invalid value: {_go(value)}: {detail}"
    else:
        body = f"{reason}: {detail}"
    message = f'Service "{name}" is invalid: {field}: {body}'
    cause = {"reason": f"FieldValue{reason}", "message": body, "field": field}
    details = {"name": name, "kind": "Service", "causes": [cause]}
    return StatusError(_status.status(422, message, "Invalid", details))


def admit(res: Resource, new: Obj, old: Obj | None, alloc: Allocator) -> Obj:
    """Default ``new`` and, for a Service, allocate and check its IPs and node ports
    (``old``: the stored object on update). Mutates and returns ``new``."""
    default_object(res, new)
    if res is SERVICES and isinstance(new.get("spec"), dict):
        if old is not None:
            _keep_allocated(new, old)
        _cluster_ip(new, old, alloc)
        _node_ports(new, old, alloc)
    return new


def _keep_allocated(new: Obj, old: Obj) -> None:
    # An update that leaves out what the server allocated keeps it, as long as the type
    # still uses it; a change to ExternalName (or away from node ports) drops it.
    spec, old_spec = new["spec"], old.get("spec") or {}
    kind = spec["type"]
    if kind == "ExternalName":
        for field in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            if spec.get(field) == old_spec.get(field):
                spec.pop(field, None)
    elif not spec.get("clusterIP") and not spec.get("clusterIPs"):
        for field in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            if field in old_spec and field not in spec:
                spec[field] = copy.deepcopy(old_spec[field])
    old_ports = {(p.get("port"), p.get("protocol")): p for p in old_spec.get("ports") or []}
    for port in spec.get("ports") or []:
        match = old_ports.get((port.get("port"), port.get("protocol")))
        if kind in NODE_PORT_TYPES and not port.get("nodePort") and match:
            if match.get("nodePort"):
                port["nodePort"] = match["nodePort"]
        elif (
            kind not in NODE_PORT_TYPES and match and port.get("nodePort") == match.get("nodePort")
        ):
            port.pop("nodePort", None)


def _cluster_ip(svc: Obj, old: Obj | None, alloc: Allocator) -> None:
    spec, name = svc["spec"], svc["metadata"].get("name", "")
    if spec["type"] == "ExternalName":
        return
    ip, ips = spec.get("clusterIP") or "", list(spec.get("clusterIPs") or [])
    if ips and ip and ips[0] != ip:
        detail = "must match clusterIP when provided"
        raise invalid(name, "spec.clusterIPs[0]", ips[0], detail)
    ip = ip or (ips[0] if ips else "")
    held = list(cluster_ips(old)) if old is not None else []
    if held and ip and ip not in held:
        raise invalid(name, "spec.clusterIPs[0]", ip, "may not change once set")
    if ip == "None":
        spec["clusterIP"], spec["clusterIPs"] = "None", ["None"]
        headless_policy = "SingleStack" if spec.get("selector") else "RequireDualStack"
        spec.setdefault("ipFamilyPolicy", headless_policy)
    else:
        if not ip:
            ip = alloc.next_ip()
        else:
            problem = alloc.ip_problem(ip, held)
            if problem is not None:
                detail = f"failed to allocate IP {ip}: {problem}"
                raise invalid(name, "spec.clusterIPs", ips or [ip], detail)
        spec["clusterIP"], spec["clusterIPs"] = ip, [ip]
        spec.setdefault("ipFamilyPolicy", "SingleStack")
    spec.setdefault("ipFamilies", [alloc.family])


def _node_ports(svc: Obj, old: Obj | None, alloc: Allocator) -> None:
    spec, name = svc["spec"], svc["metadata"].get("name", "")
    ports = [p for p in spec.get("ports") or [] if isinstance(p, dict)]
    kind = spec["type"]
    wanted = kind == "NodePort" or (
        kind == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is not False
    )
    held = set(node_ports(old)) if old is not None else set()
    taken: set[int] = set()
    for index, port in enumerate(ports):
        field = f"spec.ports[{index}].nodePort"
        given = port.get("nodePort")
        if given and kind not in NODE_PORT_TYPES:
            detail = f"may not be used when `type` is '{kind}'"
            raise invalid(name, field, given, detail, "Forbidden")
        if not given:
            if wanted:
                port["nodePort"] = alloc.next_port(taken | held)
                taken.add(port["nodePort"])
            continue
        problem = alloc.port_problem(given, held)
        if problem is None and given in taken:
            problem = "provided port is already allocated"
        if problem is not None:
            raise invalid(name, field, given, problem)
        taken.add(given)
    local = spec.get("externalTrafficPolicy") == "Local"
    if kind == "LoadBalancer" and local and not spec.get("healthCheckNodePort"):
        spec["healthCheckNodePort"] = alloc.next_port(taken | held)
