"""Atomic file writes and JSON files, shared by run folders, caches and benchmarks."""

import json
import os
import tempfile


def atomic_write(path, write, mode=None):
    """Calls `write(tmp_path)` on a temporary file beside `path`, then renames it onto `path`.

    Readers (other processes included) never see a half-written file, and a
    crash mid-write leaves the previous file intact. The temporary name keeps
    `path`'s extension, for writers that go by it. `mode` sets the file's
    permissions (temporary files start private).
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    suffix = "".join(os.path.basename(path).partition(".")[1:]) or ".tmp"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=suffix)
    os.close(fd)
    try:
        write(tmp)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_json(path, data):
    """Writes `data` as indented JSON, atomically."""

    def write(tmp):
        with open(tmp, "w") as f:
            json.dump(data, f, indent=2)

    atomic_write(path, write)


def read_json(path, default=None):
    """The JSON in `path`, or `default` when there is no such file."""
    if not os.path.exists(path):
        return default
    with open(path) as f:
        return json.load(f)
