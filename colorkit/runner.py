"""Execute the numbered notebooks headlessly with papermill and collect their results into one table."""
from __future__ import annotations

import json
import math
import os
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest.mock import patch

from .notebook import PROFILE_ENV, PROGRESS_ENV, RESULTS_DIR, repo_root
from .profiles import get_profile

NOTEBOOK_PATTERN = re.compile(r"^(\d\d)_[\w-]+\.ipynb$")
COMMON_PARAMETERS = ("profile", "data", "seed", "run_dir")
# The bound on one cell, per profile: far above any cell's need (smoke: seconds; cpu: minutes on 2 cores; full: at most
# 10 minutes a notebook). A cell that reaches it fails the run (NotebookFailed), whether the kernel was busy or idle:
# nbclient can miss a cell's reply and then sits idle until the bound and goes on as if nothing happened (nbclient
# issue #312; the kit's widgets no longer trigger it: notebook.figure_widget), so a cell that ran that long is an error.
CELL_TIMEOUT_S = {"smoke": 600, "cpu": 1800, "full": 1800}
DEFAULT_CELL_TIMEOUT_S = 1800  # profiles not listed above
TABLE_COLUMNS = ("notebook", "model", "rmse_ab", "rmse_rgb", "psnr", "ssim", "auc", "colorfulness", "top1")
# The run's final table adds the judge's other columns (notebook 06) and the Turing test's (notebook 07).
FINAL_COLUMNS = (*TABLE_COLUMNS, "top1_imagenet", "confidence", "frechet", "fooling_rate")
JUDGE_KEY = "judge_rows"  # results JSON key of a judge's rows {name, top1, ...} (notebook 06)


class NotebookFailed(RuntimeError):
    """A notebook raised while the runner executed it; the message names the cell, the error and the copy."""


def notebooks_dir() -> Path:
    """The checkout's notebooks/ folder."""
    root = repo_root() or repo_root(Path(__file__).parent)
    if root is None:
        raise FileNotFoundError("cannot find the colorkit notebooks/ folder; run from inside a colorkit checkout")
    return root / "notebooks"


def list_notebooks(folder: str | Path | None = None) -> list[Path]:
    """The numbered notebooks (NN_name.ipynb) in order; new notebooks join by being added to the folder."""
    folder = Path(folder) if folder else notebooks_dir()
    return sorted(p for p in folder.iterdir() if NOTEBOOK_PATTERN.match(p.name))


def select_notebooks(selection: list[str] | None, folder: str | Path | None = None) -> list[Path]:
    """Pick notebooks by number or name prefix ("03", "03_classification"); None: all; unknown ones list the valid."""
    available = list_notebooks(folder)
    if selection is None:
        return available
    if isinstance(selection, str) or not selection:
        raise ValueError(f"notebooks: expected a list of numbers or names (None for all), got {selection!r}; "
                         f"valid: {', '.join(p.stem for p in available)}")
    chosen = []
    for key in selection:
        hits = [p for p in available if p.stem == key or p.stem.split("_")[0] == key]
        if not hits:
            raise ValueError(f"unknown notebook {key!r}; valid: {', '.join(p.stem for p in available)}")
        chosen += hits
    return chosen


def notebook_parameters(path: Path) -> dict[str, Any]:
    """The parameters a notebook declares in its cell tagged `parameters`."""
    import papermill

    return papermill.inspect_notebook(str(path))


def check_parameters(path: Path, parameters: dict[str, Any]) -> dict[str, Any]:
    """Keep the common parameters the notebook declares; reject any other unknown one, listing the valid."""
    declared = notebook_parameters(path)
    unknown = sorted(k for k in parameters if k not in declared and k not in COMMON_PARAMETERS)
    if unknown:
        raise ValueError(f"{path.name}: unknown parameter(s) {', '.join(unknown)}; "
                         f"valid parameters: {', '.join(declared)}")
    return {k: v for k, v in parameters.items() if k in declared}


def cell_bound(profile: str, cell_timeout: float | None = None) -> float:
    """Seconds one cell may run: cell_timeout if given, else the profile's CELL_TIMEOUT_S."""
    if cell_timeout is None:
        return float(CELL_TIMEOUT_S.get(profile, DEFAULT_CELL_TIMEOUT_S))
    if isinstance(cell_timeout, bool) or not isinstance(cell_timeout, (int, float)) or not cell_timeout > 0:
        raise ValueError(f"cell_timeout must be a number of seconds > 0, got {cell_timeout!r}")
    return float(cell_timeout)


