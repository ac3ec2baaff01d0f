"""What `pip install` gives: each extra has what its code imports, the LICENSE ships, PyPI's page has no broken links.

The extras: the table ``CODE`` says which extras each module with an optional import serves (a module
may need several together). For each module the test reads, with ``ast``, every third-party import in
it and one hop further: the netfit functions it imports by name, with the helpers in their own module
that they call. ``netfit.serve.session`` imports ``read_image`` from ``netfit.images``, which imports
Pillow, so ``serve`` must name ``pillow`` (issue 21: a drawn digit gave 400 without it). Every third-party
import in netfit must appear in ``CODE`` (or in ``UNLISTED`` with the reason), and every ImportError
whose message says ``pip install 'netfit[X]'`` must be fixed by X. Two runs then block, in a child
process, every optional package an extra does not name, and use the extra's feature.

The build (``setuptools`` ≥ 77, in the dev extra) makes the wheel and the sdist from a copy of the
tree and looks inside: LICENSE in both, the license expression, and a description with no relative link.
"""
import ast
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import textwrap
import zipfile
import zlib
from importlib import metadata
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:                               # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
EXTRAS = PROJECT["optional-dependencies"]
from data_folder import ABSENT, SHARED_DATA, holds  # noqa: E402

# Which extras each module with an optional import works under (their union must provide its imports).
CODE = {
    "netfit/config.py": ("threads",),
    "netfit/_kernels.py": ("fast",),
    "netfit/backend.py": ("gpu",),
    "netfit/plotting.py": ("plot",),
    "netfit/figures.py": ("plot",),
    "netfit/callbacks/curves.py": ("plot",),
    "netfit/images.py": ("plot",),
    "netfit/experiments/_plots.py": ("plot",),
    "netfit/experiments/lecun1989.py": ("plot",),
    "netfit/experiments/esl_11_6_report.py": ("plot",),
    "netfit/export.py": ("onnx",),
    "netfit/graph_plot.py": ("plot",),
    "netfit/keras_file.py": ("keras-files",),
    "netfit/files.py": ("keras-files",),        # require_h5py: ModelCheckpoint checks for h5py before training
    "netfit/lbfgs.py": ("lbfgs",),
    "netfit/sklearn.py": ("sklearn",),
    "netfit/experiments/esl_recipes.py": ("sklearn",),
    "netfit/experiments/esl_11_6.py": ("sklearn", "dask"),  # README: the reproductions take '.[sklearn,dask]'
    "netfit/sweep.py": ("dask",),
    "netfit/serve/app.py": ("serve",),
    "netfit/serve/cli.py": ("serve",),
    "netfit/serve/session.py": ("serve",),
    "netfit/notebook/__init__.py": ("notebook",),
    "netfit/notebook/widget.py": ("notebook",),       # anywidget, traitlets; Pillow for the drawn digits
}
# Imports that no extra is meant to bring (by the function that makes them), with what happens without them.
UNLISTED = {
    ("netfit.sweep.SweepResult", "pandas"): "to_pandas says it needs pandas",
    ("netfit.sweep.SweepResult", "pyarrow"): "results.parquet is written only when pyarrow is installed",
    ("netfit.ensemble.multi_start", "joblib"): "n_jobs=... says: pip install joblib, or leave n_jobs=None",
    ("netfit.experiments.esl_11_6_report.plots", "matplotlib"): "esl-sim's boxplots are skipped without it",
    ("netfit.activations._erfc64", "scipy"): "float64 GELU takes SciPy's erfcx when it is installed, else "
                                            "math.erfc per element (exact either way)",
    ("netfit.display.show", "IPython"): "called only where a running IPython kernel is found, which has loaded it",
    ("netfit.cli.cmd_export", "onnxruntime"): "export checks its file against onnxruntime only when it is installed "
                                             "(the onnx extra brings it)",
}
# Import name -> the distribution that provides it (checked against the installed ones below).
DISTRIBUTION = {"numpy": "numpy", "PIL": "pillow", "matplotlib": "matplotlib", "threadpoolctl": "threadpoolctl",
                "scipy": "scipy", "sklearn": "scikit-learn", "joblib": "joblib", "dask": "dask",
                "numba": "numba", "onnx": "onnx", "cupy": "cupy-cuda12x", "starlette": "starlette",
                "uvicorn": "uvicorn", "pandas": "pandas", "pyarrow": "pyarrow", "onnxruntime": "onnxruntime",
                "h5py": "h5py", "IPython": "ipython", "anywidget": "anywidget", "traitlets": "traitlets"}


