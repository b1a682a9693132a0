"""The errors keras_nest raises on purpose for bad input.

Every one derives from `InputError`, and also from the built-in type a
caller would expect (`ValueError`, `TypeError`, `ImportError`), so
`except ValueError` keeps working. The CLI turns an `InputError` (and a
missing or existing file) into one line on stderr with exit status 2; any
other exception is a bug and keeps its traceback.

Errors raised while a layer is traced (`build`, `call` and the block
regrouping they use) stay plain `ValueError`: TensorFlow's autograph
re-raises only built-in exception types and would turn ours into a
`StagingError`.

Example:

>>> from keras_nest.errors import InputError, InvalidValueError
>>> isinstance(InvalidValueError("epochs must be >= 1"), (InputError, ValueError))
True
"""


class InputError(Exception):
    """Base of the errors raised on purpose for bad input; the message says what to change."""


class InvalidValueError(InputError, ValueError):
    """An argument of the right kind with a value that cannot work."""


class InvalidTypeError(InputError, TypeError):
    """An argument of the wrong kind."""


class MissingDependencyError(InputError, ImportError):
    """An optional package a feature needs is not installed; the message says what to install."""


class WeightsNotFoundError(InputError, FileNotFoundError):
    """Named weights that are neither on disk nor downloadable now; the message says how to place them."""


class ChecksumMismatchError(InputError, ValueError):
    """A weights file whose SHA-256 is not the one recorded for it; it is not loaded (nor deleted)."""
