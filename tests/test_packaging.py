"""What `pip install .` (not only an editable install) ships: every subpackage and the data files it reads."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def _package_folders() -> dict[str, Path]:
    """Every importable package of the project -> its folder (from the package-dir mapping)."""
    found: dict[str, Path] = {}
    for name, folder in SETUPTOOLS["package-dir"].items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            rel = init.parent.relative_to(base)
            found[".".join([name, *rel.parts])] = init.parent
    return found


def test_every_subpackage_is_declared():
    declared = set(SETUPTOOLS["packages"])
    missing = sorted(set(_package_folders()) - declared)
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"


def test_every_data_file_a_package_reads_is_declared():
    """Files other than Python in a package folder (maps, scenarios, sweep specs, Vue templates) are package data."""
    import fnmatch

    data = SETUPTOOLS["package-data"]
    folders = _package_folders()
    undeclared = []
    for name, folder in folders.items():
        nested = [Path(f) for other, f in folders.items() if other != name and Path(f).is_relative_to(folder)]
        for path in folder.rglob("*"):
            if (not path.is_file() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts
                    or path.name.startswith(".") or any(path.is_relative_to(n) for n in nested)
                    or path.name in ("README.md",)):
                continue
            rel = path.relative_to(folder).as_posix()
            if not any(fnmatch.fnmatch(rel, pattern) for pattern in data.get(name, [])):
                undeclared.append(f"{name}: {rel}")
    assert not undeclared, f"not shipped by `pip install .` (package-data): {undeclared[:10]}"
