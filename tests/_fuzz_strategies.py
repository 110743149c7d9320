"""What the fuzz tests draw from: the kinds and their configs, the fixture objects, and
hypothesis strategies for JSON values, mutated objects and bytes, event lines and list pages."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeAlias

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from kubeproxy_config import (
    Endpoints,
    EndpointsConfig,
    EndpointSlice,
    EndpointSliceConfig,
    Service,
    ServiceConfig,
)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
CORPUS = ROOT / "rust" / "fuzz" / "corpus"
WAIT = 10.0  # seconds a flush may take: reaching it means a hang

Obj: TypeAlias = Service | Endpoints | EndpointSlice
Kind: TypeAlias = type[Service] | type[Endpoints] | type[EndpointSlice]
AnyConfig: TypeAlias = ServiceConfig | EndpointsConfig | EndpointSliceConfig
KINDS: dict[str, tuple[Kind, Callable[[], AnyConfig]]] = {
    "Service": (Service, ServiceConfig),
    "Endpoints": (Endpoints, EndpointsConfig),
    "EndpointSlice": (EndpointSlice, EndpointSliceConfig),
}

FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def load_fixtures() -> dict[str, list[dict[str, Any]]]:
    by_kind: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    for path in sorted(FIXTURES.glob("*.json")):
        obj = json.loads(path.read_text())
        by_kind[obj["kind"]].append(obj)
    return by_kind


FIXTURE_OBJECTS = load_fixtures()

# -- strategies ------------------------------------------------------------------------------

FIELD_NAMES = [
    "metadata", "name", "namespace", "labels", "annotations", "resourceVersion", "uid", "spec",
    "type", "clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "ports", "port",
    "targetPort", "nodePort", "protocol", "appProtocol", "selector", "sessionAffinity",
    "sessionAffinityConfig", "clientIP", "timeoutSeconds", "externalIPs", "externalName",
    "externalTrafficPolicy", "internalTrafficPolicy", "healthCheckNodePort", "status",
    "loadBalancer", "ingress", "ip", "subsets", "addresses", "notReadyAddresses", "hostname",
    "nodeName", "targetRef", "kind", "addressType", "endpoints", "conditions", "ready",
    "serving", "terminating", "zone", "hints", "forZones", "items", "apiVersion",
]  # fmt: skip
INTERESTING: list[Any] = [
    "", "None", "default", "a", "A", "-a", "a" * 64, "10.0.0.1", "::1", "fe80::1%eth0",
    "10.0.0.0/8", "256.1.1.1", "TCP", "UDP", "SCTP", "tcp", "ClusterIP", "NodePort",
    "LoadBalancer", "ExternalName", "IPv4", "IPv6", "FQDN", "Cluster", "Local", "ClientIP",
    "http", "80", 0, -1, 1, 80, 65535, 65536, 2**31, 2**63, -(2**63), 2**64, 1.5, 80.0,
    True, False, None, [], {},
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(INTERESTING),
)
keys = st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=10))
json_values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)
    ),
    max_leaves=30,
)


def _slots(value: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key-or-index) of a JSON value."""
    if isinstance(value, dict):
        for key, child in value.items():
            out.append((value, key))
            _slots(child, out)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out.append((value, index))
            _slots(child, out)
    return out


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """``base`` with a few fields replaced, deleted or added (at any depth)."""
    obj = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        container, slot = draw(st.sampled_from(_slots(obj, [])))
        action = draw(st.sampled_from(["replace", "replace", "delete", "insert"]))
        if action == "replace":
            container[slot] = draw(json_values)
        elif action == "delete":
            del container[slot]
        elif isinstance(container, dict):
            container[draw(keys)] = draw(json_values)
        else:
            container.insert(slot, draw(json_values))
    return obj


def fixtures_of(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.sampled_from(FIXTURE_OBJECTS[kind])


def mutated_of(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    return fixtures_of(kind).flatmap(mutated)


@st.composite
def mutated_bytes(draw: st.DrawFn, base: bytes) -> bytes:
    """``base`` with a few byte-level edits: flips, insertions, deletions, truncation."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "token"]))
        if action == "flip" and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 32))]
        elif action == "truncate":
            del data[at:]
        else:
            token = draw(st.sampled_from([b"{", b"}", b"[", b"]", b'"', b",", b"null", b"\n"]))
            data[at:at] = token
    return bytes(data)


def json_texts(kind: str) -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, JSON of arbitrary values, valid and mutated objects, as text."""
    dumped = st.one_of(json_values, fixtures_of(kind), mutated_of(kind)).map(
        lambda v: json.dumps(v, allow_nan=True).encode()
    )
    return st.one_of(st.binary(max_size=200), dumped, dumped.flatmap(mutated_bytes))


def event_lines(kind: str) -> st.SearchStrategy[bytes]:
    """Watch-event chunks: lines of events with valid, mutated or arbitrary objects and types."""
    event = st.fixed_dictionaries(
        {
            "type": st.sampled_from(["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR", "X"]),
            "object": st.one_of(fixtures_of(kind), mutated_of(kind), json_values),
        }
    ).map(lambda e: json.dumps(e).encode())
    chunk = st.lists(event, min_size=1, max_size=4).map(lambda lines: b"\n".join(lines) + b"\n")
    return st.one_of(chunk, chunk.flatmap(mutated_bytes), st.binary(max_size=200))


def list_pages(kind: str) -> st.SearchStrategy[bytes]:
    page = st.fixed_dictionaries(
        {
            "kind": st.just(f"{kind}List"),
            "metadata": st.one_of(
                st.fixed_dictionaries({"resourceVersion": st.text(max_size=5)}), json_values
            ),
            "items": st.lists(st.one_of(fixtures_of(kind), mutated_of(kind)), max_size=3),
        }
    ).map(lambda p: json.dumps(p, allow_nan=True).encode())
    return st.one_of(page, page.flatmap(mutated_bytes), st.binary(max_size=200))
