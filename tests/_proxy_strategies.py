"""Hypothesis strategies for small clusters of Services and EndpointSlices (the proxy view).

``cluster_ops()`` draws a list of operations; each is ``(method, argument)`` named after the
incremental view's methods (``upsert_service(dict)``, ``delete_service("ns/name")``,
``upsert_slice(dict)``, ``delete_slice("ns/name")``, ``set_zone(str)``, ``set_services(list)``,
``set_slices(list)``), so ``getattr(view, method)(argument)`` applies one, and
``ClusterState.apply`` keeps the plain inputs that ``proxy_reference.compute`` takes.

The pools are small on purpose: two namespaces, three services, slices that often share owners
and endpoints, two nodes ("node-a", "node-b") and two zones ("z1", "z2"), so keys collide and
every rule of the rule book gets exercised (families and skew, traffic policies, load-balancer
ingress modes, port-name and protocol mismatches, duplicates, hints, conditions set or unset).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

Json = dict[str, Any]
Op = tuple[str, Any]

NAMESPACES = ("default", "ns1")
SERVICE_NAMES = ("a", "b", "c")
SLICE_NAMES = ("a-1", "a-2", "b-1", "b-2", "c-1", "x-1")
NODES = ("node-a", "node-b")
ZONES = ("z1", "z2")
PROXY_NAME_LABEL = "service.kubernetes.io/service-proxy-name"
HEADLESS_LABEL = "service.kubernetes.io/headless"

# service ports: (name, protocol or None for the default); "" is an unnamed single port
SERVICE_PORTS: tuple[tuple[tuple[str, str | None], ...], ...] = (
    (("", None),),
    (("", "TCP"),),
    (("", "UDP"),),
    (("http", "TCP"),),
    (("http", None),),
    (("http", "TCP"), ("dns", "UDP")),
    (("dns", "UDP"), ("http", None)),
    (("http", "TCP"), ("metrics", None), ("sctp", "SCTP")),
    (),
)
CLUSTER_IPS = {
    "v4": ("10.96.0.1", "010.096.000.002"),
    "v6": ("fd00:96::1", "FD00:96:0::0002"),
}
EXTERNAL_IPS = ("1.2.3.4", "001.002.003.005", "2001:DB8::1", "not-an-ip")
SOURCE_RANGES = (" 10.1.2.3/8 ", "192.168.0.0/16", "fd00::1/64", "bogus", "10.0.0.0", "1.2.3.4/33")
INGRESSES: tuple[Json, ...] = (
    {"ip": "5.6.7.8"},
    {"ip": "5.6.7.9", "ipMode": "Proxy"},
    {"ip": "005.006.007.010", "ipMode": "VIP"},
    {"ip": "2001:db8::5"},
    {"ip": "2001:db8::6", "ipMode": "Proxy"},
    {"hostname": "lb.example.com"},
)
SLICE_PORTS: tuple[tuple[Json, ...], ...] = (  # the usual ones: what the controller writes
    ({"name": "", "port": 8080, "protocol": "TCP"},),
    ({"name": "", "port": 8080},),
    ({"name": "", "port": 53, "protocol": "UDP"},),
    ({"name": "http", "port": 8080, "protocol": "TCP"},),
    ({"name": "http", "port": 8081},),
    ({"name": "http", "port": 8080}, {"name": "dns", "port": 53, "protocol": "UDP"}),
    ({"name": "http", "port": 8080}, {"name": "metrics", "port": 9090}),
    ({"name": "sctp", "port": 7, "protocol": "SCTP"}, {"name": "http", "port": 8080}),
)
ODD_SLICE_PORTS: tuple[Json, ...] = (  # skipped or mismatched ones
    {"name": "dns", "port": 53, "protocol": "TCP"},
    {"port": 80},
    {"name": None, "port": 80},
    {"name": "metrics", "port": 0},
    {"name": "metrics", "port": None},
    {"name": "http", "port": 8082, "protocol": "UDP"},
)
CONDITIONS: tuple[Json | None, ...] = (
    None,
    {},
    {"ready": True, "serving": True, "terminating": False},
    {"ready": False},
    {"ready": False, "serving": True, "terminating": True},  # terminating, still serving
    {"ready": False, "serving": False, "terminating": True},
    {"terminating": True},
    {"random": True},  # each condition unset, true or false
    {"random": True},
)
ADDRESSES = {
    "IPv4": ("10.0.0.1", "010.000.000.001", "10.0.0.10", "10.0.0.2", "10.0.0.3"),
    "IPv6": ("fd00::1", "FD00::0001", "fd00::a", "fd00::2"),
    "FQDN": ("pod.example.com",),
}


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``strategy``, or "absent" (None: the key is left out)."""
    return st.one_of(st.none(), strategy)


