"""Turns the keras.io-style guides in `guides/` into Jupyter notebooks.

A guide ("tutobook") is a runnable Python file:

- it opens with a `\"\"\"` header of `Field: value` lines (`Title`, `Author`,
  `Date created`, `Last modified`, `Description`, optionally more);
- prose is written in top-level `\"\"\"` string blocks, as markdown;
- code sits between the prose blocks.

Each guide becomes a notebook whose first cell is a markdown title built from
the header, whose prose blocks are markdown cells and whose code stretches are
code cells. Two block tags follow keras.io: a block opened with `\"\"\"shell`
becomes a code cell of `!` shell lines, and one opened with `\"\"\"invisible`
is left out of the notebook.

The file is split with Python's own parser (`ast`), so a triple-quoted string
inside the code (an assignment, a docstring) is never taken for prose. The
notebook is built with `nbformat`, validated, and written with `jupytext`.

Usage:

    python tools/guides_to_notebooks.py [--out-dir notebooks/] [guides ...]

Without guide paths, every `guides/*.py` of the repository is converted.
"""

import argparse
import ast
import pathlib
import re
import sys
import textwrap

import jupytext
import nbformat
from nbformat import v4

REPO = pathlib.Path(__file__).resolve().parent.parent
GUIDES_DIR = REPO / "guides"
REQUIRED_FIELDS = ("Title", "Date created", "Last modified", "Description")
_TAGGED_OPENING = re.compile(r'^"""(shell|invisible)\s*$')


class TutobookError(ValueError):
    """The file does not follow the tutobook layout."""


def parse_header(text):
    """The header's `Field: value` lines as an ordered dict.

    A line without a colon continues the previous field's value.
    """
    fields, last = {}, None
    for line in text.strip().splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and not key.startswith((" ", "\t")):
            last = key.strip()
            fields[last] = value.strip()
        elif last is not None and line.strip():
            fields[last] = f"{fields[last]} {line.strip()}"
        elif line.strip():
            raise TutobookError(f"Header line {line!r} is not 'Field: value'.")
    return fields


def _prose_nodes(tree, lines):
    """Top-level string statements written as column-0 `\"\"\"` blocks."""
    for node in tree.body:
        if not (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            and node.col_offset == 0
        ):
            continue
        first = lines[node.lineno - 1]
        if not first.startswith('"""'):
            continue
        if node.lineno == node.end_lineno:
            raise TutobookError(
                f"Line {node.lineno}: single-line prose blocks are not allowed; "
                'put the opening and closing """ on lines of their own.'
            )
        match = _TAGGED_OPENING.match(first)
        yield node, match.group(1) if match else ""


def split_tutobook(source):
    """Splits a guide's source into `(kind, text)` pieces, in order.

    `kind` is `"header"` (first piece, always), `"markdown"`, `"code"` or
    `"shell"`. Invisible blocks and blank code stretches are dropped.
    """
    lines = source.splitlines()
    tree = ast.parse(source)
    blocks = list(_prose_nodes(tree, lines))
    if not blocks or blocks[0][0] is not tree.body[0]:
        raise TutobookError('A guide must open with a """ header block.')
    pieces, position = [], 0  # `position`: index of the first line not yet used
    for index, (node, tag) in enumerate(blocks):
        code = "\n".join(lines[position : node.lineno - 1]).strip("\n")
        if code.strip():
            pieces.append(("code", code))
        # The source text, not the string's value: backslashes stay as written.
        block = lines[node.lineno - 1 : node.end_lineno]
        block[0] = block[0][3 + len(tag) :]
        block[-1] = block[-1].rstrip()[:-3]
        text = textwrap.dedent("\n".join(block)).strip("\n")
        if index == 0:
            if tag:
                raise TutobookError(f'The header block cannot be tagged """{tag}.')
            pieces.append(("header", text))
        elif tag == "shell":
            pieces.append(("shell", text))
        elif tag == "invisible":
            pass
        else:
            pieces.append(("markdown", text))
        position = node.end_lineno
    code = "\n".join(lines[position:]).strip("\n")
    if code.strip():
        pieces.append(("code", code))
    return pieces


def title_markdown(fields):
    """The notebook's first cell: the title, then the other header fields."""
    missing = [f for f in REQUIRED_FIELDS if f not in fields]
    if "Author" not in fields and "Authors" not in fields:
        missing.append("Author")
    if missing:
        raise TutobookError(f"The header lacks {', '.join(missing)}.")
    rows = [f"**{key}:** {value}" for key, value in fields.items() if key != "Title"]
    return f"# {fields['Title']}\n\n" + "<br>\n".join(rows)


def to_notebook(source):
    """An nbformat v4 notebook for a guide's source text."""
    cells = []
    for kind, text in split_tutobook(source):
        if kind == "header":
            cells.append(v4.new_markdown_cell(title_markdown(parse_header(text))))
        elif kind == "markdown":
            cells.append(v4.new_markdown_cell(text))
        elif kind == "shell":
            commands = [line.strip() for line in text.splitlines() if line.strip()]
            cells.append(v4.new_code_cell("\n".join(f"!{c}" for c in commands)))
        else:
            cells.append(v4.new_code_cell(text))
    notebook = v4.new_notebook(cells=cells)
    notebook.metadata.update(
        kernelspec={"name": "python3", "display_name": "Python 3", "language": "python"},
        language_info={"name": "python"},
    )
    nbformat.validate(notebook)
    return notebook


def convert(guide, out_dir):
    """Writes `out_dir/<guide stem>.ipynb` and returns its path."""
    guide = pathlib.Path(guide)
    try:
        notebook = to_notebook(guide.read_text(encoding="utf-8"))
    except (TutobookError, SyntaxError) as error:
        raise TutobookError(f"{guide}: {error}") from error
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{guide.stem}.ipynb"
    jupytext.write(notebook, str(target), fmt="ipynb")
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("guides", nargs="*", help="guide files (default: guides/*.py)")
    parser.add_argument("--out-dir", default="notebooks", help="default: notebooks/")
    args = parser.parse_args(argv)
    guides = args.guides or sorted(str(p) for p in GUIDES_DIR.glob("*.py"))
    if not guides:
        parser.error(f"no guides given and none found in {GUIDES_DIR}")
    for guide in guides:
        try:
            target = convert(guide, args.out_dir)
        except (TutobookError, OSError) as error:
            print(f"guides_to_notebooks: error: {error}", file=sys.stderr)
            return 1
        print(f"{guide} -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
