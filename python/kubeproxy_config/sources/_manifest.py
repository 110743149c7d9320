"""Reading one manifest file into validated Services, Endpoints and EndpointSlices.

A file holds YAML documents (or one JSON value); each document is an object, a ``List`` /
``…List`` of objects, or a plain list of objects. Objects of the kinds a source feeds are
validated with the package's parser; any failure rejects the whole file with a one-line message
and, where known, the line it happened on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from kubeproxy_config._core import Endpoints, EndpointSlice, Service
from kubeproxy_config.errors import InvalidObject

__all__ = ["KINDS", "FileContent", "ManifestError", "parse_manifest"]

# The C loader when PyYAML was built with libyaml (several times faster).
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Parser = Callable[[object], Any]


@dataclass(frozen=True)
class _Kind:
    field: str  # the FileContent attribute (and FileSource config keyword) it goes to
    api_versions: frozenset[str]
    parse: Parser


KINDS: dict[str, _Kind] = {
    "Service": _Kind("services", frozenset({"v1"}), Service.from_dict),
    "Endpoints": _Kind("endpoints", frozenset({"v1"}), Endpoints.from_dict),
    "EndpointSlice": _Kind(
        "endpoint_slices", frozenset({"discovery.k8s.io/v1"}), EndpointSlice.from_dict
    ),
}
"""Kinds read from manifests; an object of another ``apiVersion`` (say a Knative ``Service``)
is another kind and ignored. An object without ``apiVersion`` is accepted."""


class ManifestError(Exception):
    """A manifest file was rejected: ``message`` is one line, ``line`` 1-based when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.message = message
        self.line = line
        super().__init__(self.describe())

    def describe(self) -> str:
        """``"line 3: message"``, or just the message when the line is unknown."""
        return self.message if self.line is None else f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class FileContent:
    """The objects of one file, by kind then key, in file order (the first of a key wins)."""

    services: dict[str, Service] = field(default_factory=dict)
    endpoints: dict[str, Endpoints] = field(default_factory=dict)
    endpoint_slices: dict[str, EndpointSlice] = field(default_factory=dict)

    def of(self, kind_field: str) -> dict[str, Any]:
        """The objects for ``"services"``, ``"endpoints"`` or ``"endpoint_slices"``."""
        content: dict[str, Any] = getattr(self, kind_field)
        return content


def parse_manifest(data: bytes, *, json_format: bool, fields: Collection[str]) -> FileContent:
    """Parse and validate one file's bytes, keeping the objects whose kind feeds one of
    ``fields``; raises ManifestError naming the first problem."""
    content = FileContent()
    for doc, line, item_lines in _json_documents(data) if json_format else _yaml_documents(data):
        for obj, obj_line in _objects(doc, line, item_lines):
            _add(content, obj, obj_line, fields)
    return content


# Deeper documents are refused before they are composed: PyYAML's composer recurses once per
# level (deep enough input crashes the interpreter), and the Rust parser refuses > 128 anyway.
MAX_DEPTH = 128


def _check_depth(data: bytes) -> None:
    """Refuse YAML nested deeper than MAX_DEPTH, reading only parser events (no recursion)."""
    depth = 0
    try:
        for event in yaml.parse(data, Loader=_Loader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    raise ManifestError(
                        f"nested deeper than {MAX_DEPTH} levels",
                        None if mark is None else mark.line + 1,
                    )
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return  # reported with its line by the full parse below


def _yaml_documents(data: bytes) -> Iterator[tuple[Any, int | None, list[int]]]:
    _check_depth(data)
    loader = _Loader(data)
    try:
        while True:
            try:
                if not loader.check_node():
                    return
                node = loader.get_node()
                doc = loader.construct_document(node)
            except yaml.MarkedYAMLError as exc:
                mark = exc.problem_mark or exc.context_mark
                text = ": ".join(part for part in (exc.context, exc.problem) if part)
                raise ManifestError(
                    _one_line(text or str(exc)), None if mark is None else mark.line + 1
                ) from None
            except yaml.YAMLError as exc:  # e.g. a ReaderError for bytes that are not text
                raise ManifestError(_one_line(str(exc))) from None
            if node is not None:
                yield doc, node.start_mark.line + 1, _item_lines(node)
    finally:
        loader.dispose()


def _item_lines(node: yaml.Node) -> list[int]:
    """Lines of the entries of a document that is a sequence or has an ``items`` sequence."""
    if isinstance(node, yaml.SequenceNode):
        return [item.start_mark.line + 1 for item in node.value]
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if (
                isinstance(key, yaml.ScalarNode)
                and key.value == "items"
                and isinstance(value, yaml.SequenceNode)
            ):
                return [item.start_mark.line + 1 for item in value.value]
    return []


def _json_documents(data: bytes) -> Iterator[tuple[Any, int | None, list[int]]]:
    if not data.strip():  # an empty file (say, one being written) holds nothing, like empty YAML
        return
    try:
        doc = json.loads(data)
    except json.JSONDecodeError as exc:
        raise ManifestError(exc.msg, exc.lineno) from None
    except RecursionError:
        raise ManifestError("nested too deeply") from None
    except ValueError as exc:  # undecodable bytes
        raise ManifestError(_one_line(str(exc))) from None
    yield doc, None, []


def _objects(
    doc: Any, line: int | None, item_lines: list[int]
) -> Iterator[tuple[dict[str, Any], int | None]]:
    if doc is None:  # an empty document
        return
    if isinstance(doc, list):
        items: list[Any] = doc
        defaults: dict[str, Any] = {}
    elif not isinstance(doc, dict):
        raise ManifestError(f"a document must be a mapping, not {type(doc).__name__}", line)
    elif _is_list(doc):
        items = doc["items"] or []
        kind: str = doc["kind"]
        # Items of a typed list (ServiceList) usually carry no kind/apiVersion of their own.
        defaults = {} if kind == "List" else {"kind": kind[: -len("List")]}
        if defaults and "apiVersion" in doc:
            defaults["apiVersion"] = doc["apiVersion"]
    else:
        yield doc, line
        return
    for index, item in enumerate(items):
        item_line = item_lines[index] if index < len(item_lines) else line
        if not isinstance(item, dict):
            raise ManifestError(
                f"list items must be mappings, item {index} is {type(item).__name__}", item_line
            )
        if defaults and "kind" not in item:
            item = {**defaults, **item}
        yield item, item_line


def _is_list(doc: dict[str, Any]) -> bool:
    kind = doc.get("kind")
    return (
        isinstance(kind, str)
        and kind.endswith("List")
        and isinstance(doc.get("items", []), (list, type(None)))
    )


def _add(
    content: FileContent, obj: dict[str, Any], line: int | None, fields: Collection[str]
) -> None:
    kind_name = obj.get("kind")
    kind = KINDS.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None or kind.field not in fields:
        return  # another kind, or no kind at all (kustomization.yaml, Helm values …): not ours
    api_version = obj.get("apiVersion")
    if api_version is not None and (
        not isinstance(api_version, str) or api_version not in kind.api_versions
    ):
        return
    try:
        parsed = kind.parse(obj)
    except (InvalidObject, TypeError, ValueError) as exc:
        raise ManifestError(f"{kind_name}: {_one_line(str(exc))}", line) from None
    content.of(kind.field).setdefault(parsed.key, parsed)


def _one_line(text: str) -> str:
    return " ".join(text.split())