def _coin(draw: st.DrawFn) -> bool:
    return draw(st.booleans())


def _put(obj: Json, key: str, value: Any) -> None:
    if value is not None:
        obj[key] = value


def _labels(draw: st.DrawFn) -> Json | None:
    rare: list[Json | None] = [
        {},
        {"app": "x"},
        {PROXY_NAME_LABEL: "alt"},
        {PROXY_NAME_LABEL: ""},
        {HEADLESS_LABEL: ""},
    ]
    return draw(st.sampled_from([None] * 8 + rare))


@st.composite
def _service(draw: st.DrawFn) -> Json:
    meta: Json = {"namespace": draw(_namespace()), "name": draw(_service_name())}
    _put(meta, "labels", _labels(draw))
    spec: Json = {}
    svc_type = draw(
        st.sampled_from([None, "ClusterIP", "NodePort", "LoadBalancer", "LoadBalancer"])
    )
    svc_type = draw(st.sampled_from([svc_type] * 9 + ["ExternalName"]))
    _put(spec, "type", svc_type)
    stacks = ["v4", "v6", "dual4", "dual6"] * 3 + ["skew4", "skew6", "None", ""]
    stack = draw(st.sampled_from(stacks))
    v4, v6 = draw(st.sampled_from(CLUSTER_IPS["v4"])), draw(st.sampled_from(CLUSTER_IPS["v6"]))
    if stack in ("None", ""):
        spec["clusterIP"] = stack
    elif stack.startswith("skew"):
        spec["clusterIP"] = v4 if stack == "skew4" else v6
    else:
        ips = {"v4": [v4], "v6": [v6], "dual4": [v4, v6], "dual6": [v6, v4]}[stack]
        spec["clusterIP"], spec["clusterIPs"] = ips[0], ips
        spec["ipFamilies"] = ["IPv4" if ":" not in ip else "IPv6" for ip in ips]
    external = svc_type in ("NodePort", "LoadBalancer")
    no_node_ports = svc_type == "LoadBalancer" and _coin(draw)
    if no_node_ports:
        spec["allocateLoadBalancerNodePorts"] = False
    ports = []
    chosen = draw(st.sampled_from(SERVICE_PORTS))
    for i, (name, protocol) in enumerate(chosen):
        port: Json = {"port": 80 + i}
        if name or _coin(draw):
            port["name"] = name
        _put(port, "protocol", protocol)
        if external and not no_node_ports:
            port["nodePort"] = 30000 + i
        ports.append(port)
    _put(spec, "ports", ports if ports or _coin(draw) else None)
    _put(spec, "externalIPs", draw(_maybe(st.lists(st.sampled_from(EXTERNAL_IPS), max_size=2))))
    _put(spec, "externalTrafficPolicy", draw(st.sampled_from([None, "Cluster", "Local", "Local"])))
    _put(spec, "internalTrafficPolicy", draw(st.sampled_from([None, "Cluster", "Local"])))
    _put(spec, "healthCheckNodePort", draw(st.sampled_from([None, 0, 32000])))
    ranges = st.lists(st.sampled_from(SOURCE_RANGES), max_size=3)
    _put(spec, "loadBalancerSourceRanges", draw(_maybe(ranges)))
    affinity = draw(st.sampled_from([None, "None", "ClientIP", "ClientIP"]))
    _put(spec, "sessionAffinity", affinity)
    if affinity == "ClientIP":
        timeout = draw(st.sampled_from([None, 60]))
        configs: list[Json | None] = [None, {}, {"clientIP": {}}]
        config = draw(st.sampled_from(configs))
        if timeout is not None:
            config = {"clientIP": {"timeoutSeconds": timeout}}
        _put(spec, "sessionAffinityConfig", config)
    svc: Json = {"metadata": meta, "spec": spec}
    ingress = draw(st.lists(st.sampled_from(INGRESSES), max_size=3, unique_by=str))
    if ingress or _coin(draw):
        svc["status"] = {"loadBalancer": {"ingress": [dict(i) for i in ingress]}}
    return svc


