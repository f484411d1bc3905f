"""Every exercise solution in notebooks/solutions passes its check, and every notebook runs every check it lists."""
from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest
import torch

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
sys.path.insert(0, str(NOTEBOOKS))
from solutions import checks  # noqa: E402


def _solutions(notebook: str):
    spec = importlib.util.spec_from_file_location(f"solutions_{notebook}", NOTEBOOKS / "solutions" / f"{notebook}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("notebook,name", [(nb, name) for nb, names in checks.EXERCISES.items() for name in names])
def test_solution_passes_its_check(notebook, name, capsys):
    getattr(checks, name)(getattr(_solutions(notebook), name))  # a wrong answer raises AssertionError
    assert capsys.readouterr().out == f"{name}: correct\n"  # a right answer is told nothing about the expected one


@pytest.mark.parametrize("notebook", list(checks.EXERCISES))
def test_notebook_runs_the_checks_of_its_exercises(notebook):
    cells = json.loads((NOTEBOOKS / f"{notebook}.ipynb").read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    for name in checks.EXERCISES[notebook]:
        assert f"checks.{name}({name})" in code, f"{notebook} does not run checks.{name}({name})"
        assert f"def {name}(" in code, f"{notebook} has no exercise cell defining {name}"


def test_an_exercise_not_attempted_is_reported_not_raised(capsys):
    def todo(*args):
        raise NotImplementedError
    checks.psnr_from_rmse(todo)
    assert "psnr_from_rmse: not attempted yet" in capsys.readouterr().out


def test_a_wrong_answer_fails_with_the_expected_value():
    with pytest.raises(AssertionError, match="psnr_from_rmse"):
        checks.psnr_from_rmse(lambda rmse: 0.0)


def test_the_expected_value_is_revealed_after_a_wrong_answer_only(capsys):
    expected = "23.61"  # 20 log10(1 / 0.066): the PSNR the check expects, which its notes print
    with pytest.raises(AssertionError) as wrong:
        checks.psnr_from_rmse(lambda rmse: 0.0)
    assert expected in str(wrong.value) and "what the check expected" in str(wrong.value)
    assert expected not in capsys.readouterr().out  # nothing printed before (or beside) the error
    checks.psnr_from_rmse(lambda rmse: 20 * math.log10(1 / rmse))
    assert capsys.readouterr().out == "psnr_from_rmse: correct\n"


def test_a_check_holds_back_what_it_and_the_function_print(capsys):
    def noisy(pixels, k):
        print("debugging")
        return torch.zeros(len(pixels))
    with pytest.raises(AssertionError, match="debugging"):
        checks.nearest_weight(noisy)
    assert capsys.readouterr().out == ""
