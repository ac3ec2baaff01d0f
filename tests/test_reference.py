"""docs/reference.md lists every registry entry with its formula: a missing (or stale) entry fails here.

The page is written by ``python tools/make_reference.py``; run it after adding an
activation, loss, optimizer, schedule, layer, initializer or metric.
"""
import importlib.util
import re
from pathlib import Path

import pytest

from netfit import activations, initializers, layers, losses, metrics, optimizers, schedules

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "reference.md"
FIX = "run `python tools/make_reference.py` to regenerate docs/reference.md"


def _tool():
    spec = importlib.util.spec_from_file_location("make_reference", ROOT / "tools" / "make_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _registries():
    """Straight from the registries, not through the tool: every name each get() accepts."""
    metric_names = metrics.names() if hasattr(metrics, "names") else list(metrics._TABLE)
    return {
        "Activations": set(activations.names()),
        "Losses": set(losses.names()),
        "Optimizers": set(optimizers._TABLE),
        "Learning-rate schedules": set(schedules.names()),
        "Layers": set(layers._TABLE),
        "Initializers": set(initializers._TABLE),
        "Metrics": {"accuracy"} | set(metric_names),
    }


def _rows(text):
    """{section: {name: the rest of its table row}}."""
    rows, section = {}, None
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
            rows[section] = {}
        match = re.match(r"^\| `([^`]+)` \|(.*)\|$", line)
        if match and section:
            rows[section][match.group(1)] = match.group(2)
    return rows


@pytest.mark.parametrize("section", list(_registries()))
def test_every_registry_entry_is_on_the_page_with_a_formula(section):
    rows = _rows(PAGE.read_text(encoding="utf-8"))
    assert section in rows, f"docs/reference.md has no section {section!r}; {FIX}"
    expected = _registries()[section]
    missing = sorted(expected - set(rows[section]))
    extra = sorted(set(rows[section]) - expected)
    assert not missing, f"docs/reference.md lacks {section}: {', '.join(missing)}; {FIX}"
    assert not extra, f"docs/reference.md lists {section} that no registry has: {', '.join(extra)}; {FIX}"
    for name, rest in rows[section].items():
        cells = [c.strip() for c in rest.split(" | ")]
        assert any(len(c) >= 5 for c in cells), f"{section} {name!r} has no formula on the page; {FIX}"


def test_aliases_are_on_the_page():
    text = PAGE.read_text(encoding="utf-8")
    for alias in list(activations.aliases()) + list(losses.aliases()):
        assert f"`{alias}`" in text, f"alias {alias!r} missing from docs/reference.md; {FIX}"


def test_the_page_is_what_the_tool_writes_now():
    """Formulas come from docstrings: an edited docstring makes the page stale too."""
    assert PAGE.read_text(encoding="utf-8") == _tool().render(), FIX
