"""The notebooks run headless against the CLI tests' generated customers and train run, so that they cannot rot."""

from __future__ import annotations

import os

import nbformat
import pytest
from nbclient import NotebookClient
from support import CONF, QUICK_START_JVM, ROOT

NOTEBOOKS = ROOT / "notebooks"


def _execute(name: str, parameters: str, cwd) -> nbformat.NotebookNode:
    """Run a notebook with its ``parameters`` cell replaced; nbclient raises on the first failing cell."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    (cell,) = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    cell.source = parameters
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    client.execute(env={**os.environ, **QUICK_START_JVM})
    return notebook


def _outputs(notebook: nbformat.NotebookNode) -> list[str]:
    """Per code cell, its printed text, the mime types it showed and their plain-text form."""
    return ["".join(o.get("text", "") + " ".join(o.get("data", {})) + o.get("data", {}).get("text/plain", "")
                    for o in cell.outputs)
            for cell in notebook.cells if cell.cell_type == "code"]


@pytest.mark.parametrize("name", ["01_explore_input.ipynb", "02_explore_segments.ipynb"])
def test_notebooks_are_committed_without_outputs(name):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert [c.outputs for c in notebook.cells if c.cell_type == "code"] == [[] for c in notebook.cells
                                                                           if c.cell_type == "code"]


def test_the_input_notebook_explores_a_snapshot(cli_workdir):
    notebook = _execute("01_explore_input.ipynb",
                        f'CONFIG = "{CONF}"\nSETTINGS = ["input.path=customers", "columns.label=planted_segment"]',
                        cli_workdir)
    outputs = _outputs(notebook)
    assert "2,000 rows read, 0 quarantined, 0 values outside the declared levels" in outputs[1]
    # Tables render as HTML and plots as PNG.
    assert all("text/html" in out for out in outputs[2:5]) and "image/png" in outputs[5]
    assert "image/png" in outputs[7]


def test_the_segments_notebook_explores_the_output_tables(cli_workdir, cli_run):
    notebook = _execute("02_explore_segments.ipynb",
                        f'CONFIG = "{CONF}"\nWAREHOUSE = "{cli_workdir / "warehouse"}"', cli_workdir)
    outputs = _outputs(notebook)
    assert "text/html" in outputs[2] and "text/html" in outputs[3]
    assert "2026-03-01" in outputs[2] and "train" in outputs[2] and "2000" in outputs[2]
    assert all("image/png" in out for out in (outputs[4], outputs[5], outputs[6], outputs[8]))
