"""Test certificates for the TLS mode, made with ``trustme`` (the ``testing`` extra)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

INSTALL_HINT = "pip install 'kubeproxy-config[testing]'"


def require_trustme() -> ModuleType:
    """The ``trustme`` module; without it an ``ImportError`` saying what to install."""
    try:
        import trustme
    except ImportError:
        raise ImportError(
            f"FakeAPIServer(tls=True) needs trustme, which is not installed: {INSTALL_HINT}",
            name="trustme",
        ) from None
    return trustme


@dataclass(frozen=True)
class TLSMaterial:
    """A server TLS context and the CA that signed its certificate."""

    context: ssl.SSLContext
    ca_pem: bytes
    ca_path: Path
    client_cert_path: Path | None = None
    client_key_path: Path | None = None


def make_tls(directory: Path, host: str, *, client_certs: bool = False) -> TLSMaterial:
    """A fresh CA and a server certificate for ``host`` and ``localhost``; the CA PEM is
    written to ``directory/ca.pem``. With ``client_certs`` the server requires a client
    certificate signed by the same CA, and one is written to ``directory/client.pem`` and
    ``directory/client-key.pem``."""
    trustme = require_trustme()  # lazily: an optional dependency, needed only for TLS
    ca = trustme.CA()
    cert = ca.issue_cert(host, "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    ca_pem: bytes = ca.cert_pem.bytes()
    ca_path = directory / "ca.pem"
    ca_path.write_bytes(ca_pem)
    if not client_certs:
        return TLSMaterial(context, ca_pem, ca_path)
    context.verify_mode = ssl.CERT_REQUIRED
    ca.configure_trust(context)
    client = ca.issue_cert("kube-proxy.test", common_name="system:kube-proxy")
    cert_path, key_path = directory / "client.pem", directory / "client-key.pem"
    cert_path.write_bytes(b"".join(blob.bytes() for blob in client.cert_chain_pems))
    key_path.write_bytes(client.private_key_pem.bytes())
    return TLSMaterial(context, ca_pem, ca_path, cert_path, key_path)
