"""Which sources ``kubeproxy-config watch`` follows, as kubectl chooses (SPEC §6), and the first
contact with the API server, bounded by the command's deadline.

Explicit flags first: each ``--manifests DIR``, ``--example``, and the API server named by
``--kubeconfig`` / ``--context`` / ``--in-cluster``; ``--manifests`` alone reads no kubeconfig.
With none of them: ``$KUBECONFIG`` or ``~/.kube/config`` (its current context), else the pod's
service account when running in a pod, else the example cluster shipped with the package, with a
one-line notice on stderr. The namespace shown is ``-n``, else none with ``-A``, else the
kubeconfig context's namespace (all namespaces when it sets none, or in a pod).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib.resources
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubeproxy_config.errors import Error
from kubeproxy_config.sources import _kubeconfig
from kubeproxy_config.sources._kubeconfig import ClientConfig, load_in_cluster, load_kubeconfig
from kubeproxy_config.testing._selectors import LabelSelector, SelectorError

__all__ = ["FALLBACK_NOTICE", "Selection", "ServiceSelector", "check_reachable", "select"]

FALLBACK_NOTICE = (
    "no kubeconfig ($KUBECONFIG, ~/.kube/config) and not in a pod: showing the example cluster "
    "shipped with the package (--example)"
)


class SourceError(Exception):
    """A source that cannot be used: one line for the user, with exit status ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ServiceSelector:
    """``-l``: a label selector choosing Services (as ``kubectl get services -l``)."""

    text: str
    parsed: LabelSelector

    @classmethod
    def parse(cls, text: str) -> ServiceSelector:
        """Raises ``SourceError`` (a usage error) naming what does not parse."""
        try:
            return cls(text, LabelSelector.parse(text))
        except SelectorError as exc:
            raise SourceError(f"invalid label selector: {exc}", 2) from None

    def matches_labels(self, labels: Mapping[str, str]) -> bool:
        """Whether a Service with these labels is selected."""
        return all(req.matches(labels) for req in self.parsed.requirements)


@dataclass
class Selection:
    """The sources chosen: manifest paths by channel name (in channel order), the API server
    (None: not followed), the namespace shown (None: all) and the notice to print, if any."""

    manifests: list[tuple[str, Path]] = field(default_factory=list)
    api: ClientConfig | None = None
    namespace: str | None = None
    notice: str | None = None


def select(args: argparse.Namespace, stack: contextlib.ExitStack) -> Selection:
    """The sources and namespace for ``watch``'s arguments (SPEC §6); ``stack`` keeps the
    example directory available while it is read."""
    chosen = Selection(
        [("file" if i == 0 else f"file-{i + 1}", Path(p)) for i, p in enumerate(args.manifests)]
    )
    if args.example:
        chosen.manifests.append(("example", _examples(stack)))
    explicit = bool(args.manifests or args.example)
    try:
        if args.in_cluster:
            chosen.api = load_in_cluster()
        elif args.kubeconfig is not None or args.context is not None:
            chosen.api = load_kubeconfig(args.kubeconfig, args.context)
        elif not explicit:
            if _kubeconfig_present():
                chosen.api = load_kubeconfig()
            elif _in_pod():
                chosen.api = load_in_cluster()
            else:
                chosen.manifests.append(("example", _examples(stack)))
                chosen.notice = FALLBACK_NOTICE
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise SourceError(f"the kubernetes client is not installed ({exc})") from None
    except Error as exc:
        raise SourceError(str(exc)) from None
    if args.namespace:
        chosen.namespace = args.namespace
    elif not args.all_namespaces and chosen.api is not None and chosen.api.context is not None:
        chosen.namespace = chosen.api.namespace  # the kubeconfig context's, if it sets one
    return chosen


def _examples(stack: contextlib.ExitStack) -> Path:
    examples = importlib.resources.files("kubeproxy_config") / "examples"
    return stack.enter_context(importlib.resources.as_file(examples))


def _kubeconfig_present() -> bool:
    """Whether a kubeconfig is configured: ``$KUBECONFIG`` when set (an error when it names no
    existing file, as kubectl then has no cluster either), else ``~/.kube/config``."""
    listed = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    if listed:
        if not any(Path(p).expanduser().is_file() for p in listed):
            raise Error(
                f"$KUBECONFIG names no existing file ({os.pathsep.join(listed)}); "
                "use --example for the example cluster"
            )
        return True
    return Path("~/.kube/config").expanduser().is_file()


def _in_pod() -> bool:
    """Running in a pod: the API server's address in the environment and a service account
    token mounted (the client's own test)."""
    account = _kubeconfig.SERVICE_ACCOUNT_DIR
    return bool(
        os.environ.get("KUBERNETES_SERVICE_HOST")
        and os.environ.get("KUBERNETES_SERVICE_PORT")
        and (account / "token").is_file()
    )


def check_reachable(api: ClientConfig, deadline: float, timeout: float) -> None:
    """Fail early, with one line, when the API server cannot be reached, does not answer before
    ``deadline`` (``time.monotonic()``, ``timeout`` seconds after the start), or refuses the
    credentials; the source itself would retry until the deadline. One request without the
    client's own retries, so the deadline bounds it whole."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError, NewConnectionError
    from urllib3.exceptions import TimeoutError as Urllib3Timeout

    configuration = copy.deepcopy(api.configuration)
    configuration.retries = False  # the client would retry 3 times, each with the full timeout
    left = deadline - time.monotonic()
    once: Any = client.ApiClient(configuration)  # the client is not annotated
    try:
        client.VersionApi(once).get_code(_request_timeout=max(0.001, left))
    except ApiException as exc:
        if exc.status in (401, 403):
            raise SourceError(
                f"the API server at {api.host} refused the credentials: {exc.status} {exc.reason}"
            ) from None
        # Any other answer means it is there; the source reports what follows.
    except Urllib3Timeout as exc:
        if isinstance(exc, NewConnectionError):  # refused, say (urllib3 counts it a timeout)
            raise SourceError(f"cannot reach the API server at {api.host}: {exc}") from None
        raise SourceError(
            f"timed out after {timeout:g} s: the API server at {api.host} did not answer"
        ) from None
    except HTTPError as exc:
        reason = getattr(exc, "reason", None) or exc
        raise SourceError(f"cannot reach the API server at {api.host}: {reason}") from None
    finally:
        once.close()
