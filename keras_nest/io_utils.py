"""Atomic file writes and JSON files, shared by run folders, caches and benchmarks."""

import json
import os
import tempfile

from keras_nest.errors import InvalidValueError

TEMPORARY_PREFIX = ".tmp-"


def _default_mode():
    umask = os.umask(0)  # reading the umask means setting it; restored at once
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path, write, mode=None):
    """Calls `write(tmp_path)` on a temporary file beside `path`, then renames it onto `path`.

    Readers (other processes included) never see a half-written file, and a
    crash mid-write leaves the previous file intact. The temporary name keeps
    `path`'s extension, for writers that go by it. `mode` sets the file's
    permissions; by default they are those of any file the user creates
    (0666 less the umask), not the private 0600 of a temporary file.
    A temporary left by a killed process starts with `.tmp-`
    (`TEMPORARY_PREFIX`); run folders remove them when they are opened.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    suffix = "".join(os.path.basename(path).partition(".")[1:]) or ".tmp"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=TEMPORARY_PREFIX, suffix=suffix)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, _default_mode() if mode is None else mode)
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
    """The JSON in `path`, or `default` when there is no such file.

    Raises:
        ValueError: the file is not valid JSON; the message names the file.
    """
    if not os.path.exists(path):
        return default
    with open(path) as f:
        try:
            return json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise InvalidValueError(f"{path} is not valid JSON ({error}); repair or remove it.") from None
