"""The set-up files agree with each other: pyproject, environment.yml, Makefile, .ci/run, README."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, as the tomli package
    import tomli as tomllib

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name_and_spec(requirement: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement)
    assert match, requirement
    return match.group(1).lower().replace("_", "-"), match.group(2).replace(" ", "")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def _makefile_torch() -> str:
    match = re.search(r"^TORCH\s*\?=\s*(\S+)", (ROOT / "Makefile").read_text(), re.M)
    assert match, "Makefile must set TORCH ?= torch==X.Y.Z"
    return match.group(1)


def test_torch_is_pinned_to_the_same_cpu_build_everywhere():
    torch_pin = _makefile_torch()
    assert re.fullmatch(r"torch==\d+\.\d+\.\d+", torch_pin), torch_pin
    env = _environment()
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert torch_pin in pip_section, f"environment.yml must pin {torch_pin}"
    # pyproject keeps a range that the pinned build satisfies, so installing seqlab after torch
    # never pulls a newer (CUDA) build.
    spec = dict(_name_and_spec(r) for r in _pyproject()["project"]["dependencies"])["torch"]
    lower = re.fullmatch(r">=(\d+)\.(\d+)", spec)
    assert lower, f"pyproject's torch requirement should be a lower bound, got {spec!r}"
    pinned = tuple(int(x) for x in torch_pin.split("==")[1].split(".")[:2])
    assert pinned >= (int(lower.group(1)), int(lower.group(2)))


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = _pyproject()["project"]
    runtime = dict(_name_and_spec(r) for r in project["dependencies"])
    lab = dict(_name_and_spec(r) for r in project["optional-dependencies"]["lab"])
    expected = {k: v for k, v in {**runtime, **lab}.items() if k != "torch"}  # torch comes via pip
    conda = dict(_name_and_spec(d) for d in _environment()["dependencies"] if isinstance(d, str))
    conda.pop("python"), conda.pop("pip")
    assert conda == expected, "environment.yml and pyproject.toml disagree; update both together"


def test_environment_python_satisfies_requires_python():
    python = next(d for d in _environment()["dependencies"] if isinstance(d, str) and d.startswith("python="))
    major, minor = (int(x) for x in python.split("=")[1].split(".")[:2])
    low = re.fullmatch(r">=(\d+)\.(\d+)", _pyproject()["project"]["requires-python"])
    assert (major, minor) >= (int(low.group(1)), int(low.group(2)))


def test_gpu_extra_pins_mamba_ssm_and_is_not_in_the_cpu_setup():
    extras = _pyproject()["project"]["optional-dependencies"]
    gpu = dict(_name_and_spec(r) for r in extras["gpu"])
    assert gpu["mamba-ssm"].startswith("==") and gpu["causal-conv1d"].startswith("==")
    assert "gpu" not in (ROOT / "Makefile").read_text().split("-e")[1].split("\n")[0]
    assert "mamba-ssm" not in (ROOT / "environment.yml").read_text().split("dependencies:")[1]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make lab" in readme
    assert re.search(r"^make test\b", ci, re.M), ".ci/run must call the README's test command"


def test_cli_help_lists_every_subcommand():
    out = subprocess.run([sys.executable, "-m", "seqlab", "--help"], capture_output=True, text=True, check=True)
    for name in ("compare", "sweep", "exercises", "grade"):
        assert name in out.stdout


def test_cli_without_a_subcommand_exits_2_with_help():
    out = subprocess.run([sys.executable, "-m", "seqlab"], capture_output=True, text=True)
    assert out.returncode == 2 and "usage:" in out.stdout
