"""What the Rust transport is handed: the server, TLS material, proxy and credentials that the
official client resolved from a kubeconfig or the in-cluster config.

The client's ``Configuration`` stays the single source of truth: this module only reads it,
once at ``start()``, and wraps its token lookup (which runs the client's refresh hook, as exec
and OIDC auth plugins install) for the transport to call after a 401 or before reconnecting.
A setting the transport cannot honour is an ``Error`` naming it, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubeproxy_config.errors import Error

Settings = dict[str, object]


def _read(path: object, setting: str) -> bytes | None:
    if path is None or path == "":
        return None
    try:
        return Path(str(path)).read_bytes()
    except OSError as exc:
        raise Error(f"cannot read {setting} {str(path)!r}: {exc.strerror or exc}") from None


def _default_ca() -> bytes | None:
    # What the official client verifies with when the kubeconfig names no CA: certifi's bundle.
    try:
        import certifi
    except ImportError:  # pragma: no cover - certifi comes with the kubernetes client
        return None
    return Path(certifi.where()).read_bytes()


def _bypasses_proxy(host: str, no_proxy: str | None) -> bool:
    """Whether ``no_proxy`` (comma-separated host names, ``.domain`` suffixes or ``*``) covers
    the server's host."""
    for entry in (no_proxy or "").split(","):
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry == "*" or host == entry or host.endswith("." + entry.lstrip(".")):
            return True
    return False


def _host_of(url: str) -> str:
    rest = url.split("://", 1)[-1]
    authority = rest.split("/", 1)[0]
    if authority.startswith("["):
        return authority[1 : authority.find("]")].lower()
    return authority.rsplit(":", 1)[0].lower()


def resolve(api_client: Any) -> tuple[Settings, Callable[[], str | None]]:
    """The transport settings of ``api_client`` and its ``Authorization`` lookup.

    Raises ``Error`` naming a setting the transport cannot honour or a file it cannot read.
    """
    configuration = getattr(api_client, "configuration", None)
    if configuration is None:
        raise Error("api_client has no configuration: expected a kubernetes.client.ApiClient")
    host = str(getattr(configuration, "host", "") or "")
    if not host.startswith(("http://", "https://")):
        raise Error(f"host {host!r}: the API server URL must start with http:// or https://")
    unsupported = []
    if getattr(configuration, "socket_options", None):
        unsupported.append("socket_options")
    if getattr(configuration, "assert_hostname", None) is False:
        unsupported.append("assert_hostname=False (use verify_ssl=False)")
    if unsupported:
        raise Error(f"the API transport cannot honour: {', '.join(unsupported)}")

    proxy = getattr(configuration, "proxy", None) or None
    if proxy is not None:
        if not str(proxy).startswith("http://"):
            raise Error(f"proxy {proxy!r}: only http:// proxies are supported")
        if _bypasses_proxy(_host_of(host), getattr(configuration, "no_proxy", None)):
            proxy = None
    proxy_headers = getattr(configuration, "proxy_headers", None) or {}

    verify = bool(getattr(configuration, "verify_ssl", True))
    ca_pem = _read(getattr(configuration, "ssl_ca_cert", None), "ssl_ca_cert")
    if ca_pem is None and verify and host.startswith("https://"):
        ca_pem = _default_ca()
    server_name = getattr(configuration, "tls_server_name", None) or None
    assert_hostname = getattr(configuration, "assert_hostname", None)
    if server_name is None and isinstance(assert_hostname, str) and assert_hostname:
        server_name = assert_hostname

    def authorization() -> str | None:
        # The header the client itself would send: its auth settings run the refresh hook, when
        # there is one, and find the token under the key its loaders use ("BearerToken" in
        # kubeconfig and in-cluster configurations, "authorization" when set by hand).
        setting = configuration.auth_settings().get("BearerToken") or {}
        value = setting.get("value")
        return str(value) if value else None

    settings: Settings = {
        "server": host,
        "ca_pem": ca_pem,
        "cert_pem": _read(getattr(configuration, "cert_file", None), "cert_file"),
        "key_pem": _read(getattr(configuration, "key_file", None), "key_file"),
        "verify_ssl": verify,
        "tls_server_name": server_name,
        "proxy": proxy,
        "proxy_headers": [(str(k), str(v)) for k, v in dict(proxy_headers).items()],
        "authorization": authorization(),
        "refresh_each_connect": getattr(configuration, "refresh_api_key_hook", None) is not None,
    }
    return settings, authorization
