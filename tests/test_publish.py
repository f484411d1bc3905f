"""A real run's outputs stored in the notebooks readers open; the test suite still runs them at smoke."""
from __future__ import annotations

import json

import nbformat
import pytest

from colorkit import cli, runner
from colorkit.notebook import PROFILE_ENV, start_notebook
from colorkit.profiles import get_profile
from colorkit.publish import publish

PARAMS = '# parameters\nprofile = "cpu"\ndata = "auto"\nseed = 0\nrun_dir = None\n'
BODY = ('import colorkit as ck\nnb = ck.start_notebook("00_tiny", globals())\n'
        'print("profile", nb.profile.name, "data", data)\n_ = nb.save_results({"table": [{"model": "x", "rmse_ab": 1.0}]})\n')


def make_notebook(folder, body=BODY, name="00_tiny.ipynb"):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# tiny"), params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder.mkdir(exist_ok=True)
    nbformat.write(nb, folder / name)
    return folder / name


def _printed(cell) -> str:
    return "".join("".join(o.get("text", "")) for o in cell["outputs"])


def test_profile_env_replaces_a_named_profile_only(monkeypatch):
    monkeypatch.setenv(PROFILE_ENV, "smoke")
    space = {"profile": "cpu", "run_dir": None}
    assert start_notebook("x", space).profile.name == "smoke" and space["profile"] == "smoke"
    custom = get_profile("smoke", n_train=7)
    assert start_notebook("x", {"profile": custom}).profile.n_train == 7  # a Profile object is the caller's choice
    with pytest.raises(ValueError, match="valid profiles"):
        start_notebook("x", {"profile": "gpu"})  # a wrong name is still an error
    monkeypatch.setenv(PROFILE_ENV, "huge")
    with pytest.raises(ValueError, match="unknown profile 'huge'"):
        start_notebook("x", {"profile": "cpu"})


def test_run_then_publish_keeps_prose_and_drops_machine_details(tmp_path, monkeypatch):
    monkeypatch.setenv(PROFILE_ENV, "cpu")  # the runner's own --profile must win over a user's setting
    (tmp_path / "pyproject.toml").write_text("")  # a checkout: the run folder is printed relative to it
    stored = make_notebook(tmp_path / "notebooks")
    photos = tmp_path / "photos"
    photos.mkdir()
    monkeypatch.chdir(tmp_path)
    runner.run_notebooks("smoke", run_dir=tmp_path / "runs" / "r", folder=stored.parent, data="photos")
    executed = json.loads((tmp_path / "runs" / "r" / "executed" / stored.name).read_text())
    assert f"profile smoke data {photos}" in _printed(executed["cells"][-1])  # relative data made absolute: the kernel runs elsewhere

    nb = nbformat.read(stored, as_version=4)
    nb.cells[0].source = "# tiny, prose edited after the run"
    nbformat.write(nb, stored)
    # The executed copy printed the absolute data path: publishing refuses it, naming the cell, and writes nothing.
    with pytest.raises(ValueError, match=r"code cell 2 prints a machine path \(/tmp/"):
        publish(tmp_path / "runs" / "r", stored.parent)
    assert nbformat.read(stored, as_version=4).cells[2].outputs == []

    body = BODY.replace('"data", data', '"data", data.rsplit("/", 1)[-1]')
    make_notebook(tmp_path / "notebooks", body)
    runner.run_notebooks("smoke", run_dir=tmp_path / "runs" / "r", folder=stored.parent, data="photos")
    nb = nbformat.read(stored, as_version=4)
    nb.cells[0].source = "# tiny, prose edited after the run"
    nbformat.write(nb, stored)
    facts = publish(tmp_path / "runs" / "r", stored.parent)
    assert facts["00_tiny"]["profile"] == "smoke" and facts["00_tiny"]["seconds"] > 0
    out = json.loads(stored.read_text())
    assert "".join(out["cells"][0]["source"]) == "# tiny, prose edited after the run"
    assert len(out["cells"]) == 3  # papermill's injected cell is not stored
    assert "profile smoke data photos" in _printed(out["cells"][2])
    assert "papermill" not in json.dumps(out) and str(tmp_path) not in json.dumps(out)


def test_publish_refuses_a_cell_changed_since_the_run(tmp_path, capsys):
    stored = make_notebook(tmp_path / "notebooks")
    runner.run_notebooks("smoke", run_dir=tmp_path / "run", folder=stored.parent)
    nb = nbformat.read(stored, as_version=4)
    nb.cells[2].source += "print('new')\n"
    nbformat.write(nb, stored)
    with pytest.raises(ValueError, match=r"00_tiny.ipynb: code cell 2 .* is not the one .* ran"):
        publish(tmp_path / "run", stored.parent)
    assert cli.main(["publish", str(tmp_path / "nothing")]) == 2
    assert "holds no executed notebooks" in capsys.readouterr().err


def test_a_progress_bar_is_stored_in_its_final_state():
    from colorkit.publish import _final_progress

    def model(name, **state):
        return {"model_name": name, "state": state}
    widgets = {"box": model("HBoxModel", children=["IPY_MODEL_l", "IPY_MODEL_b", "IPY_MODEL_r"]),
               "l": model("HTMLModel", value="epoch\u20071/4:\u2007100%"), "b": model("FloatProgressModel", value=40.0,
                                                                                   max=40.0),
               "r": model("HTMLModel", value="\u200740/40\u2007[00:14&lt;00:00,\u20073.27it/s]")}
    out = {"output_type": "display_data", "metadata": {},
           "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "box"}, "text/plain": "epoch 1/4: 0%"}}
    assert _final_progress(out, widgets)["data"]["text/plain"] == "epoch 1/4: 100%|██████████| 40/40 [00:14<00:00, 3.27it/s]"
    other = {"output_type": "display_data", "data": {"text/plain": "x"}}
    assert _final_progress(other, widgets) is other
