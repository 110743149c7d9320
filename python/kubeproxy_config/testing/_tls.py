"""Test certificates for the TLS mode, made with ``trustme``."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TLSMaterial:
    """A server TLS context and the CA that signed its certificate."""

    context: ssl.SSLContext
    ca_pem: bytes
    ca_path: Path


def make_tls(directory: Path, host: str) -> TLSMaterial:
    """A fresh CA and a server certificate for ``host`` and ``localhost``; the CA PEM is
    written to ``directory/ca.pem``."""
    import trustme  # lazily: a test dependency, needed only for TLS

    ca = trustme.CA()
    cert = ca.issue_cert(host, "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    ca_pem: bytes = ca.cert_pem.bytes()
    ca_path = directory / "ca.pem"
    ca_path.write_bytes(ca_pem)
    return TLSMaterial(context, ca_pem, ca_path)
