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


if __name__ == "__main__":
    main()
