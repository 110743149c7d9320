"""Where the API server is and how to reach it, resolved by the official ``kubernetes`` client.

Three ways in, as kubectl and client-go have them: a kubeconfig (an explicit file, else
``$KUBECONFIG`` or ``~/.kube/config``; an explicit context, else the current one), the pod's
service account (in-cluster), or the library default (in-cluster when it is usable, else the
kubeconfig). Each returns a ``ClientConfig``: the client ``Configuration`` (server URL, TLS
settings, credentials and their refresh hook) and the namespace that configuration names. Nothing
else in the package calls the client's configuration loaders.

Failures raise ``kubeproxy_config.Error`` with a one-line message; the client's own exception is
the ``__cause__``. The client is imported on first use (an ``ImportError`` propagates).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubeproxy_config.errors import Error

__all__ = [
    "SERVICE_ACCOUNT_DIR",
    "ClientConfig",
    "load_default",
    "load_in_cluster",
    "load_kubeconfig",
]

logger = logging.getLogger("kubeproxy_config")

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
"""Where a pod's service account is mounted: ``token``, ``ca.crt`` and ``namespace``."""


@dataclass(frozen=True)
class ClientConfig:
    """A resolved client configuration.

    Attributes:
        configuration: the ``kubernetes.client.Configuration``: ``host``, the TLS settings
            (``ssl_ca_cert``, ``cert_file``, ``key_file``, ``verify_ssl``), the credentials
            (``api_key``) and ``refresh_api_key_hook`` for credentials that expire.
        namespace: the context's namespace, or the service account's in a pod; None when the
            configuration names none.
        context: the kubeconfig context used; None in-cluster.
    """

    configuration: Any  # kubernetes.client.Configuration (the client is not annotated)
    namespace: str | None
    context: str | None

    @property
    def host(self) -> str:
        """The API server's URL."""
        return str(self.configuration.host)

    def api_client(self) -> Any:
        """A new ``kubernetes.client.ApiClient`` on this configuration (the caller closes it)."""
        from kubernetes import client

        return client.ApiClient(self.configuration)


def load_kubeconfig(
    path: str | os.PathLike[str] | None = None, context: str | None = None
) -> ClientConfig:
    """The configuration of ``context`` (default: the current context) in the kubeconfig at
    ``path`` (default: ``$KUBECONFIG``, a list of files, else ``~/.kube/config``, as the client
    resolves it)."""
    from kubernetes import config as _config

    config: Any = _config  # the loaders are not annotated
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise Error(f"kubeconfig {path} {'is not a file' if path.exists() else 'not found'}")
    where = "" if path is None else f" {path}"
    config_file = None if path is None else str(path)
    configuration = _new_configuration()
    try:
        config.load_kube_config(
            config_file=config_file, context=context, client_configuration=configuration
        )
        contexts, current = config.list_kube_config_contexts(config_file=config_file)
    except config.ConfigException as exc:
        raise Error(f"bad kubeconfig{where}: {exc}") from exc
    except Exception as exc:  # YAML errors, wrong types, unreadable files inside it …
        raise Error(f"bad kubeconfig{where}: {type(exc).__name__}: {exc}") from exc
    name = current["name"] if context is None else context
    chosen: dict[str, Any] = next((c for c in contexts if c.get("name") == name), {})
    namespace = (chosen.get("context") or {}).get("namespace")
    return ClientConfig(configuration, namespace or None, str(name))


def load_in_cluster(*, service_account_dir: str | os.PathLike[str] | None = None) -> ClientConfig:
    """The pod's configuration: ``$KUBERNETES_SERVICE_HOST`` / ``$KUBERNETES_SERVICE_PORT`` and
    the service account's token (re-read as it rotates), CA certificate and namespace, from
    ``service_account_dir`` (default: ``SERVICE_ACCOUNT_DIR``)."""
    from kubernetes.config import incluster_config

    loaders: Any = incluster_config  # not annotated
    account = Path(SERVICE_ACCOUNT_DIR if service_account_dir is None else service_account_dir)
    configuration = _new_configuration()
    try:
        loaders.InClusterConfigLoader(
            token_filename=str(account / "token"), cert_filename=str(account / "ca.crt")
        ).load_and_set(configuration)
    except loaders.ConfigException as exc:
        raise Error(f"cannot use the in-cluster configuration: {exc}") from exc
    try:
        namespace = (account / "namespace").read_text(encoding="utf-8").strip()
    except OSError:
        namespace = ""
    return ClientConfig(configuration, namespace or None, None)


def load_default() -> ClientConfig:
    """In-cluster when ``$KUBERNETES_SERVICE_HOST`` is set and the service account is mounted,
    else the kubeconfig's current context (``KubernetesSource``'s default)."""
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        try:
            return load_in_cluster()
        except Error as exc:
            logger.debug("in-cluster config not usable (%s); trying kubeconfig", exc.__cause__)
    return load_kubeconfig()


def _new_configuration() -> Any:
    from kubernetes import client

    return client.Configuration()
