"""The lecture as notebooks (examples/*.ipynb): stored without outputs, run end to end on shrunk data, their claims checked.

Each notebook's first code cell is tagged ``parameters`` (papermill's convention) and holds the
lecture's sizes. The tests put small sizes in its place (:data:`SHRUNK`) and run every cell with
nbclient in an IPython kernel of this interpreter (a kernel spec written for ``sys.executable``)
that imports this checkout's netfit (``PYTHONPATH``; a last cell, added here, says which) and finds
the data as the other real-data tests do (tests/data_folder.py, passed on as ``NETFIT_DATA_DIR``).
Then they check what each notebook says against what it printed and drew, cell by cell (cells are
found by their ids). The measured times, full size and shrunk, are in docs/notebook.md.
"""
import ast
import gc
import importlib.util
import json
import os
import re
import warnings
from pathlib import Path

import pytest

from data_folder import ABSENT, SHARED_DATA, holds

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))

#: Each notebook's parameters cell as the tests run it: the notebook's own names, small values.
SHRUNK = {
    "lecture_mnist": "EPOCHS = 2\nLIMIT = 3000\nCNN_EPOCHS = 2\nSEED = 0",
    "backprop_by_hand": "N = 4\nP = 3\nM = 3\nK = 2\nGAMMA = 0.5\nSTEPS = 10\nSEED = 0",
    "zip_code": "REPEATS = 2\nTRAIN_SIZE = 320\nTEST_SIZE = 160\nEPOCHS = 3\nRECIPES = ['book', 'tuned']\nSEED = 0",
    "lecun1989": "RECIPES = ['paper', 'modern']\nPASSES = 1\nMEMBERS = 1\nTRAIN_SIZE = 1000\nTEST_SIZE = 500\nSEED = 0",
}
#: The data set each notebook reads (tests/data_folder.py's names).
DATA = {"lecture_mnist": "mnist", "zip_code": "zip", "lecun1989": "zip"}
CELL_TIMEOUT = 300      # seconds a cell may take; a shrunk cell takes a few
KERNEL = "netfit-checkout"
#: Clears outputs and every piece of metadata but the tags and the kernel's (nbclient and editors add timings, widgets).
CLEAN = ("jupyter nbconvert --clear-output --inplace --ClearMetadataPreprocessor.enabled=True "
         "--ClearMetadataPreprocessor.preserve_cell_metadata_mask=tags "
         "--ClearMetadataPreprocessor.preserve_nb_metadata_mask=kernelspec "
         "--ClearMetadataPreprocessor.preserve_nb_metadata_mask=language_info examples/{}")
NEEDED = ("nbclient", "nbformat", "ipykernel", "matplotlib")


