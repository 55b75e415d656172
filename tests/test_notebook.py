"""The walkthrough notebook runs top to bottom on a tiny trained run, so it never rots; it finds the latest run from
the directory it is opened in (``notebooks/`` of a checkout whose ``runs/`` holds the run)."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "walkthrough.ipynb"


def test_walkthrough_notebook_finds_the_latest_run_from_notebooks_and_executes(trained_run, monkeypatch):
    checkout = trained_run.parent.parent  # <checkout>/runs/<run>
    notebooks = checkout / "notebooks"
    notebooks.mkdir(exist_ok=True)
    monkeypatch.delenv("GENIE_RUN_DIR", raising=False)
    monkeypatch.delenv("GENIE_LOG_DIR", raising=False)
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend: pictures as outputs
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    run_in = {"metadata": {"path": str(notebooks)}}  # the kernel's working directory
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources=run_in).execute()
    outputs = "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))
    assert outputs.startswith(str(trained_run))
    assert "dream speed" in outputs
    assert sum(o.get("output_type") == "display_data" for c in notebook.cells for o in c.get("outputs", [])) >= 3
