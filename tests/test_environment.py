"""environment.yml (for conda users) must list the same packages and versions as pyproject.toml."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.\-+]+)\s*", line)
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["dev"]
    py_pins = _pins(declared)
    assert len(py_pins) == len(declared), "every pyproject dependency must be pinned with =="
    env_lines = [l.strip().removeprefix("- ").strip() for l in (ROOT / "environment.yml").read_text().splitlines()]
    env_pins = _pins(env_lines)
    assert env_pins == py_pins
    assert "python=3.11" in env_lines
