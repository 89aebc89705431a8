"""The deployment recipe refers to files and commands that exist (no docker engine here to build it)."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from honed.cli import build_parser

ROOT = Path(__file__).resolve().parents[3]


def parse_honed(argv: list[str]):
    assert argv[0] == "honed"
    args = build_parser().parse_args(argv[1:])  # raises SystemExit on an unknown option
    assert args.handler == "honed.cli.serve:run_serve"
    return args


def test_dockerfile_copies_existing_paths_and_runs_a_valid_serve_command():
    text = (ROOT / "Dockerfile").read_text()
    for line in re.findall(r"^COPY (.+)$", text, re.M):
        for source in line.split()[:-1]:
            assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
    cmd = yaml.safe_load(re.search(r"^CMD (\[.+\])$", text, re.M).group(1))  # the JSON form is valid YAML
    args = parse_honed(cmd)
    assert args.models == ["/model"] and args.engine == "transformers"
    assert '".[serve]"' in text and "serve = [" in (ROOT / "pyproject.toml").read_text()


def test_compose_services_build_from_here_and_run_valid_commands():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    cpu, gpu = compose["services"]["honed-cpu"], compose["services"]["honed-gpu"]
    assert (ROOT / cpu["build"] / "Dockerfile").is_file()
    assert parse_honed(cpu["command"]).models == ["/model"]
    shell = gpu["command"][0]
    serve = shlex.split(shell.split("exec ", 1)[1])
    args = parse_honed(serve)
    assert args.engine == "vllm" and args.tensor_parallel_size >= 1
    assert gpu["image"].startswith("vllm/vllm-openai")
    assert any(v.startswith(".:/src") for v in gpu["volumes"])
    assert "/tmp/honed[serve]" in shell


def test_docs_give_the_one_command_for_each():
    docs = (ROOT / "docs" / "serve.md").read_text()
    assert "docker compose up honed-cpu" in docs
    assert "docker compose --profile gpu up honed-gpu" in docs
    assert "docker build -t honed-serve ." in docs