def _hint_list(draw: st.DrawFn, names: tuple[str, ...], hinted: bool) -> list[Json] | None:
    """Hints for ``names``: one or two when ``hinted`` (the controller's), else anything."""
    if hinted:
        chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
    else:
        chosen = draw(_maybe(st.lists(st.sampled_from(names), max_size=2, unique=True)))
    return None if chosen is None else [{"name": name} for name in chosen]


@st.composite
def _endpoint(draw: st.DrawFn, address_type: str, hints_style: str, narrow: bool) -> Json:
    pool = ADDRESSES[address_type][: 3 if narrow else None]  # narrow: more duplicates
    ep: Json = {"addresses": draw(st.lists(st.sampled_from(pool), min_size=0, max_size=2))}
    if draw(st.integers(0, 9)) == 0:
        ep["addresses"] = []
    elif not ep["addresses"]:
        ep["addresses"] = [draw(st.sampled_from(pool))]
    conditions: Json | None = draw(st.sampled_from(CONDITIONS))
    if conditions is not None and "random" in conditions:
        conditions = {}
        for cond in ("ready", "serving", "terminating"):
            _put(conditions, cond, draw(st.sampled_from([None, True, False])))
    _put(ep, "conditions", conditions)
    _put(ep, "nodeName", draw(st.sampled_from([None, NODES[0], *NODES, ""])))
    _put(ep, "zone", draw(st.sampled_from([None, *ZONES])))
    _put(ep, "hostname", draw(st.sampled_from([None, "h1"])))
    hints: Json = {}
    _put(hints, "forZones", _hint_list(draw, ZONES, hints_style in ("zones", "both")))
    _put(hints, "forNodes", _hint_list(draw, NODES, hints_style == "both"))
    if hints or _coin(draw):
        ep["hints"] = hints
    return ep


@st.composite
def _slice(draw: st.DrawFn, service: Json | None = None) -> Json:
    """A slice from the pools, or, given ``service``, one the controller could have written for
    it: its namespace and name, one of its families, its ports (with an odd one now and then)."""
    labels = _labels(draw) or {}
    if service is None:
        namespace = draw(_namespace())
        owner = draw(st.one_of(_service_name(), st.sampled_from(["", None])))
        address_type = draw(st.sampled_from(["IPv4", "IPv4", "IPv6", "IPv6", "FQDN"]))
        ports = list(draw(st.sampled_from(SLICE_PORTS)))
    else:
        namespace, owner = service["metadata"]["namespace"], service["metadata"]["name"]
        spec = service["spec"]
        families = spec.get("ipFamilies") or ["IPv6" if ":" in spec["clusterIP"] else "IPv4"]
        address_type = draw(st.sampled_from([*families, *families, *families, "IPv4", "IPv6"]))
        ports = []
        other_target = draw(st.integers(0, 4)) == 0  # a named targetPort resolved elsewhere
        for i, sp in enumerate(spec.get("ports") or []):
            slice_port = {
                "name": sp.get("name", ""),
                "port": 9000 + i if other_target else 8080 + i,
            }
            _put(slice_port, "protocol", sp.get("protocol"))
            ports.append(slice_port)
    if owner is not None:
        labels = {**labels, "kubernetes.io/service-name": owner}
    names = SLICE_NAMES if service is None else (f"{owner}-1", f"{owner}-2", "x-1")
    meta: Json = {
        "namespace": namespace,
        "name": draw(st.sampled_from(names)),
        "labels": labels,
    }
    if draw(st.integers(0, 4)) == 0:
        ports.append(draw(st.sampled_from(ODD_SLICE_PORTS)))
    if draw(st.integers(0, 19)) == 0:
        ports = []
    slc: Json = {"metadata": meta, "addressType": address_type, "ports": [dict(p) for p in ports]}
    hints_style = draw(st.sampled_from(["", "", "zones", "both", "both"]))
    endpoints = draw(
        st.lists(_endpoint(address_type, hints_style, service is not None), min_size=1, max_size=4)
    )
    if draw(st.integers(0, 9)) == 0:
        endpoints = []
    _put(slc, "endpoints", endpoints if endpoints or _coin(draw) else None)
    return slc


