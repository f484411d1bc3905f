"""The documentation names the package as it is."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "colorkit"
ARCHITECTURE = ROOT / "docs" / "architecture.md"


def package_modules() -> list[Path]:
    """colorkit's .py modules, sub-packages included, without __init__.py and __main__.py."""
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name not in ("__init__.py", "__main__.py"))


def test_architecture_names_every_module():
    doc = ARCHITECTURE.read_text(encoding="utf-8")
    missing = []
    for path in package_modules():
        rel = path.relative_to(ROOT)
        dotted = ".".join(rel.with_suffix("").parts)
        if f"`{dotted}`" not in doc and rel.as_posix() not in doc:
            missing.append(dotted)
    assert package_modules(), "no modules found under colorkit/"
    assert not missing, f"docs/architecture.md does not name {', '.join(missing)}: add a line for each"


def test_architecture_names_only_real_modules():
    doc = ARCHITECTURE.read_text(encoding="utf-8")
    dotted = set(re.findall(r"`(colorkit(?:\.\w+)+)`", doc))
    paths = set(re.findall(r"`(colorkit/[\w/]+\.py)`", doc))
    gone = [name for name in sorted(dotted)
            if not (ROOT / (name.replace(".", "/") + ".py")).is_file()
            and not (ROOT / name.replace(".", "/") / "__init__.py").is_file()]
    gone += [p for p in sorted(paths) if not (ROOT / p).is_file()]
    assert not gone, f"docs/architecture.md names modules that do not exist: {', '.join(gone)}"
