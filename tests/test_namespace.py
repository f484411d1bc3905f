"""The `ck` namespace is curated: every name colorkit/__init__.py imports is used by a notebook (or its solutions)
or named in its docstring, and nothing else leaks in (issue 18)."""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import colorkit as ck

ROOT = Path(__file__).resolve().parents[1]


def _exported() -> list[str]:
    tree = ast.parse((ROOT / "colorkit" / "__init__.py").read_text())
    return [a.asname or a.name for node in tree.body if isinstance(node, ast.ImportFrom) for a in node.names]


def _notebook_code() -> str:
    """The notebooks' cells (code, and markdown that shows code) and their solutions and checks."""
    cells = [c for p in sorted((ROOT / "notebooks").glob("*.ipynb")) for c in json.loads(p.read_text())["cells"]]
    solutions = [p.read_text() for p in sorted((ROOT / "notebooks" / "solutions").glob("*.py"))]
    return "\n".join(["".join(c["source"]) for c in cells] + solutions)


def test_every_exported_name_is_used_by_a_notebook_or_documented():
    code, doc = _notebook_code(), ck.__doc__
    unused = [n for n in _exported() if not re.search(rf"\bck\.{n}\b", code) and f"ck.{n}" not in doc]
    assert unused == []


def test_nothing_leaks_into_the_namespace():
    public = {n for n in vars(ck) if not n.startswith("_")}
    submodules = {n for n in public if type(getattr(ck, n)).__name__ == "module"}
    leaked = public - set(_exported()) - submodules
    assert leaked == set()  # e.g. torch, dataclasses.replace
    assert all(getattr(ck, n).__name__.startswith("colorkit.") for n in submodules)