def _namespace() -> st.SearchStrategy[str]:
    return st.sampled_from([NAMESPACES[0]] * 3 + list(NAMESPACES[1:]))


def _service_name() -> st.SearchStrategy[str]:
    return st.sampled_from([*SERVICE_NAMES[:2], *SERVICE_NAMES])


def services_strategy() -> st.SearchStrategy[Json]:
    """One Service dict from the small pools."""
    return _service()


def slices_strategy() -> st.SearchStrategy[Json]:
    """One EndpointSlice dict from the small pools."""
    return _slice()


def _key() -> st.SearchStrategy[str]:
    names = st.sampled_from([*SERVICE_NAMES, *SLICE_NAMES])
    return st.builds(lambda ns, name: f"{ns}/{name}", st.sampled_from(NAMESPACES), names)


@st.composite
def cluster_ops(draw: st.DrawFn, max_size: int = 20) -> list[Op]:
    """A sequence of view operations (see the module docstring): ``set_services`` and
    ``set_slices`` first (an initial list), then up to ``max_size`` single changes. Most slices
    are drawn for a service drawn before, so that endpoints often join service ports."""
    services: dict[str, Json] = {}

    def slice_for_some_service() -> Json:
        if services and draw(st.integers(0, 3)) > 0:
            return draw(_slice(services[draw(st.sampled_from(sorted(services)))]))
        return draw(_slice())

    initial = draw(st.lists(_service(), min_size=1, max_size=6))
    services.update((object_key(svc), svc) for svc in initial)
    ops: list[Op] = [("set_services", initial)]
    slices = [draw(_slice()) for _ in range(draw(st.integers(0, 2)))]
    for svc in services.values():  # the controller's slices for each initial service
        slices += [draw(_slice(svc)) for _ in range(draw(st.integers(0, 3)))]
    ops.append(("set_slices", slices))
    kinds = ["upsert_service"] * 4 + ["upsert_slice"] * 6 + ["delete_service", "delete_slice"]
    kinds += ["set_zone", "set_services", "set_slices"]
    for _ in range(draw(st.integers(0, max_size))):
        kind = draw(st.sampled_from(kinds))
        if kind == "upsert_service":
            svc = draw(_service())
            services[object_key(svc)] = svc
            ops.append((kind, svc))
        elif kind == "upsert_slice":
            ops.append((kind, slice_for_some_service()))
        elif kind in ("delete_service", "delete_slice"):
            ops.append((kind, draw(_key())))
        elif kind == "set_zone":
            ops.append((kind, draw(st.sampled_from(["", *ZONES]))))
        elif kind == "set_services":
            replacement = draw(st.lists(_service(), max_size=4))
            services.update((object_key(svc), svc) for svc in replacement)
            ops.append((kind, replacement))
        else:
            count = draw(st.integers(0, 4))
            ops.append((kind, [slice_for_some_service() for _ in range(count)]))
    return ops


def object_key(obj: Json) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"


@dataclass
class ClusterState:
    """The current inputs after a sequence of operations (later objects replace earlier ones)."""

    services: dict[str, Json] = field(default_factory=dict)
    slices: dict[str, Json] = field(default_factory=dict)
    zone: str = ""

    def apply(self, op: Op) -> None:
        method, arg = op
        if method == "upsert_service":
            self.services[object_key(arg)] = arg
        elif method == "upsert_slice":
            self.slices[object_key(arg)] = arg
        elif method == "delete_service":
            self.services.pop(arg, None)
        elif method == "delete_slice":
            self.slices.pop(arg, None)
        elif method == "set_zone":
            self.zone = arg
        elif method == "set_services":
            self.services = {object_key(obj): obj for obj in arg}
        elif method == "set_slices":
            self.slices = {object_key(obj): obj for obj in arg}
        else:
            raise ValueError(f"unknown operation {method!r}")
