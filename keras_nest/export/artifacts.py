"""`export_model` and `run_exported`: one artifact per format, and its runtime.

Formats (Keras 3.15 `model.export`; keras3-notes §3):

- `"saved_model"`: a TensorFlow SavedModel folder with the `serve` and
  `serving_default` signatures; load it with `tf.saved_model.load` or
  `keras.layers.TFSMLayer(path, call_endpoint="serve")`. Core TensorFlow.
- `"litert"`: a `.tflite` flatbuffer (TensorFlow's converter, TF backend);
  run it with the `ai-edge-litert` interpreter (or the deprecated
  `tf.lite.Interpreter`). The batch dimension stays dynamic: resize the
  input tensor before `allocate_tensors`.
- `"onnx"`: an `.onnx` graph via `tf2onnx` (TF backend); run it with
  `onnxruntime`. Needs `pip install "keras-nest[export]"`.

Every artifact takes what the Keras model takes: raw pixels `(N, H, W, C)`
float32 in `0..255` for a model with `include_preprocessing=True`. Writes
are atomic: a failed export leaves any earlier artifact at `path` intact.
"""

import importlib
import os
import shutil
import warnings

import keras
import numpy as np

from keras_nest.errors import InvalidTypeError, InvalidValueError, MissingDependencyError
from keras_nest.io_utils import TEMPORARY_PREFIX, atomic_write
from keras_nest.validation import check_choice

EXPORT_FORMATS = ("saved_model", "litert", "onnx")
_KERAS_FORMAT = {"saved_model": "tf_saved_model", "litert": "litert", "onnx": "onnx"}
_SUFFIX = {"litert": ".tflite", "onnx": ".onnx"}
_INSTALL = 'pip install "keras-nest[export]"'
# The backends whose Keras exporter works for each format (PyTorch's SavedModel path fails in
# torch.export on functional models with Keras 3.15; LiteRT and ONNX go through TensorFlow's converters).
_BACKENDS = {"saved_model": ("tensorflow", "jax"), "litert": ("tensorflow",), "onnx": ("tensorflow",)}
# The packages Keras' exporters import for each format, beyond TensorFlow.
_CONVERTERS = {"saved_model": (), "litert": (), "onnx": ("tf2onnx", "onnx")}


def export_model(model, path, format="saved_model", verbose=False):
    """Writes `model` as a serving artifact at `path`; returns `path`.

    Args:
        model: a built `keras.Model`, or the path of a `.keras` file.
        path: a folder for `"saved_model"`, a file ending in `.tflite`
            (`"litert"`) or `.onnx` (`"onnx"`); replaced if it exists.
        format: one of `EXPORT_FORMATS`.
        verbose: bool, let Keras print what it exports.

    Returns:
        `path`.

    Raises:
        ValueError: an unknown format, a file name without the format's
            suffix, a model that was never built, or a backend that cannot
            write the format (LiteRT and ONNX need the TensorFlow backend
            here).
        ImportError (`MissingDependencyError`): the format's converter is
            not installed; the message gives the install line.

    Example:

    >>> import tempfile, keras_nest
    >>> model = keras_nest.create_model("nest_nano_16", num_classes=3, include_preprocessing=True)
    >>> folder = export_model(model, os.path.join(tempfile.mkdtemp(), "nest"))
    >>> images = np.random.default_rng(0).uniform(0, 255, (2, 16, 16, 3)).astype("float32")
    >>> bool(np.allclose(run_exported(folder, images), model.predict(images, verbose=0), atol=1e-4))
    True
    """
    format = check_choice("format", format, EXPORT_FORMATS)
    model = _as_model(model)
    path = os.fspath(path)
    suffix = _SUFFIX.get(format)
    if suffix and not path.lower().endswith(suffix):
        raise InvalidValueError(f"The {format} export is one file ending in {suffix}; got {path!r}. "
                                f"Name it e.g. {os.path.splitext(path)[0] + suffix!r}.")
    if not suffix and path.lower().endswith(tuple(_SUFFIX.values())):
        raise InvalidValueError(f"The saved_model export is a folder; {path!r} names a file of another format. "
                                "Pass --format litert / onnx for that file, or a folder name.")
    if not can_export(format):
        raise InvalidValueError(f"The {format} export does not work on the {keras.backend.backend()} backend "
                                f"here; run it on {' or '.join(_BACKENDS[format])}: keras-nest export "
                                f"--backend {_BACKENDS[format][0]} (a .keras file loads on every backend).")
    for module in _CONVERTERS[format]:
        _require(module, f"The {format} export needs {module}")
    def write(target):
        with warnings.catch_warnings():  # Keras' tf2onnx shim probes the removed np.object
            warnings.filterwarnings("ignore", message=".*np.object.*", category=FutureWarning)
            model.export(target, format=_KERAS_FORMAT[format], verbose=verbose)

    if format == "saved_model":
        _replace_folder(path, write)
    else:
        atomic_write(path, write)
    return path