def _read(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _assigned(source):
    """The names a cell's top-level statements assign, in order."""
    return [target.id for node in ast.parse(source).body if isinstance(node, ast.Assign)
            for target in node.targets if isinstance(target, ast.Name)]


# -- what is stored -----------------------------------------------------------------------------
def test_every_notebook_is_tested():
    assert {p.stem for p in NOTEBOOKS} == set(SHRUNK), "a notebook in examples/ without SHRUNK values here"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    dirty = [cell.get("id", str(i)) for i, cell in enumerate(_read(path)["cells"])
             if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, (f"{path.name}: outputs or execution counts are committed (cells {', '.join(dirty)}); "
                       f"clear them: jupyter nbconvert --clear-output --inplace examples/{path.name}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_metadata_is_only_the_kernel(path):
    nb = _read(path)
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3", f"{path.name}: expected kernelspec python3"
    extra = sorted(set(nb["metadata"]) - {"kernelspec", "language_info"})
    assert not extra, (f"{path.name}: notebook metadata {extra} (widget state, an editor's settings) is committed; "
                       f"keep only kernelspec and language_info: {CLEAN.format(path.name)}")
    noisy = {cell.get("id", str(i)): sorted(set(cell["metadata"]) - {"tags"})
             for i, cell in enumerate(nb["cells"]) if set(cell["metadata"]) - {"tags"}}
    assert not noisy, f"{path.name}: cell metadata other than tags is committed: {noisy}; {CLEAN.format(path.name)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_holds_the_parameters(path):
    first = next(cell for cell in _read(path)["cells"] if cell["cell_type"] == "code")
    assert "parameters" in first["metadata"].get("tags", []), \
        f"{path.name}: the first code cell must be tagged 'parameters' (the tests replace it)"
    names, shrunk = _assigned(_source(first)), _assigned(SHRUNK.get(path.stem, ""))
    assert names == shrunk, f"{path.name}: its parameters {names} and the tests' SHRUNK values {shrunk} differ"


# -- running them -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """``run(stem)``: the notebook executed with its SHRUNK parameters (each at most once per session)."""
    missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed, needed to run the notebooks (pip install -e '.[dev]')")
    import nbformat
    from ipykernel.kernelspec import write_kernel_spec
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    kernels = tmp_path_factory.mktemp("kernels")
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    write_kernel_spec(kernels / KERNEL, overrides={"display_name": "netfit (this checkout)",
                                                   "env": {"PYTHONPATH": path, "NETFIT_DATA_DIR": str(SHARED_DATA)}})
    specs = KernelSpecManager(kernel_dirs=[str(kernels)])
    done = {}

    def execute(stem):
        if stem in DATA and not holds(DATA[stem]):
            pytest.skip(f"{ABSENT} ({DATA[stem]})")
        if stem not in done:
            nb = nbformat.read(EXAMPLES / f"{stem}.ipynb", as_version=4)
            parameters = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
            parameters.source = SHRUNK[stem]
            check = nbformat.v4.new_code_cell("import netfit\nprint(netfit.__file__)")
            check.id = "checkout"
            nb.cells.append(check)
            folder = tmp_path_factory.mktemp(stem)             # the kernel's working folder
            client = NotebookClient(nb, km=AsyncKernelManager(kernel_name=KERNEL, kernel_spec_manager=specs),
                                    timeout=CELL_TIMEOUT, startup_timeout=120,
                                    resources={"metadata": {"path": str(folder)}})
            try:
                client.execute()
                done[stem] = nb
            except Exception as error:                        # CellExecutionError, a dead kernel, a timeout
                done[stem] = f"{stem}.ipynb did not run to the end: {error}"
            finally:
                client = None                                 # its sockets are garbage only without it
                collect_kernel_sockets()
        if isinstance(done[stem], str):
            pytest.fail(done[stem], pytrace=False)
        return done[stem]
    return execute


def collect_kernel_sockets():
    """Collect the ZeroMQ sockets nbclient's kernel client leaves unclosed, here rather than in a later test.

    Unclosed, they are collected whenever the garbage collector next runs, with a ResourceWarning that a
    later test recording every warning (tests/test_output_table.py) would count as its own.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def text(nb, cell_id):
    """Everything the cell printed or showed as text (stdout, its result, Markdown), joined."""
    cell = next((c for c in nb.cells if c.get("id") == cell_id), None)
    assert cell is not None, f"no cell with id {cell_id!r}"
    parts = []
    for out in cell.outputs:
        data = out.get("data", {})
        parts.append(out.get("text", "") if out.output_type == "stream" else
                     data.get("text/markdown") or data.get("text/plain", ""))
    return "".join(parts)


def pictures(nb, cell_id):
    """How many PNG pictures the cell showed."""
    cell = next(c for c in nb.cells if c.get("id") == cell_id)
    return sum(1 for out in cell.outputs if out.get("data", {}).get("image/png"))


def numbers_after(pattern, txt):
    found = [float(x) for x in re.findall(pattern + r"\s*([-+\d.eE]+)", txt)]
    assert found, f"expected {pattern!r} followed by a number in:\n{txt}"
    return found


def table_rows(markdown):
    """{first cell: [other cells]} of a Markdown table's body rows."""
    rows = {}
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and not set(cells[0]) <= set("-: "):
            rows[cells[0]] = cells[1:]
    return rows


@pytest.mark.parametrize("stem", sorted(SHRUNK))
def test_the_kernel_imports_this_checkouts_netfit(run, stem):
    where = Path(text(run(stem), "checkout").strip()).resolve()
    assert where == ROOT / "netfit" / "__init__.py", f"the kernel imported netfit from {where}, not from {ROOT}"


# -- lecture_mnist.ipynb -------------------------------------------------------------------------
def test_lecture_mnist_counts_the_lectures_weights(run):
    nb = run("lecture_mnist")
    summary = text(nb, "summary")
    assert "100,480" in summary and "1,290" in summary and "Total params: 101,770" in summary
    assert "Total params: 34,826" in text(nb, "cnn-summary")


def test_lecture_mnist_trains_with_validation_and_tests(run):
    nb = run("lecture_mnist")
    fit = text(nb, "fit")
    assert "Epoch 2/2" in fit and "val_accuracy" in fit
    assert "3,000 training and 3,000 test images" in text(nb, "data")
    accuracy = numbers_after(r"Test accuracy:", text(nb, "evaluate"))[0]
    assert accuracy > 75                                   # 86.1 % measured with 3,000 images, 2 epochs
    counted = re.search(r"([\d,]+) of 3,000 test images are misclassified", text(nb, "mistakes"))
    assert counted and int(counted.group(1).replace(",", "")) == round(3000 * (1 - accuracy / 100)), \
        "the mistakes counted disagree with the test accuracy"


def test_lecture_mnist_predicted_class_is_the_argmax(run):
    nb = run("lecture_mnist")
    assert "predict_classes is the argmax: True" in text(nb, "predict")


def test_lecture_mnist_draws_its_figures(run):
    nb = run("lecture_mnist")
    for cell in ("history", "grid", "confusion", "mistakes-grid", "cnn-fixed"):
        assert pictures(nb, cell) == 1, f"cell {cell} showed {pictures(nb, cell)} pictures, not 1"


def test_lecture_mnist_cnn_is_trained_and_compared(run):
    nb = run("lecture_mnist")
    assert "Epoch 2/2" in text(nb, "cnn-fit")
    assert pictures(nb, "cnn-fit") == 1                   # LivePlot: one picture, redrawn in place
    line = text(nb, "cnn-evaluate")
    mlp, cnn = map(float, re.search(r"MLP ([\d.]+)%.* CNN ([\d.]+)%", line).groups())
    assert mlp == numbers_after(r"Test accuracy:", text(nb, "evaluate"))[0]
    assert cnn > 60                                        # 79.7 % measured with 3,000 images, 2 epochs
    assert "of the MLP's mistakes right" in line


# -- backprop_by_hand.ipynb ----------------------------------------------------------------------
def test_backprop_by_hand_equals_netfits_backward(run):
    differences = numbers_after(r"max \|difference\| =", text(run("backprop_by_hand"), "compare"))
    assert len(differences) == 9                           # z, f, R, δ, s and the four gradients
    assert max(differences) < 1e-12


def test_backprop_by_hand_equals_finite_differences(run):
    nb = run("backprop_by_hand")
    finite = numbers_after(r"max \|difference\| =", text(nb, "finite"))
    assert len(finite) == 4 and max(finite) < 1e-7        # O(ε²) + rounding/ε with ε = 1e-6
    relative = numbers_after(r"relative error", text(nb, "gradcheck"))
    assert len(relative) == 4 and max(relative) < 1e-6


def test_backprop_by_hand_gradient_descent_is_netfits_fit(run):
    nb = run("backprop_by_hand")
    descent = text(nb, "descent")
    assert "after 10 steps" in descent
    weights, loss = numbers_after(r"max \|difference\| =", descent)
    assert weights < 1e-12 and loss < 1e-12
    before, after = numbers_after(r"R before:", descent)[0], numbers_after(r"steps:", descent)[-1]
    assert after < before and "every step lowered R: True" in descent
    assert pictures(nb, "descent-plot") == 1 and pictures(nb, "network") == 1


# -- zip_code.ipynb ------------------------------------------------------------------------------
#: ESL Table 11.1: links, weights and test accuracy of Net-1 … Net-5.
ESL = {"Net-1": ("2,570", "2,570", "80.0%"), "Net-2": ("3,214", "3,214", "87.0%"),
       "Net-3": ("1,226", "1,226", "88.5%"), "Net-4": ("2,266", "1,132", "94.0%"),
       "Net-5": ("5,194", "1,060", "98.4%")}


def test_zip_code_nets_have_the_books_links_and_weights(run):
    nb = run("zip_code")
    rows = table_rows(text(nb, "nets"))
    for net, (links, weights, _) in ESL.items():
        assert rows[net] == [links, weights, links, weights], f"{net}: {rows[net]}"
    summary = text(nb, "summary")
    assert "Total params: 1,060" in summary and "Total links: 5,194" in summary
    assert pictures(nb, "data") == 1


def test_zip_code_weight_sharing_is_a_tied_locally_connected_layer(run):
    sharing = text(run("zip_code"), "sharing")
    assert "LocallyConnected2D: 640 links, 640 weights" in sharing and "Conv2D:             640 links, 73 weights" in sharing
    forward, gradient = numbers_after(r"max \|difference\| =", sharing)
    assert forward < 1e-12 and gradient < 1e-12


def test_zip_code_table_puts_the_books_figures_beside_ours(run):
    nb = run("zip_code")
    assert text(nb, "train").count("2 draws × 5 nets") == 2
    rows = table_rows(text(nb, "table"))
    for net, (links, weights, book) in ESL.items():
        assert rows[net][:2] == [weights, links] and rows[net][-1] == book, f"{net}: {rows[net]}"
        for cell in rows[net][2:4]:                        # book's and tuned recipe: "84.4% (2.4)"
            assert 0 <= float(cell.split("%")[0]) <= 100
    logistic = rows["LogisticRegression"]
    assert float(logistic[2].split("%")[0]) > 70          # 81.9 % measured on these 2 draws
    assert pictures(nb, "picture") == 1


def test_zip_code_paired_steps_beside_the_books(run):
    rows = table_rows(text(run("zip_code"), "paired"))
    for step, book in (("Net-2 − Net-1", "+7.0"), ("Net-3 − Net-2", "+1.5"), ("Net-4 − Net-3", "+5.5"),
                       ("Net-5 − Net-4", "+4.4")):
        assert rows[step][-1] == book and len(rows[step]) == 3, f"{step}: {rows.get(step)}"


# -- lecun1989.ipynb -----------------------------------------------------------------------------
def test_lecun1989_net_has_the_papers_parameters_and_connections(run):
    summary = text(run("lecun1989"), "summary")
    assert "Total params: 9,760" in summary and "Total links: 64,660" in summary


def test_lecun1989_trains_both_recipes_beside_the_paper(run):
    nb = run("lecun1989")
    train = text(nb, "train")
    assert "lecun1989 (paper)" in train and "lecun1989 (modern)" in train and train.count("pass  1/1:") == 2
    rows = table_rows(text(nb, "table"))
    assert rows["the paper (1989)"] == ["9,760", "1", "23", "0.14% (10)", "5.0% (102)"]
    for recipe, weights in (("paper", "9,760"), ("modern", "136,930")):
        row = rows[f"netfit, {recipe} recipe"]
        assert row[:3] == [weights, "1", "1"], row
        assert float(row[4].split("%")[0]) < 40            # 24.6 and 23.6 % measured after one pass on 1,000 digits
    misses = int(rows["netfit, paper recipe"][4].split("(")[1].rstrip(")"))
    assert f"paper recipe: {misses} of 500 test digits misread" in text(nb, "misses")
    assert pictures(nb, "curve") == 1 and pictures(nb, "misses") == 1
