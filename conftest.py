"""Makes `keras`, `keras_nest` and `np` available to docstring examples."""

import keras
import numpy as np
import pytest

import keras_nest


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    doctest_namespace.update(keras=keras, keras_nest=keras_nest, np=np)