def can_export(format="saved_model"):
    """Whether `export_model(..., format)` works on the current Keras backend.

    >>> can_export("saved_model") == (keras.backend.backend() in ("tensorflow", "jax"))
    True
    """
    return keras.backend.backend() in _BACKENDS[check_choice("format", format, EXPORT_FORMATS)]


def default_export_path(model_path, format):
    """Where `keras-nest export` writes without `--out`: beside the `.keras` file, named after it.

    Example:

    >>> default_export_path("runs/a/best.keras", "onnx"), default_export_path("runs/a/best.keras", "saved_model")
    ('runs/a/best.onnx', 'runs/a/best_saved_model')
    """
    format = check_choice("format", format, EXPORT_FORMATS)
    stem = os.path.splitext(os.fspath(model_path))[0]
    return stem + _SUFFIX.get(format, "_saved_model")


def run_exported(path, images):
    """Runs an artifact from `export_model` with its own runtime; returns numpy outputs.

    The runtime follows the artifact: a folder is a SavedModel
    (`tf.saved_model.load(path).serve`), `.tflite` runs in the LiteRT
    interpreter (`ai_edge_litert`, else `tf.lite`), `.onnx` in onnxruntime.

    Args:
        path: what `export_model` wrote.
        images: `(N, H, W, C)` model inputs (raw pixels for a model with
            preprocessing); any batch size.

    Returns:
        The model's output for `images` as a float32 numpy array.

    Raises:
        FileNotFoundError: nothing at `path`.
        ValueError: `path` is not one of the three artifact kinds.
        ImportError (`MissingDependencyError`): onnxruntime is missing for
            an `.onnx` file.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No exported model at {path!r}.")
    images = np.asarray(images, np.float32)
    if os.path.isdir(path):
        import tensorflow as tf

        loaded = tf.saved_model.load(path)  # kept: its variables die with it
        return np.asarray(loaded.serve(tf.constant(images)))
    if path.lower().endswith(".tflite"):
        return _run_litert(path, images)
    if path.lower().endswith(".onnx"):
        runtime = _require("onnxruntime", "Running an .onnx file needs onnxruntime")
        session = runtime.InferenceSession(path, providers=["CPUExecutionProvider"])
        return session.run(None, {session.get_inputs()[0].name: images})[0]
    raise InvalidValueError(f"{path!r} is not an exported model: expected a SavedModel folder, a .tflite or an "
                            ".onnx file.")


def _as_model(model):
    if isinstance(model, (str, os.PathLike)):
        from keras_nest.models import load_saved_model

        return load_saved_model(model)
    if not isinstance(model, keras.Model):
        raise InvalidTypeError(f"export_model needs a keras.Model or a .keras path, got {type(model).__name__}.")
    if not model.built:
        raise InvalidValueError("The model was never built, so it has no input shape to export: call it on a "
                                "batch of images first, or load a saved .keras file.")
    shape = getattr(model, "input_shape", None)
    if isinstance(shape, tuple) and None not in shape[1:]:
        # Keras' ONNX exporter refuses a model that was loaded but never called.
        model(keras.ops.zeros((1, *shape[1:])), training=False)
    return model


def _require(module, why):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(f"{why}, which is not installed: {_INSTALL}.") from None


def _replace_folder(path, write):
    """`write(tmp)` into a temporary folder beside `path`, then swapped in."""
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    tmp = os.path.join(parent, f"{TEMPORARY_PREFIX}{os.path.basename(path)}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        write(tmp)
        shutil.rmtree(path, ignore_errors=True)
        os.rename(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run_litert(path, images):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # TensorFlow 2.21 still ships the deprecated interpreter
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    interpreter = Interpreter(model_path=path)
    source = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(source["index"], list(images.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(source["index"], images)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
