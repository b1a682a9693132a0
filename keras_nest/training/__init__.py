"""Training NesT the Keras way: recipes, strategies, run folders.

Names are imported on first use, so the CLI can read the recipes without
loading TensorFlow.
"""

import importlib

_EXPORTS = {
    "make_augmenter": "augment",
    "resolve_jit_compile": "distribute",
    "resolve_strategy": "distribute",
    "set_precision": "distribute",
    "RECIPES": "recipe",
    "Recipe": "recipe",
    "get_recipe": "recipe",
    "list_recipes": "recipe",
    "make_loss": "recipe",
    "make_optimizer": "recipe",
    "RunFolder": "run_folder",
    "RunFolderError": "run_folder",
    "TrainingDiverged": "run_folder",
    "TrainSpec": "trainer",
    "evaluate": "trainer",
    "train": "trainer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"keras_nest.training.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'keras_nest.training' has no attribute {name!r}")


def __dir__():
    return __all__
