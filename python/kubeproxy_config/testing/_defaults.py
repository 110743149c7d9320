"""The API server's defaulting of Services, Endpoints and EndpointSlices (what it fills in
when a field is left out, on every create and update)."""

from __future__ import annotations

from typing import Any

from kubeproxy_config.testing._resources import ENDPOINT_SLICES, ENDPOINTS, SERVICES, Resource

Obj = dict[str, Any]

NODE_PORT_TYPES = ("NodePort", "LoadBalancer")
CLIENT_IP_TIMEOUT = 10800  # seconds: sessionAffinityConfig's default for ClientIP


def _dicts(value: Any) -> list[Obj]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def default_service(svc: Obj) -> None:
    """Fill the defaults of a Service's spec (in place)."""
    spec = svc.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    if not spec.get("type"):
        spec["type"] = "ClusterIP"
    kind = spec["type"]
    if not spec.get("sessionAffinity"):
        spec["sessionAffinity"] = "None"
    if spec["sessionAffinity"] == "ClientIP" and not spec.get("sessionAffinityConfig"):
        spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": CLIENT_IP_TIMEOUT}}
    for port in _dicts(spec.get("ports")):
        if not port.get("protocol"):
            port["protocol"] = "TCP"
        if port.get("targetPort") in (None, 0, "") and "port" in port:
            port["targetPort"] = port["port"]
    if kind in NODE_PORT_TYPES and not spec.get("externalTrafficPolicy"):
        spec["externalTrafficPolicy"] = "Cluster"
    if kind != "ExternalName" and not spec.get("internalTrafficPolicy"):
        spec["internalTrafficPolicy"] = "Cluster"
    if kind == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
        spec["allocateLoadBalancerNodePorts"] = True


def default_endpoints(obj: Obj) -> None:
    """Endpoints ports default to TCP (in place)."""
    for subset in _dicts(obj.get("subsets")):
        for port in _dicts(subset.get("ports")):
            if not port.get("protocol"):
                port["protocol"] = "TCP"


def default_endpoint_slice(obj: Obj) -> None:
    """EndpointSlice ports default to TCP and an empty name; endpoint conditions are kept as
    given (in place)."""
    for port in _dicts(obj.get("ports")):
        if port.get("protocol") is None:
            port["protocol"] = "TCP"
        if port.get("name") is None:
            port["name"] = ""


def default_object(res: Resource, obj: Obj) -> Obj:
    """Apply the defaults of ``res`` to ``obj`` (in place); returns it."""
    if res is SERVICES:
        default_service(obj)
    elif res is ENDPOINTS:
        default_endpoints(obj)
    elif res is ENDPOINT_SLICES:
        default_endpoint_slice(obj)
    return obj
