"""``python -m kubeproxy_config``: the ``kubeproxy-config`` command line."""

from __future__ import annotations

from kubeproxy_config.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
