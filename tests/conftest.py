import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# One import style for test helpers: tests/ is on sys.path, so test files write
# `from layer_checks import ...` and `from kill_during_training import ...`.
TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long-running test (still run in CI)")
    config.addinivalue_line("markers", "tensorflow_only: tests TensorFlow's own behaviour (tf.data graphs, "
                            "tf.function); skipped when the suite runs on another Keras backend")


def pytest_collection_modifyitems(config, items):
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return
    skip = pytest.mark.skip(reason=f"tests TensorFlow's own behaviour; this run uses the {backend} backend")
    for item in items:
        if "tensorflow_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _reset_keras_state():
    keras.utils.set_random_seed(0)
    yield
    keras.config.set_dtype_policy("float32")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def tfds_dir(tmp_path_factory):
    """A prepared TFDS data directory holding `keras_nest_tiny` (see tfds_fixture.py)."""
    import tfds_fixture

    return tfds_fixture.prepare(tmp_path_factory.mktemp("tensorflow_datasets"))