def _name(requirement):
    """'dask[distributed]>=2024.1' -> 'dask' (PEP 503 normalised)."""
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", requirement).group()).lower()


def provided(*extras):
    """Distributions that ``pip install 'netfit[extras]'`` names: the required ones and each extra's."""
    return {_name(r) for r in PROJECT["dependencies"]} | {_name(r) for e in extras for r in EXTRAS[e]}


# -- reading imports with ast ---------------------------------------------------------------------------
def _module_path(dotted):
    base = ROOT.joinpath(*dotted.split("."))
    for path in (base / "__init__.py", base.with_suffix(".py")):
        if path.is_file():
            return path
    return None


def _absolute(node, path):
    """The module an ImportFrom in ``path`` names, relative imports resolved."""
    if node.level == 0:
        return node.module
    package = list(path.relative_to(ROOT).with_suffix("").parts)
    package = package[:len(package) - node.level]
    return ".".join(package + ([node.module] if node.module else []))


def _imports(tree, path):
    """(third-party top-level names, netfit (module, name) pairs imported by name) of every import in ``tree``."""
    third, named = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            third |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node, path)
            if module.split(".")[0] != "netfit":
                third.add(module.split(".")[0])
            else:
                named |= {(module, alias.name) for alias in node.names
                          if _module_path(f"{module}.{alias.name}") is None}        # a function or class
    third = {name for name in third if name not in sys.stdlib_module_names and name not in ("netfit", "__future__")}
    return third, named


def _tree(path):
    return ast.parse(path.read_text(encoding="utf-8"))


def _dotted(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _definitions(path):
    return {node.name: node for node in _tree(path).body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def _own(path):
    """{(third-party import, where): ...} of ``path``, where = the module or module.function that imports it."""
    tree, module = _tree(path), _dotted(path)
    found, named = set(), set()
    for node in tree.body:
        where = f"{module}.{node.name}" if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                              ast.ClassDef)) else module
        third, more = _imports(node, path)
        found |= {(top, where) for top in third}
        named |= more
    return found, named


def _reached(module, name):
    """(third-party import, where) of ``module.name`` and of the functions of its module it uses, transitively."""
    path = _module_path(module)
    defs = _definitions(path)
    found, seen, todo = set(), set(), [name]
    while todo:
        current = todo.pop()
        if current in seen or current not in defs:
            continue
        seen.add(current)
        found |= {(top, f"{module}.{current}") for top in _imports(defs[current], path)[0]}
        todo += [node.id for node in ast.walk(defs[current]) if isinstance(node, ast.Name) and node.id in defs]
    return found


def needs(file):
    """{(third-party import, where)} of ``file``: its own imports, then one hop into the netfit names it imports."""
    found, named = _own(ROOT / file)
    for module, name in sorted(named):
        found |= _reached(module, name)
    return found


def test_the_import_reader_follows_a_name_into_its_module():
    """The checker itself: `from netfit.images import read_image` reaches Pillow through images._pillow."""
    assert ("PIL", "netfit.images._pillow") in needs("netfit/serve/session.py")
    assert not any(top == "PIL" for top, _ in needs("netfit/serve/worker.py"))
    assert ("uvicorn", "netfit.serve.cli.main") in needs("netfit/serve/cli.py")
    assert ("starlette", "netfit.serve.app") in needs("netfit/serve/app.py")


