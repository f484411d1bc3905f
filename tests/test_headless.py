"""Headless runs never wait on a widget: the kit's interactive figures are pictures, not Output widgets (whose
front-end emulation in nbclient can stall a cell until the timeout), and a cell that reaches the runner's per-cell
bound fails the run instead of passing."""
from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")

import ipywidgets as w  # noqa: E402
import nbformat  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402

from colorkit import runner  # noqa: E402
from colorkit.explorer import colorize_explorer  # noqa: E402
from colorkit.models import build_model  # noqa: E402
from colorkit.notebook import figure_widget  # noqa: E402
from colorkit.train import TrainConfig, fit  # noqa: E402

torch.set_num_threads(1)
JPEG = b"\xff\xd8"  # the pictures are JPEG: photos at about a fifth of a PNG's size


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


def _line(k: float):
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, k])
    return fig


def test_figure_widget_redraws_a_picture_and_carries_a_plain_image():
    slider = w.FloatSlider(value=1.0)
    box = figure_widget([slider], lambda: _line(slider.value))
    assert not any(isinstance(x, w.Output) for x in _walk(box))
    picture = box.children[-1]
    assert isinstance(picture, w.Image) and picture.format == "jpeg" and picture.value[:2] == JPEG
    first = picture.value
    slider.value = -1.0
    assert picture.value != first  # redrawn on a change
    bundle = box._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and bundle["image/jpeg"].startswith("/9j/")
    png = figure_widget([], lambda: _line(1.0), fmt="png")
    assert png.children[0].value[:4] == b"\x89PNG" and "image/png" in png._repr_mimebundle_()
    with pytest.raises(ValueError, match="figure_bytes: fmt must be 'jpeg' or 'png', got 'gif'"):
        figure_widget([], lambda: _line(1.0), fmt="gif")


def _checkpoint(tmp_path):
    torch.manual_seed(0)
    images = torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8)
    from colorkit.data import ImageSet

    path = tmp_path / "run" / "checkpoints" / "tiny_classifier.pt"
    fit(build_model("compact_classifier", width=0.125), ImageSet(images, None, [], "t", "t"), None,
        TrainConfig(epochs=1, batch_size=8, checkpoint=path), device="cpu", progress=False)
    return path


def test_colorize_explorer_is_a_picture_without_paths(tmp_path):
    path = _checkpoint(tmp_path)
    photos = [torch.randint(0, 256, (3, 40, 30), dtype=torch.uint8), torch.randint(0, 256, (3, 20, 50),
                                                                                   dtype=torch.uint8)]
    box = colorize_explorer([path, path], photos, display_size=64)
    picker, slider, picture = box.children
    assert not any(isinstance(x, w.Output) for x in _walk(box))
    assert picker.options == (("tiny_classifier", 0), ("tiny_classifier", 1)) and str(tmp_path) not in repr(box)
    first = picture.value
    slider.value = 0.9
    assert picture.value[:2] == JPEG and picture.value != first


NOTEBOOK_CELLS = [
    "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\nimport ipywidgets as w\n"
    "from colorkit.notebook import figure_widget\nfrom colorkit.viz import temperature_slider",
    "s = w.FloatSlider(value=1.0)\nfigure_widget([s], lambda: plt.subplots(figsize=(1, 1))[0])",
    "temperature_slider(lambda T: plt.subplots(figsize=(1, 1))[0])",
]


def test_nbclient_never_acts_as_an_output_widget_front_end(monkeypatch):
    """The stall's trigger: nbclient's Output-widget emulation sends on the shell socket while it waits there for
    the cell's reply. The kit's widget cells must never make it send."""
    from nbclient import NotebookClient
    from nbclient.output_widget import OutputWidget

    sent = []
    monkeypatch.setattr(OutputWidget, "sync_state", lambda self: sent.append(self.comm_id))
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(src) for src in NOTEBOOK_CELLS]
    NotebookClient(book, timeout=120, kernel_name="python3").execute()
    assert sent == []
    for cell in book.cells[1:]:  # each shows the widget and, for viewers without widgets, its picture
        data = cell.outputs[0]["data"]
        assert "application/vnd.jupyter.widget-view+json" in data and data["image/jpeg"].startswith("/9j/")


def _folder_with(tmp_path, source: str):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(source)]
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(book, folder / "01_cell.ipynb")
    return folder


def test_a_busy_cell_past_the_bound_fails_the_run(tmp_path):
    folder = _folder_with(tmp_path, "import time\ntime.sleep(30)")
    start = time.time()
    with pytest.raises(runner.NotebookFailed, match=r"01_cell: a cell \(import time\) was still running after the "
                                                    r"per-cell bound of 3 s; the executed copy is .*--run-dir"):
        runner.run_notebooks("smoke", run_dir=tmp_path / "run", folder=folder, cell_timeout=3)
    assert time.time() - start < 25


def test_a_cell_that_ran_for_the_whole_bound_fails_even_without_an_error(tmp_path, monkeypatch):
    """nbclient can miss a reply, sit idle until the bound and then go on without an error: the runner reads the
    cells' durations and fails the run."""
    import papermill

    folder = _folder_with(tmp_path, "1 + 1")

    def stalled(source, target, **kwargs):
        book = nbformat.read(source, as_version=4)
        book.cells[0].execution_count = 1
        book.cells[0].metadata["papermill"] = {"duration": kwargs["execution_timeout"] + 0.01}
        return book

    monkeypatch.setattr(papermill, "execute_notebook", stalled)
    with pytest.raises(runner.NotebookFailed, match=r"01_cell: cell \[1\] took 600 s, the per-cell bound \(600 s\): "
                                                    r"it stalled"):
        runner.run_notebooks("smoke", run_dir=tmp_path / "run", folder=folder)
    monkeypatch.setattr(papermill, "execute_notebook", lambda source, target, **kw: nbformat.read(source, 4))
    assert runner.run_notebooks("smoke", run_dir=tmp_path / "run", folder=folder) == []  # quick cells pass


def test_cell_bounds_per_profile():
    assert runner.cell_bound("smoke") == 600 and runner.cell_bound("cpu") == runner.cell_bound("full") == 1800
    assert runner.cell_bound("smoke", 5) == 5.0
    for bad in (0, -1, True, "60"):
        with pytest.raises(ValueError, match="cell_timeout must be a number of seconds > 0"):
            runner.cell_bound("smoke", bad)


def test_start_notebook_prints_no_machine_path(capsys, tmp_path, monkeypatch):
    from colorkit import notebook

    checkout = tmp_path / "checkout"
    monkeypatch.setattr(notebook, "repo_root", lambda start=None: checkout)
    notebook.start_notebook("00_x", {"profile": "smoke", "run_dir": str(checkout / "runs" / "latest-smoke")})
    out = capsys.readouterr().out
    assert "run folder=runs/latest-smoke" in out and str(tmp_path) not in out  # stored outputs hold no machine path
    notebook.start_notebook("00_x", {"profile": "smoke", "run_dir": str(tmp_path / "elsewhere")})  # outside: in full
    assert f"run folder={(tmp_path / 'elsewhere').resolve()}" in capsys.readouterr().out