def slow_cells(nb: Any, bound: float) -> list[tuple[int | None, float]]:
    """(execution count, seconds) of an executed notebook's cells that ran for the whole bound (papermill timings)."""
    slow = []
    for cell in getattr(nb, "cells", []):
        seconds = (cell.get("metadata", {}).get("papermill") or {}).get("duration")
        if cell.get("cell_type") == "code" and seconds is not None and seconds >= 0.99 * bound:
            slow.append((cell.get("execution_count"), float(seconds)))
    return slow


def execute_one(path: Path, executed: Path, params: dict[str, Any], bound: float, run_dir: Path) -> None:
    """Execute a notebook with papermill into `executed`; any failure (a cell at the bound too) is NotebookFailed."""
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    go_on = (f"Notebooks before it finished and their results are in {run_dir / RESULTS_DIR}; run the same command "
             f"with --run-dir {run_dir} to go on: models already trained are loaded from its checkpoints.")
    try:
        nb = papermill.execute_notebook(str(path), str(executed), parameters=params, cwd=str(path.parent),
                                        progress_bar=False, kernel_name="python3", execution_timeout=max(1, round(bound)))
    except papermill.PapermillExecutionError as exc:
        raise NotebookFailed(f"{path.stem} failed in cell [{exc.exec_count}] with {exc.ename}: {exc.evalue}\n"
                             f"The executed copy, traceback included, is {executed}. {go_on}") from exc
    except CellTimeoutError as exc:
        preview = " ".join(str(exc).split("-------------------")[1:2]).strip().splitlines()[:1]
        raise NotebookFailed(f"{path.stem}: a cell ({' '.join(preview) or 'see the executed copy'}) was still "
                             f"running after the per-cell bound of {bound:.0f} s; the executed copy is {executed}. "
                             f"{go_on}") from exc
    except DeadKernelError as exc:
        raise NotebookFailed(f"{path.stem}: the kernel died ({exc}), out of memory perhaps; the executed copy is "
                             f"{executed}. {go_on}") from exc
    for count, seconds in slow_cells(nb, bound):
        raise NotebookFailed(f"{path.stem}: cell [{count}] took {seconds:.0f} s, the per-cell bound ({bound:.0f} s): "
                             f"it stalled (the kernel idle while the runner waited) or needs more time; the executed "
                             f"copy is {executed}. {go_on}")


def run_notebooks(profile: str = "cpu", notebooks: list[str] | None = None, run_dir: str | Path | None = None,
                  data: str = "auto", seed: int = 0, parameters: dict[str, Any] | None = None,
                  folder: str | Path | None = None, cell_timeout: float | None = None) -> list[dict[str, Any]]:
    """Run the selected notebooks in order at a profile; write executed copies and results to run_dir.

    A cell that runs for cell_timeout seconds (default: the profile's CELL_TIMEOUT_S) fails the run.
    """
    get_profile(profile)  # fail at once on an unknown profile
    bound = cell_bound(profile, cell_timeout)
    if data not in ("auto", "embedded", "cifar10"):
        if not Path(data).expanduser().exists():
            raise FileNotFoundError(f"data (--data) {str(data)!r} does not exist; expected 'auto', 'embedded', "
                                    "'cifar10' or the path of a CIFAR-10 folder / .tar.gz or a folder of photos")
        data = str(Path(data).expanduser().resolve())  # notebooks run in notebooks/: a relative path would miss
    paths = select_notebooks(notebooks, folder)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = Path(run_dir or (paths[0].parent.parent / "runs" / f"{stamp}-{profile}")).resolve()
    try:
        (run_dir / "executed").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"run_dir (--run-dir) {run_dir} cannot be created: {exc.strerror or exc}") from exc
    base = {"profile": profile, "data": data, "seed": seed, "run_dir": str(run_dir), **(parameters or {})}
    plans = [(p, check_parameters(p, base)) for p in paths]  # validate everything before running anything
    print(f"colorkit: running {len(plans)} notebook(s) at profile '{profile}' into {run_dir}", flush=True)
    # Kernels inherit these: a user's COLORKIT_PROFILE can't differ; progress bars are text lines at most every 30 s
    # (tqdm reads TQDM_MININTERVAL), never ipywidgets bars whose saved state would swell the executed notebooks.
    quiet_bars = {PROGRESS_ENV: "text", "TQDM_MININTERVAL": "30"}
    with patch.dict(os.environ, {PROFILE_ENV: profile, **quiet_bars}):
        for i, (path, params) in enumerate(plans, 1):
            print(f"[{i}/{len(plans)}] {path.stem} ...", flush=True)
            start = time.time()
            executed = run_dir / "executed" / path.name
            execute_one(path, executed, params, bound, run_dir)
            print(f"[{i}/{len(plans)}] {path.stem} done in {time.time() - start:.1f} s", flush=True)
    rows = collect_results(run_dir)
    table = format_table(rows)
    (run_dir / "results.md").write_text(table + "\n")
    _, final = write_final_table(run_dir)  # the same rows with the judge's columns where names match
    print(final)
    return rows