@pytest.mark.parametrize("file", sorted(CODE))
def test_each_extra_names_what_its_code_imports(file):
    extras = CODE[file]
    have = provided(*extras)
    missing = sorted((top, where) for top, where in needs(file)
                     if (where, top) not in UNLISTED and DISTRIBUTION.get(top, top) not in have)
    assert not missing, (f"{file}: expected pip install 'netfit[{','.join(extras)}]' to bring what it imports, "
                         f"got no {', '.join(sorted({DISTRIBUTION.get(t, t) for t, _ in missing}))} (imported in "
                         f"{', '.join(w for _, w in missing)}). Fix: add it to the extra in pyproject.toml.")


def test_serve_and_plot_name_pillow():
    """Issue 21's cases by name: the playground reads drawn digits with Pillow, and plot draws and reads PNGs."""
    assert {"starlette", "uvicorn", "pillow"} <= provided("serve")
    assert {"matplotlib", "pillow"} <= provided("plot")


def test_every_optional_import_is_in_the_table():
    for path in sorted((ROOT / "netfit").rglob("*.py")):
        file = path.relative_to(ROOT).as_posix()
        for top, where in _own(path)[0]:
            assert top in DISTRIBUTION, f"{where} imports {top}: add its distribution to DISTRIBUTION."
            assert top == "numpy" or file in CODE or (where, top) in UNLISTED, (
                f"{where} imports {top}: expected {file} in CODE (the extras it works under) or "
                f"({where!r}, {top!r}) in UNLISTED (why no extra brings it).")


def test_the_distribution_table_agrees_with_what_is_installed():
    installed = metadata.packages_distributions()
    for top, distribution in DISTRIBUTION.items():
        if top in installed:
            assert distribution in {_name(d) for d in installed[top]} or top == "cupy", (top, installed[top])


def _install_hints():
    """(file, imported names, extras named) for each `except ImportError:` that says pip install 'netfit[X]'."""
    for path in sorted((ROOT / "netfit").rglob("*.py")):
        for node in ast.walk(_tree(path)):
            if not isinstance(node, ast.Try):
                continue
            tops = _imports(ast.Module(body=node.body, type_ignores=[]), path)[0]
            for handler in node.handlers:
                caught = ast.unparse(handler.type) if handler.type else ""
                if "ImportError" not in caught:
                    continue
                for rise in (n for n in ast.walk(handler) if isinstance(n, ast.Raise) and n.exc is not None):
                    extras = re.findall(r"netfit\[([a-z,]+)\]", ast.unparse(rise.exc))
                    if tops and extras:
                        yield path.relative_to(ROOT).as_posix(), tops, tuple(x for e in extras for x in e.split(","))


HINTS = list(_install_hints())


def test_install_hints_are_found():
    files = {file for file, _, _ in HINTS}
    assert {"netfit/images.py", "netfit/serve/cli.py", "netfit/lbfgs.py", "netfit/figures.py"} <= files


@pytest.mark.parametrize("file,tops,extras", HINTS, ids=lambda v: v if isinstance(v, str) else None)
def test_the_extra_an_error_names_fixes_it(file, tops, extras):
    have = provided(*extras)
    assert all(DISTRIBUTION.get(t, t).lower() in have for t in tops), (
        f"{file}: its error says pip install 'netfit[{','.join(extras)}]', which does not bring {sorted(tops)}.")


def test_dev_has_every_extra_but_the_gpu():
    for extra, requirements in EXTRAS.items():
        if extra not in ("dev", "gpu"):
            assert {_name(r) for r in requirements} <= provided("dev"), extra


# -- each extra's feature, with every other optional package blocked -----------------------------------
BLOCKER = """
import importlib.abc, sys
BLOCKED = set(sys.argv[1].split(","))
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked: not in the extra)", name=name)
sys.meta_path.insert(0, Block())
"""


