"""Blocking waits release the GIL and still answer Ctrl-C (SIGINT raises KeyboardInterrupt)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

# The child announces "ready" from a watcher thread only once its main thread is inside the
# wait (its frame is on the line of the call), so the signal lands during the wait itself.
CHILD = textwrap.dedent(
    """
    import sys, threading
    from kubeproxy_config import ServiceConfig

    config = ServiceConfig()
    stuck = threading.Event()
    config.register_handler(lambda snap: stuck.wait())
    ch = config.channel("api")
    if sys.argv[1] != "wait_synced":
        ch.set([{"metadata": {"name": "web"}, "spec": {"clusterIP": "10.0.0.1"}}])
    main = threading.main_thread().ident

    def inside_the_call():
        frame = sys._current_frames()[main]
        while frame is not None and frame.f_code.co_name != "blocking_call":
            frame = frame.f_back
        return frame is not None

    def announce():
        while not inside_the_call():
            threading.Event().wait(0.001)
        print("ready", flush=True)

    def blocking_call():
        if sys.argv[1] == "flush":
            config.flush()
        elif sys.argv[1] == "wait_synced":
            config.wait_synced()
        else:
            config.close()

    threading.Thread(target=announce, daemon=True).start()
    try:
        blocking_call()
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    stuck.set()
    config.close(timeout=5)
    """
)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("wait", ["flush", "wait_synced", "close"])
def test_ctrl_c_interrupts_a_wait(wait: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, wait],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
    finally:
        child.kill()
    assert out.strip() == "interrupted", err
    assert child.returncode == 0, err
    assert "Traceback" not in err
