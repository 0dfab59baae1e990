"""Packaging: one version, an SPDX licence with its text, typed, a small core, a light import."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import dronefront
from dronefront.extras import EXTRAS

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
HEAVY = ("matplotlib", "scipy", "duckdb", "pandas", "ray", "optuna", "SALib")


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower()


def test_license_is_spdx_with_the_full_text_shipped():
    assert PROJECT["license"] == "Apache-2.0"
    assert PROJECT["license-files"] == ["LICENSE"]
    requires = PYPROJECT["build-system"]["requires"]
    assert any(re.fullmatch(r"setuptools>=(\d+)", r) and int(r.split(">=")[1]) >= 77
               for r in requires), requires
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert text.count("\n") > 190  # the whole licence, not a pointer to it


def test_version_is_written_once():
    assert "version" not in PROJECT and "version" in PROJECT["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "dronefront.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+)?", dronefront.__version__)
    for path in (ROOT / "src").rglob("*.py"):
        assert not re.search(r"""__version__\s*=\s*["']""", path.read_text()) or (
            path == ROOT / "src" / "dronefront" / "__init__.py"), path


def test_typed_marker_is_package_data():
    assert (ROOT / "src" / "dronefront" / "py.typed").is_file()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["dronefront"]


def test_extras_in_code_match_pyproject():
    extras = PROJECT["optional-dependencies"]
    # ppo (examples/rl/train_ppo.py) pulls PyTorch: an extra of the example, never in `all`
    assert set(extras) == set(EXTRAS) | {"test", "all", "ppo"}
    assert sorted(_name(r) for r in extras["ppo"]) == ["dronefront", "stable-baselines3",
                                                      "torch"]
    for extra, modules in EXTRAS.items():
        assert sorted(_name(r) for r in extras[extra]) == sorted(m.lower() for m in modules)
    everything = extras["all"][0]
    assert everything.startswith("dronefront[") and set(
        everything[len("dronefront["):-1].split(",")) == set(EXTRAS)
    core = {_name(r) for r in PROJECT["dependencies"]}
    assert core == {"numpy", "numba", "pydantic", "pyyaml", "pyarrow", "typer", "rich"}
    assert not core & {m.lower() for ms in EXTRAS.values() for m in ms}


LOADED = """
import json, sys
{imports}
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})))
"""


def _loaded(*imports: str) -> list[str]:
    code = LOADED.format(imports="\n".join(f"import {m}" for m in imports), heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env={"PYTHONPATH": str(ROOT / "src"), "PATH": ""})
    return json.loads(done.stdout)


def test_import_does_not_load_optional_dependencies():
    # Numba imports the top-level scipy package (to check its version) when it is
    # installed; nothing of dronefront's may add to that.
    numba_alone = set(_loaded("numba"))
    assert {m.split(".")[0] for m in numba_alone} <= {"scipy"}
    for modules in (("dronefront",), ("dronefront.cli",)):
        assert set(_loaded(*modules)) <= numba_alone, modules


def _text_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "Makefile", ROOT / "pyproject.toml"]
    for folder in ("src", "docs", "tests", "benchmarks", "examples"):
        files += [p for p in (ROOT / folder).rglob("*") if p.is_file()
                  and p.suffix in {".py", ".md", ".yaml", ".csv", ".toml", ".txt", ".html"}
                  and "__pycache__" not in p.parts
                  and not any(part.endswith(".egg-info") for part in p.parts)]
    return files


def test_project_refers_only_to_its_own_files():
    # Written so that this file does not match its own patterns.
    outside = re.compile(r"(?<![\w.])shar[e]d/|/wor[k]/")
    mentioned = re.compile(
        r"(?<![\w./-])((?:docs|examples|benchmarks|tests|src)/[\w./-]*\w\.(?:md|py|yaml|csv))")
    for path in _text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        found = outside.search(text)
        assert found is None, f"{path.relative_to(ROOT)}: {found.group(0)!r}"
        for ref in mentioned.findall(text):
            assert (ROOT / ref).exists(), f"{path.relative_to(ROOT)} points at missing {ref}"
