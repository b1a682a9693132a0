"""On-disk cache of generated arrays (an `.npz` per key), written atomically.

The directory is, in order: the `cache_dir` argument (`False` turns the disk
cache off), the `KERAS_NEST_CACHE` environment variable (empty, `0` or `off`
turn it off), else `~/.keras/keras_nest`. The cache only saves time: any
failure to read or write it falls back to building the arrays.
"""

import os
import pathlib
import zipfile

import numpy as np

from keras_nest.io_utils import atomic_write

DEFAULT_CACHE_DIR = "~/.keras/keras_nest"
_OFF = ("", "0", "off", "false", "none")


def cache_root(cache_dir=None):
    """The cache directory as a `pathlib.Path`, or `None` when disk caching is off.

    Example:

    >>> str(cache_root("/tmp/somewhere")), cache_root(False)
    ('/tmp/somewhere', None)
    """
    if cache_dir is False:
        return None
    if cache_dir is None:
        env = os.environ.get("KERAS_NEST_CACHE")
        if env is not None and env.strip().lower() in _OFF:
            return None
        cache_dir = env if env is not None else DEFAULT_CACHE_DIR
    return pathlib.Path(cache_dir).expanduser()


def cached_arrays(key, build, cache_dir=None):
    """`build()` (a dict of numpy arrays), read from / saved to `<cache dir>/<key>.npz`."""
    root = cache_root(cache_dir)
    if root is None:
        return build()
    path = root / f"{key}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as stored:
                return {name: stored[name] for name in stored.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):
            pass  # truncated or foreign file: rebuild and overwrite it
    arrays = build()
    _atomic_save(path, arrays)
    return arrays


def _atomic_save(path, arrays):
    def write(tmp):
        with open(tmp, "wb") as f:  # a file object, so savez adds no extension
            np.savez(f, **arrays)

    try:
        atomic_write(path, write, mode=0o644)  # a cache may be shared between users
    except OSError:
        pass  # read-only or full disk: the cache is optional
