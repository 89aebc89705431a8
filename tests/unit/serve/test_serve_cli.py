"""`honed serve` usage errors stop before any model loads: exit 2 with the problem and the fix."""
from __future__ import annotations

import pytest

from honed.cli import main


@pytest.mark.parametrize("argv, message", [
    (["serve", "tiny-random", "--api-key-env", "HONED_TEST_UNSET_KEY"], "HONED_TEST_UNSET_KEY"),
    (["serve", "tiny-random", "--log-sample-rate", "1.5"], "--log-sample-rate"),
    (["serve", "tiny-random", "--engine", "vllm"], "vLLM needs a model directory"),
    (["serve", "a=tiny-random", "a=tiny-random"], "two models would be served as `a`"),
])
def test_usage_errors_exit_2(argv, message, capsys, monkeypatch):
    monkeypatch.delenv("HONED_TEST_UNSET_KEY", raising=False)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "fix:" in err


def test_help_lists_serve_without_importing_the_server():
    import subprocess
    import sys

    code = ("import sys; from honed.cli import build_parser; build_parser().parse_args(['serve', 'tiny-random']); "
            "print(sorted(m for m in ('fastapi', 'torch', 'uvicorn', 'honed.serve.app') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
