"""Re-point the docs' code links at the lines they quote, after the code has moved.

A code link in docs/*.md names a function and quotes the start of its first line:

    [`Dense.backward`](../netfit/layers/dense.py#L66 "np.matmul(self._x.T, dz")

This script finds, inside the named function, the line that starts with the
quoted text (the one nearest the old anchor if several do) and rewrites the line numbers (a range ``#La-Lb`` keeps its length).
tests/test_docs.py fails when a link has drifted, and says to run:

    python tools/relink_docs.py            # rewrite docs/*.md in place
    python tools/relink_docs.py --check    # only report, exit 1 if anything moved
"""
import argparse
import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE_LINK = re.compile(r'\[`(?P<name>[A-Za-z_][\w.]*)`\]\((?P<path>[^)#\s]+\.py)#L(?P<first>\d+)(?:-L(?P<last>\d+))?'
                       r'(?: "(?P<quote>[^"]*)")?\)')


def definitions(source):
    """Qualified name -> (first line, last line) of every class and function, decorators included."""
    spans = {}

    def visit(nodes, prefix):
        for node in nodes:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + node.name
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                spans[name] = (first, node.end_lineno)
                visit(node.body, name + ".")

    visit(ast.parse(source).body, "")
    return spans


def locate(doc, match):
    """Return (first, last) where the link should point now, or raise ValueError saying why."""
    file = (doc.parent / match["path"]).resolve()
    lines = file.read_text(encoding="utf-8").splitlines()
    spans = definitions("\n".join(lines))
    name, quote = match["name"], match["quote"]
    if name not in spans:
        raise ValueError(f"{name} is not defined in {match['path']}")
    if not quote:
        raise ValueError(f'link to {name} has no quoted line: add  "start of the line"  after the anchor')
    start, end = spans[name]
    hits = [k for k in range(start, end + 1) if lines[k - 1].strip().startswith(quote)]
    if not hits:
        raise ValueError(f"no line of {name} starts with {quote!r}")
    # A quote that starts several lines keeps pointing at the one nearest its old place.
    first = min(hits, key=lambda k: abs(k - int(match["first"])))
    width = int(match["last"]) - int(match["first"]) if match["last"] else 0
    return first, first + width


def relink(doc):
    """Return (new text, list of changes, list of problems) for one Markdown file."""
    changes, problems = [], []

    def replace(match):
        try:
            first, last = locate(doc, match)
        except (ValueError, OSError) as exc:
            problems.append(f"{doc.name}: [{match['name']}]: {exc}")
            return match[0]
        anchor = f"L{first}" + (f"-L{last}" if last != first else "")
        new = f'[`{match["name"]}`]({match["path"]}#{anchor} "{match["quote"]}")'
        if new != match[0]:
            changes.append(f"{doc.name}: {match['name']} -> #{anchor}")
        return new

    text = CODE_LINK.sub(replace, doc.read_text(encoding="utf-8"))
    return text, changes, problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report drifted links, change nothing")
    args = parser.parse_args(argv)
    moved = False
    for doc in sorted((ROOT / "docs").glob("*.md")):
        text, changes, problems = relink(doc)
        for line in changes + problems:
            print(line)
        moved |= bool(changes or problems)
        if changes and not args.check:
            doc.write_text(text, encoding="utf-8")
    return 1 if (moved and args.check) else 0


if __name__ == "__main__":
    sys.exit(main())
