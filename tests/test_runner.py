"""The notebook harness and the papermill runner: parameters checked, results collected, errors clear."""
from __future__ import annotations

import json

import nbformat
import pytest

from colorkit import cli, runner
from colorkit.notebook import check_parameters, declared_parameters, start_notebook
from colorkit.profiles import get_profile

PARAMS = '# parameters\nprofile = "smoke"\ndata = "auto"\nseed = 0\nrun_dir = None\nscale = 2\n'
BODY = ('import colorkit as ck\nnb = ck.start_notebook("00_tiny", globals())\n'
        'nb.save_results({"table": [{"model": "x", "rmse_ab": 1.5 * scale}]})\n')


def make_notebook(folder, name="00_tiny.ipynb"):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# tiny"), params, nbformat.v4.new_code_cell(BODY)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / name)
    return folder / name


def test_declared_parameters_reads_assignments():
    assert declared_parameters(PARAMS) == ["profile", "data", "seed", "run_dir", "scale"]


def test_injected_unknown_parameter_is_rejected_with_the_valid_list():
    history = ["", PARAMS, '# Parameters\nprofile = "cpu"\nscael = 3\n']
    with pytest.raises(ValueError, match=r"unknown notebook parameter\(s\) scael; valid parameters: profile, data"):
        check_parameters(history)
    check_parameters(["", PARAMS, '# Parameters\nscale = 3\n'])  # declared: accepted


def test_unknown_profile_lists_valid_ones():
    with pytest.raises(ValueError, match="valid profiles: smoke, cpu, full"):
        get_profile("fast")
    with pytest.raises(ValueError, match="valid profiles"):
        start_notebook("x", {"profile": "gpu"})


def test_runner_executes_and_collects(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    make_notebook(folder)
    rows = runner.run_notebooks("smoke", run_dir=tmp_path / "run", folder=folder, parameters={"scale": 4})
    assert rows == [{"notebook": "00_tiny", "model": "x", "rmse_ab": 6.0}]
    result = json.loads((tmp_path / "run" / "results" / "00_tiny.json").read_text())
    assert result["profile"] == "smoke" and (tmp_path / "run" / "executed" / "00_tiny.ipynb").is_file()
    assert "| 00_tiny | x | 6.000 |" in (tmp_path / "run" / "results.md").read_text()


def test_runner_rejects_unknown_parameter_before_running(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    make_notebook(folder)
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) bogus; valid parameters: profile, data, seed"):
        runner.run_notebooks("smoke", run_dir=tmp_path / "run", folder=folder, parameters={"bogus": 1})
    assert not (tmp_path / "run" / "results").exists()
    with pytest.raises(ValueError, match="unknown notebook '9'"):
        runner.select_notebooks(["9"], folder)


def test_cli_reports_bad_profile(capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "--profile", "huge"])
    assert "invalid choice" in capsys.readouterr().err


def test_a_failing_notebook_names_its_cell_error_and_how_to_go_on(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    make_notebook(folder)  # 00_tiny runs fine
    bad = make_notebook(folder, "01_broken.ipynb")
    nb = nbformat.read(bad, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("scale / 0"))
    nbformat.write(nb, bad)
    with pytest.raises(runner.NotebookFailed, match=r"(?s)01_broken failed in cell \[\d+\] with ZeroDivisionError: "
                                                   r"division by zero.*01_broken\.ipynb.*--run-dir .*run"):
        runner.run_notebooks("smoke", run_dir=tmp_path / "run", folder=folder)
    assert (tmp_path / "run" / "results" / "00_tiny.json").is_file()  # the one before it is kept
    assert (tmp_path / "run" / "executed" / "01_broken.ipynb").is_file()


def test_cli_lists_profiles_and_notebooks(capsys):
    assert cli.main(["profiles"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["smoke", "cpu", "full"]
    assert cli.main(["notebooks"]) == 0
    listed = capsys.readouterr().out.split()
    assert listed[0] == "00_color_and_bins" and listed == sorted(listed) and len(listed) >= 8


@pytest.mark.parametrize("text, want", [("scale=4", ("scale", 4)), ("temps=[0.1, 0.38]", ("temps", [0.1, 0.38])),
                                        ("data=embedded", ("data", "embedded")), ("a=b=c", ("a", "b=c"))])
def test_cli_parameters_are_python_literals_or_strings(text, want):
    assert cli._parse_parameter(text) == want


def test_cli_parameter_without_equals_is_refused():
    import argparse

    with pytest.raises(argparse.ArgumentTypeError, match="expected KEY=VALUE, got 'scale'"):
        cli._parse_parameter("scale")
