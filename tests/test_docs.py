"""The docs point at real code: every link resolves, and every line link lands in the function it names.

A line link in docs/*.md reads  [`Dense.backward`](../netfit/layers/dense.py#L64 "np.matmul(self._x.T")
or, for a range, ``#L64-L72``; the quoted text is the start of the first linked
line. The test parses the file with ``ast`` and checks that the named function,
method or class (``Class.method`` for methods) encloses every linked line and
that the first one starts with the quote. When code moves, the test fails and
``python tools/relink_docs.py`` re-points the links. Python blocks written as
``>>>`` sessions in the docs run as doctests.
"""
import doctest
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))


def _load_relink_tool():
    spec = importlib.util.spec_from_file_location("relink_docs", ROOT / "tools" / "relink_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


relink_docs = _load_relink_tool()
definitions = relink_docs.definitions

# Any Markdown link [text](target); images ![alt](target) too.
LINK = re.compile(r'!?\[([^\]]*)\]\(([^)\s]+)(?: "([^"]*)")?\)')
LINE_ANCHOR = re.compile(r"^L(\d+)(?:-L(\d+))?$")
NAME = re.compile(r"^`([A-Za-z_][\w.]*)`$")


def links(path):
    """(line number in the .md, text, target) of every relative link, outside code blocks."""
    found, fenced = [], False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            continue
        for text, target, quote in LINK.findall(line):
            if not re.match(r"^[a-z]+:|^#", target):          # skip http:, mailto:, in-page anchors
                found.append((number, text, target, quote))
    return found


ALL_LINKS = [(doc, *link) for doc in DOCS for link in links(doc)]
CODE_LINKS = [link for link in ALL_LINKS if "#L" in link[3]]


def _id(link):
    doc, number, text, target, quote = link
    return f"{doc.name}:{number}:{target.split('/')[-1]}"


def test_docs_exist_and_link_to_code():
    assert DOCS, "docs/*.md not found"
    assert any(doc.name == "backprop.md" for doc in DOCS)
    assert len([link for link in CODE_LINKS if link[0].name == "backprop.md"]) >= 20


@pytest.mark.parametrize("link", ALL_LINKS, ids=_id)
def test_link_target_exists(link):
    doc, number, text, target, quote = link
    file = (doc.parent / target.split("#")[0]).resolve()
    assert file.exists(), f"{doc.name}:{number}: link to {target} but {file} does not exist"
    if target.split("#")[0].endswith(".py") and "#" in target:
        assert LINE_ANCHOR.match(target.split("#", 1)[1]), \
            f"{doc.name}:{number}: expected a line anchor #L<n> or #L<n>-L<m>, got {target}"


@pytest.mark.parametrize("link", CODE_LINKS, ids=_id)
def test_code_link_lands_in_named_function(link):
    doc, number, text, target, quote = link
    where = f"{doc.name}:{number}: [{text}]({target})"
    path, anchor = target.split("#", 1)
    file = (doc.parent / path).resolve()
    match = LINE_ANCHOR.match(anchor)
    assert match, f"{where}: expected #L<n> or #L<n>-L<m>"
    first = int(match.group(1))
    last = int(match.group(2) or first)
    source = file.read_text(encoding="utf-8")
    n_lines = len(source.splitlines())
    assert 1 <= first <= last <= n_lines, f"{where}: lines {first}-{last} outside the file's {n_lines} lines"
    name = NAME.match(text)
    assert name, f"{where}: expected the link text to be the function's name in backticks, e.g. `Dense.backward`"
    spans = definitions(source)
    qualified = name.group(1)
    assert qualified in spans, (f"{where}: {qualified} is not defined in {path}; "
                                f"defined there: {', '.join(sorted(spans))}")
    start, end = spans[qualified]
    assert start <= first and last <= end, (
        f"{where}: {qualified} now spans lines {start}-{end} of {path}; run python tools/relink_docs.py")
    assert quote, f'{where}: quote the start of the linked line after the anchor, e.g. #L{first} "z = ..."'
    line = source.splitlines()[first - 1].strip()
    assert line.startswith(quote), (
        f"{where}: line {first} reads {line!r}, not {quote!r}; run python tools/relink_docs.py")


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_doc_examples_run(doc):
    """``>>>`` examples in the docs run and print what they show."""
    failures, _ = doctest.testfile(str(doc), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert failures == 0


def test_a_drifted_link_is_caught(tmp_path):
    """The checker itself: a line outside the named function is reported."""
    source = "def f():\n    return 1\n\n\ndef g():\n    return 2\n"
    spans = definitions(source)
    assert spans == {"f": (1, 2), "g": (5, 6)}
    doc = tmp_path / "x.md"
    doc.write_text('See [`g`](../m.py#L5 "def g") and [`f`](../m.py#L1-L2).\n```\n[`h`](../m.py#L9)\n```\n')
    assert [(t, target, q) for _, t, target, q in links(doc)] == [("`g`", "../m.py#L5", "def g"),
                                                                  ("`f`", "../m.py#L1-L2", "")]
    start, end = spans["f"]
    assert not (start <= 5 <= end)


def test_relink_tool_repoints_a_drifted_link(tmp_path):
    """tools/relink_docs.py moves a link to the line its quote names, keeping a range's length."""
    (tmp_path / "m.py").write_text("import os\n\n\ndef f():\n    x = 1\n    return x\n")
    doc = tmp_path / "d.md"
    doc.write_text('[`f`](m.py#L2-L3 "x = 1") and [`f`](m.py#L9 "nothing like this")\n')
    text, changes, problems = relink_docs.relink(doc)
    assert '[`f`](m.py#L5-L6 "x = 1")' in text
    assert changes == ["d.md: f -> #L5-L6"]
    assert problems and "no line of f starts with 'nothing like this'" in problems[0]
