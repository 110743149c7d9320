"""Test helpers: ``FakeAPIServer``, a protocol-faithful Kubernetes API server on loopback.

The unchanged official ``kubernetes`` client and ``kubectl`` work against it. Run it standalone
with ``python -m kubeproxy_config.testing serve``. ``replay`` plays a recording of an API
source back into configs. Nothing here imports the native module at import time.
"""

from __future__ import annotations

from kubeproxy_config.testing._faults import RequestRecord
from kubeproxy_config.testing._manifests import load_manifests
from kubeproxy_config.testing._replay import replay
from kubeproxy_config.testing._status import StatusError
from kubeproxy_config.testing.server import FakeAPIServer

__all__ = ["FakeAPIServer", "RequestRecord", "StatusError", "load_manifests", "replay"]
