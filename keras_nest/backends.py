"""Which Keras backend runs the models: TensorFlow, JAX or PyTorch.

Every layer and model uses `keras.ops` only, so the same code runs on all
three. Keras fixes its backend when it is first imported (from
`KERAS_BACKEND`, else `~/.keras/keras.json`), so `select_backend` must run
before anything imports Keras; the `--backend` flag of `keras-nest` does.
`tf.data` stays the input pipeline on every backend, so TensorFlow is
always installed.

Example:

>>> import keras
>>> select_backend(keras.backend.backend()) == keras.backend.backend()  # already it: nothing to do
True
"""

import importlib.util
import os
import sys

from keras_nest.errors import InvalidValueError, MissingDependencyError

BACKENDS = ("tensorflow", "jax", "torch")
# What to install for each backend (CPU wheels; GPU and TPU builds: see each project's page).
INSTALL = {
    "tensorflow": "pip install tensorflow",
    "jax": 'pip install "keras-nest[jax]" (on a TPU VM: pip install "jax[tpu]"; NVIDIA GPUs: "jax[cuda12]")',
    "torch": "pip install torch",
}


def select_backend(name):
    """Makes Keras use backend `name`; returns it.

    Args:
        name: `"tensorflow"`, `"jax"` or `"torch"`.

    Raises:
        InvalidValueError: an unknown name, or Keras was already imported
            with another backend (it cannot switch in a running process).
        MissingDependencyError: the backend's package is not installed
            (the message says what to install).
    """
    if name not in BACKENDS:
        raise InvalidValueError(f"Unknown backend {name!r}; choose one of {', '.join(BACKENDS)}.")
    if importlib.util.find_spec(name) is None:
        raise MissingDependencyError(f"The {name} backend needs the {name} package, which is not installed: "
                                     f"{INSTALL[name]}")
    if "keras" in sys.modules:
        import keras

        loaded = keras.backend.backend()
        if loaded != name:
            raise InvalidValueError(f"Keras is already running on {loaded}; it cannot switch to {name} in this "
                                    f"process. Set KERAS_BACKEND={name} before Python imports keras.")
        return name
    os.environ["KERAS_BACKEND"] = name
    return name
