"""The notebook runs top to bottom, as committed (without outputs), training its own short run."""

import nbformat
from conftest import REPO
from nbclient import NotebookClient

NOTEBOOK = REPO / "notebooks" / "infogan_mnist.ipynb"


def test_the_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


def test_the_notebook_trains_a_short_run_and_runs_top_to_bottom(tmp_path, mnist_dir, monkeypatch):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    monkeypatch.delenv("INFOGAN_RUN", raising=False)
    monkeypatch.setenv("INFOGAN_DATA_DIR", str(mnist_dir))
    monkeypatch.setenv("INFOGAN_TRAIN_UPDATES", "4")
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    figures = [o for o in outputs if o.output_type == "display_data" and "image/png" in o.data]
    assert len(figures) >= 3 + 1 + 1 + 1 + 1  # three codes, L_I, confusion, interpolation, arithmetic
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "test error, Hungarian map:" in text and "update 4" in text
    assert "4/4" in text  # the progress bar of the short run
    assert (tmp_path / "ckt" / "notebook" / "model.json").is_file()
