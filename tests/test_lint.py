"""`ruff check` (settings in pyproject.toml) passes on the package, tests, guides, benchmarks and tools."""

import importlib.util
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATHS = ["keras_nest", "tests", "guides", "benchmarks", "tools"]


def _ruff(*args):
    """Runs ruff from this environment (`pip install -e '.[test]'`), else the one on PATH."""
    if importlib.util.find_spec("ruff") is not None:
        command = [sys.executable, "-m", "ruff"]
    elif shutil.which("ruff"):
        command = [shutil.which("ruff")]
    else:
        pytest.fail("ruff is not installed: pip install -e '.[test]'")
    return subprocess.run([*command, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_uses_the_projects_settings():
    proc = _ruff("check", "--show-settings", "keras_nest/__init__.py")
    assert proc.returncode == 0, proc.stderr
    assert os.path.join(ROOT, "pyproject.toml") in proc.stdout, proc.stdout[:500]
    assert "linter.line_length = 120" in proc.stdout


def test_ruff_check():
    proc = _ruff("check", "--no-cache", "--output-format", "concise", *PATHS)
    assert proc.returncode == 0, f"ruff check found problems:\n{proc.stdout}{proc.stderr}"