def png(grey):
    """A greyscale PNG of a uint8 array, written with zlib alone (Pillow may be what is under test)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    height, width = grey.shape
    rows = b"".join(b"\0" + bytes(row) for row in grey.tolist())
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def run_with_only(extra, script, tmp_path, env=None):
    """Run ``script`` in a child Python in which every optional package that ``extra`` does not name is blocked."""
    have = provided(extra)
    blocked = sorted(top for top, distribution in DISTRIBUTION.items() if distribution not in have)
    done = subprocess.run([sys.executable, "-c", BLOCKER + textwrap.dedent(script), ",".join(blocked)],
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"with only netfit[{extra}] (blocked: {blocked}):\n{done.stdout}{done.stderr}"
    return done.stdout


def test_the_playground_reads_a_drawn_digit_with_only_the_serve_extra(tmp_path):
    """Issue 21: `pip install 'netfit[serve]'`, draw a digit: the prediction comes back (it was a 400)."""
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")                          # Starlette's TestClient
    if not holds("zip", SHARED_DATA):
        pytest.skip(f"{ABSENT} (zip)")
    import numpy as np
    canvas = np.zeros((280, 280), np.uint8)
    canvas[50:230, 128:150] = 255                         # a "1", as the page sends it
    (tmp_path / "one.png").write_bytes(png(canvas))
    out = run_with_only("serve", """
        import warnings
        from netfit.serve.app import create_app
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from starlette.testclient import TestClient
        app = create_app(token="t", settings={"data": "zip", "preset": "net1", "limit": 200, "test_limit": 50})
        response = TestClient(app, base_url="http://127.0.0.1").post(
            "/api/predict", headers={"X-Netfit-Token": "t"}, content=open("one.png", "rb").read())
        print(response.status_code, len(response.json().get("proba", [])), response.json().get("error", ""))
        app.state.playground.trainer.stop()
    """, tmp_path, env={"NETFIT_DATA_DIR": str(SHARED_DATA)})
    assert out.split()[:2] == ["200", "10"], out


def test_the_widget_reads_a_drawn_digit_with_only_the_notebook_extra(tmp_path):
    """netfit.notebook.Playground uses the playground's session and worker, not its web server (Starlette)."""
    pytest.importorskip("anywidget")
    if not holds("zip", SHARED_DATA):
        pytest.skip(f"{ABSENT} (zip)")
    import numpy as np
    canvas = np.zeros((200, 200), np.uint8)
    canvas[30:170, 90:110] = 255                          # a "1", as the widget's pad sends it
    (tmp_path / "one.png").write_bytes(png(canvas))
    out = run_with_only("notebook", """
        from netfit.notebook import Playground
        w = Playground(data="zip", preset="net1", limit=200, test_limit=50)
        sent = []
        w.send = lambda content, buffers=None: sent.append(content)
        w._on_message(w, {"do": "look", "id": 1}, [open("one.png", "rb").read()])
        print(sent[-1]["kind"], len(sent[-1].get("proba", [])), sent[-1].get("message", ""))
        w.close()
    """, tmp_path, env={"NETFIT_DATA_DIR": str(SHARED_DATA)})
    assert out.split()[:2] == ["look", "10"], out


def test_pictures_and_png_digits_with_only_the_plot_extra(tmp_path):
    pytest.importorskip("matplotlib")
    pytest.importorskip("PIL")
    import numpy as np
    digit = np.zeros((28, 28), np.uint8)
    digit[4:24, 12:16] = 255
    (tmp_path / "one.png").write_bytes(png(digit))
    out = run_with_only("plot", """
        import numpy as np
        from netfit import plotting
        from netfit.images import read_image
        x = read_image("one.png", (28, 28))
        plotting.plot_digits(x[None], np.array([1]), np.array([1]), path="digits.png")
        print(x.shape, round(float(x.max()), 3))
    """, tmp_path)
    assert out.split("\n")[0] == "(28, 28) 1.0" and (tmp_path / "digits.png").stat().st_size > 0