def collect_results(run_dir: str | Path) -> list[dict[str, Any]]:
    """Rows of every notebook's results JSON in a run folder (each notebook lists rows under 'table')."""
    rows = []
    for path in sorted((Path(run_dir) / RESULTS_DIR).glob("*.json")):
        result = json.loads(path.read_text())
        for row in result.get("table", []):
            rows.append({"notebook": result["notebook"], **row})
    return rows


def slug(name: str) -> str:
    """A model name as its checkpoint stem: the rule of NotebookRun.checkpoint_path ("CNN (tanh)" -> "cnn_tanh")."""
    return re.sub(r"[^\w.-]+", "_", str(name)).strip("_").lower()


def final_table(run_dir: str | Path) -> list[dict[str, Any]]:
    """Every results JSON's table rows, with a judge's columns added where slug(model) equals slug(judged name).

    Judged rows that match no table row (grayscale, ground truth, other decodings) follow their notebook's rows.
    """
    results = [json.loads(p.read_text()) for p in sorted((Path(run_dir) / RESULTS_DIR).glob("*.json"))]
    judged = {slug(j["name"]): j for r in results for j in r.get(JUDGE_KEY, [])}
    used = {slug(row.get("model", "")) for r in results for row in r.get("table", [])} & set(judged)
    rows = []
    for result in results:
        for row in result.get("table", []):
            match = judged.get(slug(row.get("model", "")))
            extra = {k: v for k, v in (match or {}).items() if k != "name" and k not in row}
            rows.append({"notebook": result["notebook"], **row, **extra})
        rows += [{"notebook": result["notebook"], "model": j["name"], **{k: v for k, v in j.items() if k != "name"}}
                 for j in result.get(JUDGE_KEY, []) if slug(j["name"]) not in used]
    return rows


def write_final_table(run_dir: str | Path) -> tuple[list[dict[str, Any]], str]:
    """Write run_dir/final_table.md and final_table.json (columns and rows); return the rows and the markdown."""
    rows = final_table(run_dir)
    text = format_table(rows, FINAL_COLUMNS)
    (Path(run_dir) / "final_table.md").write_text(text + "\n")
    columns = [c for c in FINAL_COLUMNS if any(c in r for r in rows)]
    (Path(run_dir) / "final_table.json").write_text(json.dumps({"columns": columns, "rows": rows}, indent=2))
    return rows, text


def format_table(rows: list[dict[str, Any]], columns: tuple[str, ...] = TABLE_COLUMNS) -> str:
    """A markdown table of the rows (numbers to 3 decimals, "± h" where a row has the column's `<name>_ci95`)."""
    present = [c for c in columns if any(c in r for r in rows)]
    if not present:
        return "(no results)"

    def cell(r: dict[str, Any], c: str) -> str:
        v, half = r.get(c), r.get(f"{c}_ci95")
        if isinstance(v, float) and isinstance(half, float) and math.isfinite(half):
            return f"{v:.3f} ± {half:.3f}"  # the mean over test images and its 95 % interval's half-width
        return f"{v:.3f}" if isinstance(v, float) else ("" if v is None else str(v).replace("|", "\\|"))

    lines = ["| " + " | ".join(present) + " |", "|" + "---|" * len(present)]
    lines += ["| " + " | ".join(cell(r, c) for c in present) + " |" for r in rows]
    return "\n".join(lines)
