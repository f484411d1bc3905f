"""Store a real run's outputs in the notebooks a reader opens: `colorkit publish RUN_DIR`.

`colorkit run --profile cpu` writes executed copies to RUN_DIR/executed/. Publishing copies each code cell's outputs
from there into notebooks/, matched by cell id, and keeps everything else of the stored notebook (its prose, its
parameters cell, its tags): a cell whose code changed since the run is refused, since its outputs would not be its
own. The cell papermill injected (with the run's absolute paths) and papermill's timing metadata are left out; the
run's profile and each notebook's wall time are kept in the notebook's metadata under "colorkit".
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from ._files import atomic_write
from .runner import NOTEBOOK_PATTERN, notebooks_dir

INJECTED_TAG = "injected-parameters"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
VIEW = "application/vnd.jupyter.widget-view+json"
UNSAVED_MODELS = ("CanvasModel", "MultiCanvasModel")  # ipycanvas: drawings are messages, not saved state
# Absolute paths that would tell a reader about this machine (a home, a temporary folder, the checkout).
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:home|tmp|work|root|Users|private|var/folders|mnt|opt|data|scratch|Volumes|"
                          r"media|srv)/[\w.+-]+|\b[A-Za-z]:\\{1,2}(?:Users|Documents and Settings)\\")


def _text(outputs: list[dict[str, Any]]) -> str:
    """All text an output list shows (streams, plain text, HTML, errors), images left out."""
    parts = []
    for out in outputs:
        parts.append("".join(out.get("text", "")))
        for mime, value in out.get("data", {}).items():
            if mime.startswith("text/") or mime.endswith("json"):
                parts.append(value if isinstance(value, str) else json.dumps(value))
        parts += out.get("traceback", [])
    return "\n".join(parts)


def _final_progress(output: dict[str, Any], widgets: dict[str, Any]) -> dict[str, Any]:
    """A tqdm progress bar's output as plain text in the bar's final state (read from the saved widget state), its
    widget view dropped: a stored bar needs no widget state (some 10 kB each), and the text would otherwise be the
    bar's first state, "0%". `colorkit run` makes the kit's bars text already; this catches any other bar."""
    data = output.get("data", {})
    view = data.get(VIEW, {})
    box = widgets.get(view.get("model_id"), {})
    children = [widgets.get(c.replace("IPY_MODEL_", ""), {}) for c in box.get("state", {}).get("children", [])]
    names = [c.get("model_name") for c in children]
    if names != ["HTMLModel", "FloatProgressModel", "HTMLModel"]:
        return output
    left, bar, right = (c.get("state", {}) for c in children)
    done = int(10 * bar.get("value", 0) / bar["max"]) if bar.get("max") else 0
    text = html.unescape(f"{left.get('value', '')}|{'█' * done}{' ' * (10 - done)}|{right.get('value', '')}")
    rest = {k: v for k, v in data.items() if k != VIEW}
    return {**output, "data": {**rest, "text/plain": text.replace("\u2007", " ")}}


def _reachable(outputs: list[dict[str, Any]], widgets: dict[str, Any]) -> dict[str, Any]:
    """The saved widget models that the outputs' widget views use, with every model those refer to."""
    todo = [o.get("data", {}).get(VIEW, {}).get("model_id") for o in outputs]
    keep: dict[str, Any] = {}
    while todo:
        key = todo.pop()
        if key in widgets and key not in keep:
            keep[key] = widgets[key]
            todo += re.findall(r"IPY_MODEL_([0-9a-f]+)", json.dumps(widgets[key]))
    return keep


def _without_unsaved_view(output: dict[str, Any], widgets: dict[str, Any]) -> dict[str, Any]:
    """An output whose widgets include a canvas (ipycanvas saves no pixels) without its widget view, so that a
    reader's JupyterLab shows the still picture stored beside it instead of blank canvases."""
    data = output.get("data", {})
    if VIEW not in data or not any(m.get("model_name") in UNSAVED_MODELS for m in _reachable([output], widgets).values()):
        return output
    return {**output, "data": {k: v for k, v in data.items() if k != VIEW}}


def published(executed: Path, stored: Path) -> dict[str, Any]:
    """The stored notebook with the executed copy's outputs (not written); ValueError when they do not belong."""
    run = json.loads(executed.read_text())
    nb = json.loads(stored.read_text())
    meta = run.get("metadata", {}).get("papermill", {})
    if meta.get("exception"):
        raise ValueError(f"{executed}: the run of this notebook raised; publish only a run that completed")
    widgets = run.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    by_id = {c.get("id"): c for c in run["cells"] if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])}
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        done = by_id.get(cell.get("id"))
        if done is None or "".join(done["source"]) != "".join(cell["source"]):
            raise ValueError(f"{stored.name}: code cell {index} (id {cell.get('id')}) is not the one {executed} ran; "
                             "run the notebook again before publishing")
        found = MACHINE_PATH.search(_text(done.get("outputs", [])))
        if found:
            raise ValueError(f"{executed}: code cell {index} prints a machine path "
                             f"({found.group(0)}...); print it relative to the checkout")
        cell["outputs"] = [_without_unsaved_view(_final_progress(o, widgets), widgets) for o in done.get("outputs", [])]
        cell["execution_count"] = done.get("execution_count")
        cell["metadata"].pop("execution", None)
    state = _reachable([o for c in nb["cells"] for o in c.get("outputs", [])], widgets)
    found = MACHINE_PATH.search(json.dumps(state))
    if found:
        raise ValueError(f"{executed}: a widget's saved state holds a machine path ({found.group(0)}...)")
    nb["metadata"].pop("widgets", None)  # the state of the widgets these outputs show, and nothing else
    if state:
        nb["metadata"]["widgets"] = {WIDGET_STATE: {"state": state, "version_major": 2, "version_minor": 0}}
    facts = {"profile": meta.get("parameters", {}).get("profile"), "seconds": round(meta.get("duration") or 0, 1)}
    nb["metadata"]["colorkit"] = facts
    return nb


def publish(run_dir: str | Path, folder: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """Publish every executed notebook of a run into `folder` (default: the checkout's notebooks/)."""
    executed_dir = Path(run_dir) / "executed"
    folder = Path(folder) if folder else notebooks_dir()
    copies = sorted(p for p in executed_dir.glob("*.ipynb") if NOTEBOOK_PATTERN.match(p.name)) \
        if executed_dir.is_dir() else []
    if not copies:
        raise FileNotFoundError(f"{executed_dir} holds no executed notebooks; run `colorkit run` first")
    missing = [p.name for p in copies if not (folder / p.name).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder} has no {', '.join(missing)} to publish into")
    notebooks = {p.name: published(p, folder / p.name) for p in copies}  # every one checked before any is written
    for name, nb in notebooks.items():
        atomic_write(folder / name, json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return {Path(name).stem: nb["metadata"]["colorkit"] for name, nb in notebooks.items()}
