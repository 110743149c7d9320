"""Every Python example in the README runs as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 3


@pytest.mark.timeout(60)
@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index: int, capsys: pytest.CaptureFixture[str]) -> None:
    code = compile(BLOCKS[index], f"README.md example {index + 1}", "exec")
    exec(code, {"__name__": f"readme_example_{index + 1}"})
    capsys.readouterr()


QUICK_START = "pip install . && kubeproxy-config watch --example --once"


def test_quick_start_runs(tmp_path: Path) -> None:
    """The quick start's one line is there, and its command works on a machine with no
    kubeconfig (a fresh HOME) and prints the example cluster, without a notice."""
    quick_start = README.read_text(encoding="utf-8").split("## Quick start", 1)[1]
    assert f"```console\n{QUICK_START}\n```" in quick_start.split("\n## ", 1)[0]
    command = QUICK_START.split(" && ", 1)[1].split()
    script = Path(sys.executable).with_name(command[0])
    if not script.is_file():
        pytest.skip("the kubeproxy-config script is not installed beside this interpreter")
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env["HOME"] = str(tmp_path)
    result = subprocess.run(
        [str(script), *command[1:]],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.split()[:2] == ["SERVICE", "TYPE"]
    assert "shop/storefront" in result.stdout and "(terminating)" in result.stdout
