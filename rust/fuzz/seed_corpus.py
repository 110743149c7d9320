"""Write the seed corpus of the fuzz targets from the test fixtures and the shipped examples.

Run from anywhere: ``python rust/fuzz/seed_corpus.py``. Seeds are named ``seed-*``; files that
libFuzzer adds (named by their SHA-1) are left alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CORPUS = HERE / "corpus"
KINDS = {"Service": "v1", "Endpoints": "v1", "EndpointSlice": "discovery.k8s.io/v1"}


def load_objects() -> list[tuple[str, dict[str, Any]]]:
    """(name, object) of every fixture and every example object of our kinds."""
    found: list[tuple[str, dict[str, Any]]] = []
    for path in sorted((ROOT / "tests" / "fixtures").glob("*.json")):
        found.append((f"fixture-{path.stem}", json.loads(path.read_text())))
    for path in sorted((ROOT / "python" / "kubeproxy_config" / "examples").iterdir()):
        if path.suffix == ".json":
            docs = [json.loads(path.read_text())]
        elif path.suffix in (".yaml", ".yml"):
            docs = list(yaml.safe_load_all(path.read_text()))
        else:
            continue
        for doc in docs:
            items = doc.get("items", []) if isinstance(doc, dict) and "items" in doc else [doc]
            for obj in items:
                if isinstance(obj, dict) and obj.get("kind") in KINDS:
                    name = obj["metadata"]["name"]
                    found.append((f"example-{path.stem}-{obj['kind']}-{name}", obj))
    return found


def write(target: str, name: str, data: bytes) -> None:
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"seed-{name}").write_bytes(data)


def line(event: str, obj: dict[str, Any]) -> bytes:
    return json.dumps({"type": event, "object": obj}, separators=(",", ":")).encode() + b"\n"


def main() -> None:
    objects = load_objects()
    by_kind: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    for name, obj in objects:
        write("objects", name, json.dumps(obj, indent=1).encode())
        by_kind[obj["kind"]].append(obj)
    for kind, objs in by_kind.items():
        items = [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in objs]
        write("objects", f"array-{kind}", json.dumps(objs).encode())
        listing = {"kind": f"{kind}List", "apiVersion": KINDS[kind], "items": items}
        write("objects", f"list-{kind}", json.dumps(listing).encode())
        page = {
            "kind": f"{kind}List",
            "apiVersion": KINDS[kind],
            "metadata": {"resourceVersion": "4242", "continue": "eyJydiI6NDJ9"},
            "items": items,
        }
        write("list_page", f"page-{kind}", json.dumps(page).encode())
        write("list_page", f"last-page-{kind}", json.dumps({**page, "metadata": {}}).encode())
        write("list_page", f"empty-{kind}", b'{"kind":"List","metadata":{},"items":[]}')
        stream = b"".join(line("ADDED", o) for o in objs)
        for o in objs[:2]:
            modified = json.loads(json.dumps(o))
            modified["metadata"]["resourceVersion"] = "9999"
            stream += line("MODIFIED", modified) + line("DELETED", modified)
        bookmark: dict[str, Any] = {"kind": kind, "apiVersion": KINDS[kind]}
        bookmark["metadata"] = {"resourceVersion": "10000"}
        stream += b"\n" + line("BOOKMARK", bookmark)
        write("watch_events", f"stream-{kind}", stream)
    status = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": "too old resource version: 1 (42)",
        "reason": "Expired",
        "code": 410,
    }
    write("watch_events", "error-410", line("ERROR", status))
    write("watch_events", "garbage", b"this is not json\n")
    write("objects", "deep-nesting", b"[" * 200 + b"]" * 200)
    streams = {kind: b"".join(line("ADDED", o) for o in objs) for kind, objs in by_kind.items()}
    http_seeds(streams)
    watch_list_seeds(by_kind)
    record_seeds(streams)
    proxy_seeds()
    field_seeds()


def chunked(body: bytes, size: int) -> bytes:
    out = b""
    for at in range(0, len(body), size):
        piece = body[at : at + size]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    return out + b"0\r\n\r\n"


def http_seeds(streams: dict[str, bytes]) -> None:
    """First byte: how the answer is read (and how the lines are served); then the answer."""
    body = streams["Service"][:4000]
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    write(
        "http_framing",
        "chunked",
        b"\x00" + head + b"Transfer-Encoding: chunked\r\n\r\n" + chunked(body, 300),
    )
    write(
        "http_framing", "length", b"\x01" + head + b"Content-Length: %d\r\n\r\n" % len(body) + body
    )
    write("http_framing", "eof", b"\x02" + head + b"\r\n" + body)
    write(
        "http_framing",
        "status-410",
        b"\x03HTTP/1.1 410 Gone\r\nContent-Length: 40\r\n\r\n"
        + b'{"kind":"Status","code":410,"reason":"Ex',
    )
    write(
        "http_framing",
        "bad-chunk",
        b"\x04" + head + b"Transfer-Encoding: chunked\r\n\r\n" + b"zz\r\nabc\r\n0\r\n\r\n",
    )
    write(
        "http_framing",
        "trailers",
        b"\x05"
        + head
        + b"Transfer-Encoding: chunked\r\n\r\n"
        + b"3;ext=1\r\nab\n\r\n0\r\nX-T: 1\r\n\r\n",
    )
    write("http_framing", "lines", b"\x06" + b'line one\nline two\n\n{"type":"ADDED"}\n')


def watch_list_seeds(by_kind: dict[str, list[dict[str, Any]]]) -> None:
    """Bytes 0-2: kind and options, how the stream is cut, what follows; then the stream."""
    for flag, kind in enumerate(("Service", "EndpointSlice", "Endpoints")):
        objs = by_kind[kind][:6]
        end = {
            "kind": kind,
            "apiVersion": KINDS[kind],
            "metadata": {
                "resourceVersion": "500",
                "annotations": {"k8s.io/initial-events-end": "true"},
            },
        }
        initial = b"".join(line("ADDED", o) for o in objs)
        later = b""
        for o in objs[:2]:
            changed = json.loads(json.dumps(o))
            changed["metadata"]["resourceVersion"] = "501"
            later += line("MODIFIED", changed) + line("DELETED", changed)
        mark = {"kind": kind, "apiVersion": KINDS[kind], "metadata": {"resourceVersion": "502"}}
        later += line("BOOKMARK", mark)
        prefix = bytes([flag, 7, 1])
        write("watch_list", f"stream-{kind}", prefix + initial + line("BOOKMARK", end) + later)
        write("watch_list", f"unfinished-{kind}", prefix + initial)
        status = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}
        write("watch_list", f"error-{kind}", prefix + initial[:1000] + line("ERROR", status))


def record_seeds(streams: dict[str, bytes]) -> None:
    """Byte 0: how the file is stored; byte 1: where a gzip file is cut; then the file."""
    header = json.dumps({"kubeproxy-config-recording": 1, "started_unix": 1.7e9}).encode() + b"\n"

    def rec(t: float, resource: str, op: str, data: str = "") -> bytes:
        r: dict[str, Any] = {"t": t, "resource": resource, "op": op}
        if data:
            r["data"] = data
        return json.dumps(r).encode() + b"\n"

    page = json.dumps({"kind": "ServiceList", "metadata": {"resourceVersion": "9"}, "items": []})
    events = streams["Service"][:1500].decode(errors="ignore")
    events = events[: events.rfind("\n") + 1]
    body = (
        header
        + rec(0.0, "services", "begin_list")
        + rec(0.01, "services", "page", page)
        + rec(0.02, "services", "commit")
        + rec(0.5, "services", "events", events)
        + rec(0.6, "endpointslices", "events", "skipped")
        + rec(0.7, "endpoints", "error", "watch failed: 500")
        + rec(0.8, "services", "begin_audit")
        + rec(0.9, "services", "audit_page", "refuse this")
        + rec(1.0, "services", "finish_audit", "42")
        + b"\n"
    )
    write("record_file", "plain", b"\x00\x80" + body)
    write("record_file", "plain-rewrite-gz", b"\x04\x80" + body)
    write("record_file", "gzip", b"\x01\x80" + body)
    write("record_file", "gzip-cut", b"\x02\x60" + body)
    write("record_file", "bad-op", b"\x00\x00" + header + rec(0.0, "services", "explode"))
    write("record_file", "no-header", b"\x00\x00" + rec(0.0, "services", "commit"))
    write("record_file", "version-2", b'\x00\x00{"kubeproxy-config-recording": 2}\n')
    # Mode bit 8: lines limited to 16 + 4 * byte 1 bytes (here 80).
    write("record_file", "short-lines", b"\x08\x10" + body)
    write("record_file", "negative-time", b"\x00\x00" + header + rec(-1.0, "services", "commit"))


def proxy_seeds() -> None:
    """Byte 0: the view's options; then operations, a byte or a few each (see proxy.rs)."""
    import random

    rng = random.Random(22)
    for flags in (0x00, 0x01, 0x02, 0x09, 0x14, 0x21):
        data = bytes([flags]) + bytes(rng.randrange(256) for _ in range(300))
        write("proxy_view", f"random-{flags:02x}", data)


def field_seeds() -> None:
    """Text for the small parsers: trigger times, IPs, CIDRs, port keys, URLs, query pairs."""
    seeds = {
        "time": "2024-01-02T03:04:05.123Z",
        "time-offset": "2024-02-29t23:59:60+05:30",
        "ip-sloppy": "010.096.000.001",
        "ip6": "fd00::1",
        "cidr": " 203.0.113.7/24 ",
        "cidr6": "2001:db8::1/32",
        "port-key": "ns/svc:http/TCP",
        "port-key-unnamed": "ns/svc:/UDP",
        "url": "https://[fd00::1]:6443/k8s/clusters/c-1/",
        "url-plain": "http://127.0.0.1",
        "query": "labelSelector=app in (a,b)\ncontinue=eyJ2Ijoi%3D\nwatch=1",
    }
    for name, text in seeds.items():
        write("fields", name, text.encode())


if __name__ == "__main__":
    main()
