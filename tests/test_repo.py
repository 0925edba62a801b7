"""Conventions that keep the pipeline honest: stripped notebooks, full DVC deps, valid params."""

import ast
import json
from pathlib import Path

import pytest
import yaml
from saerepro.config import TIERS, read_params_file
from saerepro.paths import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
PIPELINE = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]


def code_cells(notebook: Path) -> list[dict]:
    return [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]


def saerepro_imports(source: str) -> set[str]:
    """Modules ``saerepro.x`` named by import statements in ``source``."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("saerepro"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("saerepro"))
    return found


def module_file(module: str) -> Path | None:
    base = REPO_ROOT / "lib" / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def library_files_behind(source: str) -> set[str]:
    """Every library file ``source`` imports, directly or through other library modules."""
    todo, files = list(saerepro_imports(source)), set()
    while todo:
        path = module_file(todo.pop())
        if path is None or path.name == "__init__.py" or str(path) in files:
            continue
        files.add(str(path))
        todo.extend(saerepro_imports(path.read_text()))
    return {str(Path(f).relative_to(REPO_ROOT)) for f in files}


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_outputs_are_stripped(notebook):
    assert not any(c.get("outputs") or c.get("execution_count") for c in code_cells(notebook))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_a_smoke_default_parameters_cell(notebook):
    tagged = [c for c in code_cells(notebook) if "parameters" in c["metadata"].get("tags", [])]
    assert len(tagged) == 1
    assert 'tier = "smoke"' in "".join(tagged[0]["source"])


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_dvc_stage_depends_on_every_library_module_the_notebook_uses(notebook):
    stage = next(s for s in PIPELINE.values() if notebook.name in s["cmd"])
    source = "\n".join("".join(c["source"]) for c in code_cells(notebook))
    missing = library_files_behind(source) - set(stage["deps"])
    assert not missing, f"add to the stage's deps in dvc.yaml: {sorted(missing)}"


def test_stage_params_exist_at_every_tier():
    params = read_params_file()
    assert params["tier"] in TIERS
    for name, stage in PIPELINE.items():
        for key in stage.get("params", []):
            if "${tier}" in key:  # a templated key names one tier's value: check every tier's
                for tier in TIERS:
                    value = params
                    for part in key.replace("${tier}", tier).split("."):
                        assert part in value, f"{name} tracks {key}, missing at tier {tier}"
                        value = value[part]
                continue
            assert key in params, f"{name} tracks unknown param {key}"
            if isinstance(params[key], dict):
                assert set(TIERS) <= set(params[key]), f"{key} lacks a tier"
