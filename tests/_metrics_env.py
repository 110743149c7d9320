"""Helpers shared by the metrics and health tests: scraping a registry or a server, and waiting
on a condition with a deadline."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from _helpers import WAIT

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample of an exposition, keyed by (sample name, sorted labels)."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def scrape(registry: CollectorRegistry) -> Samples:
    return parse(generate_latest(registry).decode())


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """The sample ``name`` with exactly ``labels``, or None when it is not exported."""
    return samples.get((name, tuple(sorted(labels.items()))))


def names(samples: Samples) -> set[str]:
    return {name for name, _ in samples}


def get(url: str) -> tuple[int, str, bytes]:
    """GET ``url`` over real HTTP: status, content type and body (error statuses included)."""
    try:
        with urllib.request.urlopen(url, timeout=WAIT) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.headers.get("Content-Type", ""), err.read()


def get_json(url: str) -> tuple[int, Any]:
    code, _, body = get(url)
    return code, json.loads(body)


class Gate:
    """A handler that reports when it is entered and stays inside its call until released."""

    def __init__(self) -> None:
        import threading

        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, snapshot: object) -> None:
        self.entered.set()
        assert self.release.wait(WAIT)


class ReportingSource:
    """A source as the metrics see one: ``stats()`` per resource and a ``stall_timeout``,
    with figures a test sets (what a transport reports is its own business)."""

    def __init__(self, name: str, stall_timeout: float | None = None) -> None:
        self.source = name
        self.stall_timeout = stall_timeout
        self.figures: dict[str, dict[str, Any]] = {}

    def stats(self) -> dict[str, dict[str, Any]]:
        return {resource: dict(f) for resource, f in self.figures.items()}
