"""Interpreter exit with configs left open (SPEC §3 close; the delivery threads are the config's).

Each case runs a fresh interpreter: it must exit by itself, with status 0 and nothing on stderr.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.timeout(60)

PRELUDE = """
import threading
from kubeproxy_config import ServiceConfig, Service

def svc(name):
    return Service.from_dict(
        {"metadata": {"name": name, "namespace": "default"}, "spec": {"clusterIP": "10.0.0.1"}}
    )
"""


def run(body: str) -> subprocess.CompletedProcess[str]:
    code = PRELUDE + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_exit_with_a_handler_blocked_forever() -> None:
    result = run(
        """
        entered = threading.Event()
        forever = threading.Event()

        def stuck(snapshot):
            entered.set()
            forever.wait()

        config = ServiceConfig()
        config.register_handler(stuck)
        config.channel("api").add([svc("a")])
        assert entered.wait(10), "the handler was never called"
        config.channel("api").add([svc("b")])
        print("exiting", flush=True)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "exiting\n"
    assert "Traceback" not in result.stderr
    assert "Fatal Python error" not in result.stderr


def test_exit_with_open_config_and_normal_handlers() -> None:
    result = run(
        """
        class Handler:
            def __init__(self):
                self.calls = 0

            def on_service_update(self, snapshot):
                self.calls += 1

            def on_synced(self):
                pass

        handler = Handler()
        config = ServiceConfig()
        config.register_handler(handler)
        config.register_handler(lambda snapshot: None)
        ch = config.channel("api")
        ch.set([svc("a")])
        assert config.flush(10)
        print("calls", handler.calls, flush=True)
        for i in range(200):
            ch.add([svc(f"s{i}")])  # still being delivered at exit
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "calls 1\n"
    assert result.stderr == ""


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            """
            config = ServiceConfig()
            config.channel("api").add([svc("a")])
            """,
            id="module-level",
        ),
        pytest.param(
            """
            def make():
                config = ServiceConfig()
                config.register_handler(lambda snapshot: None)
                config.channel("api").set([svc("a")])
            make()  # the config is dropped unclosed
            """,
            id="dropped",
        ),
        pytest.param(
            """
            configs = [ServiceConfig(name=f"c{i}") for i in range(5)]
            for config in configs:
                config.register_handler(lambda snapshot: None)
                config.channel("api").add([svc("a")])
            """,
            id="several",
        ),
        pytest.param(
            """
            config = ServiceConfig()
            config.register_handler(lambda snapshot: config.state())
            ch = config.channel("api")

            def send():
                from kubeproxy_config import ClosedError
                try:
                    for i in range(100000):
                        ch.add([svc(f"s{i % 50}")])
                except ClosedError:  # closed at exit while still sending: expected
                    pass

            threading.Thread(target=send, daemon=True).start()
            """,
            id="daemon-sender",
        ),
    ],
)
def test_exit_without_close_prints_nothing(body: str) -> None:
    result = run(body)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
