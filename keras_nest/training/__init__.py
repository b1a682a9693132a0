"""Training NesT the Keras way: recipes, strategies, run folders."""

from keras_nest.training.augment import make_augmenter
from keras_nest.training.distribute import resolve_jit_compile, resolve_strategy, set_precision
from keras_nest.training.recipe import RECIPES, Recipe, get_recipe, list_recipes, make_loss, make_optimizer
from keras_nest.training.run_folder import RunFolder, RunFolderError, TrainingDiverged
from keras_nest.training.trainer import TrainSpec, evaluate, train

__all__ = [
    "RECIPES",
    "Recipe",
    "RunFolder",
    "RunFolderError",
    "TrainSpec",
    "TrainingDiverged",
    "evaluate",
    "get_recipe",
    "list_recipes",
    "make_augmenter",
    "make_loss",
    "make_optimizer",
    "resolve_jit_compile",
    "resolve_strategy",
    "set_precision",
    "train",
]