# -- the license and the description on PyPI -----------------------------------------------------------
def test_the_license_file_is_mit_for_the_netfit_authors():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n\nCopyright (c) 2026 the netfit authors\n")
    assert "Permission is hereby granted, free of charge" in text and 'THE SOFTWARE IS PROVIDED "AS IS"' in text
    assert PROJECT["license"] == "MIT" and PROJECT["license-files"] == ["LICENSE"]


# Relative targets: Markdown links and pictures, reference definitions, HTML src/href.
LINK_TARGETS = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)|^\s*\[[^\]]+\]:\s*(\S+)|(?:src|href)=[\"']([^\"']+)",
                          re.M)


def relative_links(markdown):
    """The link and picture targets of ``markdown`` that are not absolute URLs (they break on PyPI)."""
    targets = [next(t for t in groups if t) for groups in LINK_TARGETS.findall(markdown)]
    return [t for t in targets if not re.match(r"^(https?|mailto):", t)]


def test_the_link_checker_catches_what_breaks_on_pypi():
    assert relative_links("[a](docs/keras.md) ![b](img/x.png) <img src='z.png'> [d](#top)\n[c]: ../y.md\n") == \
        ["docs/keras.md", "img/x.png", "z.png", "#top", "../y.md"]
    assert relative_links("[a](https://example.org/a.md) [b](mailto:a@b.c)") == []
    assert "docs/keras.md" in relative_links((ROOT / "README.md").read_text(encoding="utf-8"))


def test_the_package_description_has_no_relative_links():
    readme = PROJECT["readme"]
    assert readme["content-type"] == "text/markdown"
    text = (ROOT / readme["file"]).read_text(encoding="utf-8")
    assert relative_links(text) == [], f"{readme['file']}: relative links break on PyPI; make them absolute."
    assert "urls" not in PROJECT or all(u.startswith("https://") for u in PROJECT["urls"].values())


# -- the built wheel and sdist -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The wheel and the sdist, built by setuptools from a copy of what is tracked here."""
    setuptools = pytest.importorskip("setuptools")
    if int(setuptools.__version__.split(".")[0]) < 77:
        pytest.skip(f"setuptools {setuptools.__version__} cannot read license-files; pip install 'setuptools>=77'")
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("dist")
    for name in ("pyproject.toml", "LICENSE", "README.md", PROJECT["readme"]["file"]):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "netfit", source / "netfit", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    script = ("import sys, setuptools.build_meta as b; out = sys.argv[1]; "          # build_* rewrite sys.argv
              "names = b.build_sdist(out), b.build_wheel(out); print('built', *names)")
    done = subprocess.run([sys.executable, "-c", script, str(out)], cwd=source, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    sdist, wheel = done.stdout.splitlines()[-1].split()[1:]
    return out / sdist, out / wheel


def test_the_wheel_carries_the_license_and_a_description_without_relative_links(built):
    _, wheel = built
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = archive.read(info).decode()
        assert info.replace("METADATA", "licenses/LICENSE") in names
        assert archive.read(info.replace("METADATA", "licenses/LICENSE")) == (ROOT / "LICENSE").read_bytes()
    assert any(n.startswith("netfit/serve/static/") for n in names)            # package data
    assert {"netfit/notebook/widget.js", "netfit/notebook/widget.css", "netfit/serve/static/pad.js"} <= set(names)
    head, description = meta.split("\n\n", 1)
    assert "License-Expression: MIT" in head and "License-File: LICENSE" in head
    assert "Classifier: Programming Language :: Python :: 3" in head
    assert 'Requires-Dist: pillow>=9; extra == "serve"' in head
    assert description.strip() == (ROOT / PROJECT["readme"]["file"]).read_text(encoding="utf-8").strip()
    assert relative_links(description) == []


def test_the_sdist_carries_the_license_and_its_description(built):
    sdist, _ = built
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"LICENSE", "pyproject.toml", PROJECT["readme"]["file"], "netfit/__init__.py"} <= names
