"""TLS for ``FakeAPIServer`` needs the ``testing`` extra (``trustme``); without it the error is
one line naming what to install (SPEC §12)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kubeproxy_config.testing import FakeAPIServer

HINT = "pip install 'kubeproxy-config[testing]'"

# Run a command with trustme made unimportable, as on a machine without the extra.
WITHOUT_TRUSTME = (
    "import sys; sys.modules['trustme'] = None; "
    "from kubeproxy_config.testing.__main__ import main; sys.exit(main(sys.argv[1:]))"
)


def test_fake_apiserver_tls_without_trustme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "trustme", None)
    with pytest.raises(ImportError, match="trustme") as caught:
        FakeAPIServer(tls=True)
    assert HINT in str(caught.value)
    FakeAPIServer()  # plain HTTP needs nothing more


def test_serve_tls_without_trustme_is_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_TRUSTME, "serve", "--tls"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and HINT in line
    assert result.stdout == ""
