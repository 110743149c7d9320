"""Sources that feed configs: ``FileSource`` (manifest files) and ``KubernetesSource`` (the API).

``KubernetesSource`` and ``new_source_api`` live in ``kubeproxy_config.sources.kubernetes`` and are
imported on first access (module ``__getattr__``), so importing this package never imports the
``kubernetes`` client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kubeproxy_config.sources.files import FileSource

if TYPE_CHECKING:  # served lazily by __getattr__ below
    from kubeproxy_config.sources.kubernetes import KubernetesSource, new_source_api

__all__ = ["FileSource", "KubernetesSource", "new_source_api"]

_KUBERNETES_NAMES = frozenset({"KubernetesSource", "new_source_api"})


def __getattr__(name: str) -> Any:
    if name in _KUBERNETES_NAMES:
        from kubeproxy_config.sources import kubernetes

        return getattr(kubernetes, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
