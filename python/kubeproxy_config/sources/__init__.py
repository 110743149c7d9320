"""Sources that feed configs: ``FileSource`` (manifest files) and ``KubernetesSource`` (the API).

Each source lives in its own module and is imported on first access (module ``__getattr__``,
PEP 562), so a program pays only for the sources it uses: ``FileSource`` brings PyYAML and
watchfiles, ``KubernetesSource`` neither (the official ``kubernetes`` client is imported only
when a source resolves its configuration, at ``start()``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # served lazily by __getattr__ below
    from kubeproxy_config.sources.files import FileSource
    from kubeproxy_config.sources.kubernetes import KubernetesSource, new_source_api

__all__ = ["FileSource", "KubernetesSource", "new_source_api"]

_MODULE_OF = {
    "FileSource": "kubeproxy_config.sources.files",
    "KubernetesSource": "kubeproxy_config.sources.kubernetes",
    "new_source_api": "kubeproxy_config.sources.kubernetes",
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
