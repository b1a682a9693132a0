"""keras_nest: NesT (Nested Hierarchical Transformer) for Keras 3.

Implements the model of Zizhao Zhang, Han Zhang, Long Zhao, Ting Chen, Sercan Ö. Arık
and Tomas Pfister, "Nested Hierarchical Transformer: Towards Accurate, Data-Efficient
and Interpretable Visual Understanding", AAAI 2022, arXiv:2105.12723
(https://arxiv.org/abs/2105.12723).
"""

__version__ = "0.1.0"

import os as _os
import sys as _sys

_PUBLIC = {
    "NestModel": "keras_nest.models",
    "count_macs": "keras_nest.models",
    "create_discriminator": "keras_nest.models",
    "create_generator": "keras_nest.models",
    "create_model": "keras_nest.models",
    "decode_predictions": "keras_nest.predict",
    "list_generators": "keras_nest.models",
    "list_models": "keras_nest.models",
    "transfer_weights": "keras_nest.models",
}


def _started_as_cli():
    # `keras-nest --help` and `keras-nest models` need no TensorFlow (~5 s to import);
    # each CLI command imports what it uses. Everywhere else the package imports
    # eagerly, so its Keras classes are registered before any `keras.saving.load_model`.
    # (`python -m keras_nest.cli` imports this package while argv[0] is still "-m".)
    return (_sys.argv[0] if _sys.argv else "") == "-m" or _os.path.basename(_sys.argv[0]) == "keras-nest"


if _started_as_cli():

    def __getattr__(name):
        import importlib

        if name == "layers":
            return importlib.import_module("keras_nest.layers")
        if name in _PUBLIC:
            return getattr(importlib.import_module(_PUBLIC[name]), name)
        raise AttributeError(f"module 'keras_nest' has no attribute {name!r}")

else:
    from keras_nest import layers  # noqa: F401
    from keras_nest.models import (  # noqa: F401
        NestModel,
        count_macs,
        create_discriminator,
        create_generator,
        create_model,
        list_generators,
        list_models,
        transfer_weights,
    )
    from keras_nest.predict import decode_predictions  # noqa: F401
