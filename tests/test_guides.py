"""The guides in `guides/`: header rules, notebook conversion, and a fast run.

Every `guides/*.py` is picked up automatically. Each guide must honour
`KERAS_NEST_GUIDE_FAST=1` (one epoch on a slice of the data), which is how
the execution test runs it, in a subprocess from a temporary folder.
"""

import ast
import datetime
import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import nbformat
import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
GUIDES = sorted(REPO.glob("guides/*.py"))
CONVERTER = REPO / "tools" / "guides_to_notebooks.py"
RUN_TIMEOUT_S = 600

guide_params = pytest.mark.parametrize("guide", GUIDES, ids=[g.stem for g in GUIDES])


def _header(guide):
    """The header's fields, parsed here independently of the converter."""
    text = guide.read_text(encoding="utf-8")
    match = re.match(r'"""\n(.*?)\n"""\n', text, re.S)
    assert match, f"{guide.name} must open with a header between lines of three quotes"
    fields = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        assert sep, f"{guide.name}: header line {line!r} is not 'Field: value'"
        fields[key.strip()] = value.strip()
    return fields


def _load_converter():
    spec = importlib.util.spec_from_file_location("guides_to_notebooks", CONVERTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_guides_exist():
    assert GUIDES, "no guides found in guides/"


@guide_params
def test_header(guide):
    fields = _header(guide)
    for field in ("Title", "Date created", "Last modified", "Description"):
        assert fields.get(field), f"{guide.name}: header lacks {field!r}"
    assert fields.get("Author") or fields.get("Authors"), f"{guide.name}: no Author(s)"
    dates = {}
    for field in ("Date created", "Last modified"):
        assert re.fullmatch(r"\d{4}/\d{2}/\d{2}", fields[field]), (
            f"{guide.name}: {field} must be yyyy/mm/dd, got {fields[field]!r}"
        )
        dates[field] = datetime.datetime.strptime(fields[field], "%Y/%m/%d").date()
    assert dates["Last modified"] >= dates["Date created"]
    description = fields["Description"]
    assert description[0].isupper(), f"{guide.name}: Description must be capitalised"
    assert description.endswith("."), f"{guide.name}: Description must end with a period"
    assert len(description) < 100, f"{guide.name}: Description has {len(description)} chars"


@guide_params
def test_layout(guide):
    text = guide.read_text(encoding="utf-8")
    ast.parse(text)  # a guide is a runnable Python file
    bad = [n for n, line in enumerate(text.splitlines(), 1) if line != line.rstrip()]
    assert not bad, f"{guide.name}: trailing whitespace on lines {bad}"
    assert "KERAS_NEST_GUIDE_FAST" in text, f"{guide.name} must honour KERAS_NEST_GUIDE_FAST"


@guide_params
def test_converts_to_notebook(guide, tmp_path):
    run = subprocess.run(
        [sys.executable, str(CONVERTER), "--out-dir", str(tmp_path), str(guide)],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    path = tmp_path / f"{guide.stem}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)

    title = notebook.cells[0]
    assert title.cell_type == "markdown"
    assert title.source.startswith(f"# {_header(guide)['Title']}\n")
    kinds = [cell.cell_type for cell in notebook.cells[1:]]
    assert "markdown" in kinds and "code" in kinds
    code = "\n\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    ast.parse("\n".join(line for line in code.splitlines() if not line.startswith("!")))


def test_converter_block_rules():
    converter = _load_converter()
    source = '\n'.join([
        '"""',
        "Title: A guide",
        "Authors: someone",
        "Date created: 2026/01/01",
        "Last modified: 2026/01/02",
        "Description: Rules of the converter.",
        '"""',
        '"""',
        "## Intro with a \\backslash",
        '"""',
        "x = 1",
        'TEXT = """',
        "not prose",
        '"""',
        '"""shell',
        "pip install keras-nest",
        '"""',
        '"""invisible',
        "hidden",
        '"""',
        "def f():",
        '    """A docstring, not prose."""',
        "",
    ])
    pieces = converter.split_tutobook(source)
    assert [kind for kind, _ in pieces] == ["header", "markdown", "code", "shell", "code"]
    assert pieces[1][1] == "## Intro with a \\backslash"
    assert "not prose" in pieces[2][1]
    notebook = converter.to_notebook(source)
    assert notebook.cells[0].source.startswith("# A guide\n\n**Authors:** someone")
    assert notebook.cells[3].source == "!pip install keras-nest"
    with pytest.raises(converter.TutobookError):
        converter.to_notebook('"""\nTitle: no dates\n"""\nx = 1\n')
    with pytest.raises(converter.TutobookError):
        converter.split_tutobook(source + '"""One line."""\n')


@pytest.mark.slow
@guide_params
def test_runs_in_fast_mode(guide, tmp_path):
    env = dict(os.environ, KERAS_NEST_GUIDE_FAST="1", MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="2")
    try:
        run = subprocess.run(
            [sys.executable, str(guide)], cwd=tmp_path, env=env,
            capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"{guide.name} ran past {RUN_TIMEOUT_S} s in fast mode: {error}")
    assert run.returncode == 0, (
        f"{guide.name} exited with {run.returncode}\n"
        f"--- stdout (tail) ---\n{run.stdout[-3000:]}\n--- stderr (tail) ---\n{run.stderr[-3000:]}"
    )
