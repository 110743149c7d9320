"""Label and field selectors, as accepted by ``labelSelector`` and ``fieldSelector``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_SET_RE = re.compile(rf"^({_KEY})\s+(in|notin)\s*\((.*)\)$")
_CMP_RE = re.compile(rf"^({_KEY})\s*(==|!=|=)\s*(.*)$")
_KEY_RE = re.compile(rf"^{_KEY}$")
_VALUE_RE = re.compile(rf"^{_VALUE}$")


class SelectorError(ValueError):
    """A selector that does not parse."""


@dataclass(frozen=True)
class Requirement:
    """One term of a label selector: ``key op values``."""

    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!exists"
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a label set satisfies this term."""
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!exists":
            return not present
        if self.op in ("=", "in"):
            return present and value in self.values
        # "!=" and "notin" match objects without the label too, as in Kubernetes.
        return not present or value not in self.values


def _split_terms(text: str) -> list[str]:
    terms, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return [t.strip() for t in terms if t.strip()]


def _check_value(value: str, text: str) -> str:
    if not _VALUE_RE.match(value):
        raise SelectorError(f"invalid label value {value!r} in selector {text!r}")
    return value


def _parse_term(term: str, text: str) -> Requirement:
    if m := _SET_RE.match(term):
        values = [v.strip() for v in m.group(4).split(",")]
        if not any(values):
            raise SelectorError(f"{m.group(3)} needs at least one value in {text!r}")
        op = "in" if m.group(3) == "in" else "notin"
        return Requirement(m.group(1), op, frozenset(_check_value(v, text) for v in values))
    if m := _CMP_RE.match(term):
        op = "!=" if m.group(3) == "!=" else "="
        return Requirement(m.group(1), op, frozenset({_check_value(m.group(4).strip(), text)}))
    if term.startswith("!") and _KEY_RE.match(term[1:].strip()):
        return Requirement(term[1:].strip(), "!exists")
    if _KEY_RE.match(term):
        return Requirement(term, "exists")
    raise SelectorError(f"unable to parse requirement {term!r} in selector {text!r}")


@dataclass(frozen=True)
class LabelSelector:
    """A parsed label selector; the empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> LabelSelector:
        """Parse ``a=b,c!=d,e,!f,g in (x,y),h notin (z)``; raises ``SelectorError``."""
        if not text:
            return cls()
        return cls(tuple(_parse_term(term, text) for term in _split_terms(text)))

    def matches(self, obj: Mapping[str, Any]) -> bool:
        """Whether an object's ``metadata.labels`` satisfy every requirement."""
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(req.matches(labels) for req in self.requirements)


_FIELDS = {"metadata.name": "name", "metadata.namespace": "namespace"}


@dataclass(frozen=True)
class FieldSelector:
    """A parsed field selector over ``metadata.name`` and ``metadata.namespace``."""

    terms: tuple[tuple[str, bool, str], ...] = ()  # (metadata field, equal?, value)

    @classmethod
    def parse(cls, text: str | None) -> FieldSelector:
        """Parse ``metadata.name=x,metadata.namespace!=y``; raises ``SelectorError``."""
        if not text:
            return cls()
        terms = []
        for term in _split_terms(text):
            m = re.match(r"^([A-Za-z.]+)\s*(==|!=|=)\s*(.*)$", term)
            if not m:
                raise SelectorError(f"invalid field selector term {term!r}")
            if m.group(1) not in _FIELDS:
                raise SelectorError(f'field label not supported: "{m.group(1)}"')
            terms.append((_FIELDS[m.group(1)], m.group(2) != "!=", m.group(3).strip()))
        return cls(tuple(terms))

    def matches(self, obj: Mapping[str, Any]) -> bool:
        """Whether an object satisfies every term."""
        meta = obj.get("metadata") or {}
        return all((meta.get(field, "") == value) == eq for field, eq, value in self.terms)
