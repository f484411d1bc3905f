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
    assert "application/vnd.jupyter.widget-view+json" not in _final_progress(out, widgets)["data"]  # no state kept
    other = {"output_type": "display_data", "data": {"text/plain": "x"}}
    assert _final_progress(other, widgets) is other


def _executed_copy(folder, stored, outputs, widgets=None, exception=False):
    """An executed copy of `stored` whose last cell shows `outputs` (what papermill would have written)."""
    run = json.loads(stored.read_text())
    run["cells"][-1]["outputs"] = outputs
    run["metadata"]["papermill"] = {"exception": exception, "duration": 1.0, "parameters": {"profile": "cpu"}}
    if widgets is not None:
        run["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": widgets}}
    (folder / "executed").mkdir(parents=True, exist_ok=True)
    (folder / "executed" / stored.name).write_text(json.dumps(run))


def test_publish_keeps_only_the_widgets_shown_and_checks_every_notebook_first(tmp_path):
    first, second = make_notebook(tmp_path / "nb"), make_notebook(tmp_path / "nb", name="01_two.ipynb")
    view = {"output_type": "display_data", "metadata": {},
            "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "a1"}, "text/plain": "box"}}
    widgets = {"a1": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_b2"]}},
               "b2": {"model_name": "LabelModel", "state": {"value": "x"}},
               "c3": {"model_name": "LabelModel", "state": {"value": "an old, unused widget"}}}
    _executed_copy(tmp_path / "run", first, [view], widgets)
    _executed_copy(tmp_path / "run", second, [], exception=True)  # the second notebook's run raised
    before = first.read_text()
    with pytest.raises(ValueError, match="01_two.ipynb: the run of this notebook raised"):
        publish(tmp_path / "run", tmp_path / "nb")
    assert first.read_text() == before  # nothing written, not even the notebook that was fine
    _executed_copy(tmp_path / "run", second, [{"output_type": "stream", "name": "stdout", "text": "C:\\Users\\ana\n"}])
    with pytest.raises(ValueError, match=r"code cell 2 prints a machine path \(C:\\Users"):
        publish(tmp_path / "run", tmp_path / "nb")
    _executed_copy(tmp_path / "run", second, [])
    publish(tmp_path / "run", tmp_path / "nb")
    state = json.loads(first.read_text())["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert sorted(state) == ["a1", "b2"]  # the shown box and its child; the unused label is gone
    assert "widgets" not in json.loads(second.read_text())["metadata"]
    widgets["b2"]["state"]["value"] = "/home/ana/photos"
    _executed_copy(tmp_path / "run", first, [view], widgets)
    with pytest.raises(ValueError, match=r"a widget's saved state holds a machine path \(/home/ana"):
        publish(tmp_path / "run", tmp_path / "nb")


def test_a_view_of_canvases_is_stored_as_its_still_picture(tmp_path):
    from colorkit.publish import _without_unsaved_view

    widgets = {"b0": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_cc"]}},
               "cc": {"model_name": "CanvasModel", "state": {"image_data": None}},
               "5d": {"model_name": "FloatSliderModel", "state": {"value": 0.38}}}
    view = {"application/vnd.jupyter.widget-view+json": {"model_id": "b0"}, "image/jpeg": "/9j/", "text/plain": "x"}
    out = _without_unsaved_view({"output_type": "execute_result", "data": view}, widgets)
    assert set(out["data"]) == {"image/jpeg", "text/plain"}  # the editor: readers see the still picture
    slider = {"output_type": "display_data", "data": {**view, "application/vnd.jupyter.widget-view+json":
                                                       {"model_id": "5d"}}}
    assert _without_unsaved_view(slider, widgets) is slider  # a slider's state is saved: its view is kept


def test_colorkit_run_stores_text_progress_bars_and_no_widget_state(tmp_path):
    body = ('import colorkit as ck\nfrom colorkit import loop\nnb = ck.start_notebook("00_tiny", globals())\n'
            'for _ in loop.tqdm(range(3), desc="steps"):\n    pass\n')
    stored = make_notebook(tmp_path / "notebooks", body)
    runner.run_notebooks("smoke", run_dir=tmp_path / "run", folder=stored.parent)
    executed = json.loads((tmp_path / "run" / "executed" / stored.name).read_text())
    assert "steps: 100%" in _printed(executed["cells"][-1])  # tqdm's text bar, in the cell's stream output
    assert "widgets" not in executed["metadata"] and "widget-view" not in json.dumps(executed["cells"])
