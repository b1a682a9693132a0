"""
Title: Training a NesT image classifier
Author: keras_nest authors
Date created: 2026/11/27
Last modified: 2026/11/30
Description: Build, train, evaluate, save and reuse a NesT classifier on handwritten digits.
Accelerator: None
"""

"""
## Introduction

NesT, the *Nested Hierarchical Transformer*, is a vision transformer that never
lets attention cross block borders. The image is turned into a grid of tokens,
and the grid is cut into small square blocks. Inside every block, ordinary
transformer layers run exactly as in a ViT, but each block only sees itself.
Between two levels of the hierarchy a small *block aggregation* step (a
convolution, a normalisation and a stride-2 max-pool over the image plane)
merges every 2x2 group of neighbouring blocks into one. Each level therefore
has a quarter of the blocks of the level below, until a single block covers the
whole image and the classifier averages its tokens.

Three consequences make NesT pleasant to work with:

- attention stays local, so its cost grows with the number of pixels rather than
  with its square;
- the "look locally, then merge" structure is a strong prior: NesT learns from
  small data sets much faster than a ViT of the same size;
- the blocks form a tree (each block has four children one level down), which
  keeps the spatial layout available for interpretation.

This guide uses `keras_nest` to:

1. pick and create a NesT model and look at its block hierarchy;
2. load the built-in `digits` data set;
3. train it the plain Keras way (`compile` + `fit`) with the NesT recipe;
4. train it again with a single call that manages a run folder;
5. evaluate, save, reload and predict;
6. do the same from the `keras-nest` command line.

Everything runs on a laptop CPU in a few minutes.
"""

"""
## Setup

The guide is written for the TensorFlow backend, which `keras_nest`'s data
pipelines (`tf.data`) and training utilities build on. Setting the backend must
happen before Keras is imported.

When the environment variable `KERAS_NEST_GUIDE_FAST=1` is set, the guide
trains for a single epoch on a slice of the data: that is how the test suite
runs it. Leave it unset to train for real.
"""

import os

os.environ["KERAS_BACKEND"] = "tensorflow"

import json
import shutil

import keras
import matplotlib.pyplot as plt
import numpy as np

import keras_nest
from keras_nest.data import dataset_info, load_arrays, load_dataset
from keras_nest.training import get_recipe, make_loss, make_optimizer

FAST = os.environ.get("KERAS_NEST_GUIDE_FAST") == "1"
EPOCHS = 1 if FAST else 6
TRAIN_EXAMPLES = 128 if FAST else None  # None: the whole split
TEST_EXAMPLES = 128 if FAST else None
TRAIN_FRACTION = 0.1 if FAST else 1.0

# Every file this guide writes goes under this folder, emptied at each run.
OUTPUT_DIR = os.path.join("guides_output", "train_nest_classifier")
shutil.rmtree(OUTPUT_DIR, ignore_errors=True)
os.makedirs(OUTPUT_DIR)

keras.utils.set_random_seed(0)

"""
## Choosing a model

`keras_nest.list_models()` returns the names that `keras_nest.create_model()`
accepts. The `nest_*_imagenet` and `nest_*_cifar` entries are the layouts of
the NesT paper; `nest_nano_16` and `nest_micro_32` are small configurations for
quick experiments on a CPU. The `vit_*` entries are ViT baselines of matching
sizes, built from the same layers.
"""

print(keras_nest.list_models())

"""
Let's build each NesT and tabulate its input size, its number of parameters
and its analytic cost in multiply-accumulates per image.
"""

if FAST:
    # Initialising the large models takes seconds each: the fast mode skips them.
    table_models = ["nest_nano_16", "nest_micro_32"]
else:
    table_models = keras_nest.list_models("nest")

print(f"{'name':<22}{'input':>9}{'params':>14}{'GMACs':>8}")
for name in table_models:
    candidate = keras_nest.create_model(name)
    size = "x".join(str(side) for side in candidate.input_shape[1:3])
    params = candidate.count_params()
    gmacs = keras_nest.count_macs(candidate) / 1e9
    print(f"{name:<22}{size:>9}{params:>14,}{gmacs:>8.2f}")
    del candidate
keras.backend.clear_session()

"""
The handwritten digits we are about to classify are tiny (8x8 pixels, which
`keras_nest` upsamples to 16x16), so `nest_nano_16` is the right size.
`create_model` takes any `NestModel` argument as an override, in the style of
`keras.applications`: here the number of classes. The result is an ordinary
functional `keras.Model` that outputs logits.
"""

model = keras_nest.create_model("nest_nano_16", num_classes=10)
model.summary()

"""
## The block hierarchy

A NesT model knows how its levels are laid out. `model.geometry` holds, for
every level, a `LevelGeometry`: how many blocks there are per side
(`grid_size`), how many tokens each block holds per side (`block_size`), and
the size of the token plane they form together (`plane_size`). The levels
themselves are `model.levels`, the block aggregations between them
`model.aggregations`.
"""

for level, layout in enumerate(model.geometry):
    width = model.nest_config["embed_dims"][level]
    print(
        f"level {level}: {layout.grid_size} blocks of {layout.block_size} "
        f"tokens, plane {layout.plane_size}, {width} channels"
    )

"""
With one-pixel patches, the 16x16 input gives a 16x16 token plane. Level 0
splits it into 4x4 blocks of 4x4 tokens; every aggregation halves the plane and
keeps the block size, so level 1 has 2x2 blocks and level 2 a single block.

To see the intermediate levels, build the model with `feature_pyramid=True`. It
then returns a dictionary: every level's feature map in NHWC layout under
`level_{i}`, and the usual logits under `output`. The extra outputs carry no
weights of their own, which makes them handy for dense prediction heads and for
interpretation.
"""

pyramid = keras_nest.create_model("nest_nano_16", num_classes=10, feature_pyramid=True)
features = pyramid(np.zeros((2, 16, 16, 3), dtype="float32"))
for key, value in features.items():
    print(f"{key:>8}: {tuple(value.shape)}")

"""
## The data

`keras_nest.data` ships a few data sets that need no download. `digits` is
scikit-learn's collection of 1,797 handwritten digits, split once and for all
into a training and a test part. `dataset_info` describes a data set without
loading it.
"""

info = dataset_info("digits")
print("classes:", info.class_names)
print("examples per split:", info.num_examples)
print("loaded size:", info.default_image_size, "mean:", info.mean, "std:", info.std)

"""
`load_dataset` returns a batched `tf.data.Dataset`, ready for `model.fit`:
float32 images with the grey channel repeated three times, and one-hot labels.
By default the images are normalised with the mean and standard deviation
above; we ask for raw pixels (`normalize=False`, values in `0..255`) instead,
because our model will normalise inside, as `keras.applications` models do
with `include_preprocessing=True`. The training split is reshuffled every
epoch. `num_examples` keeps only the first examples of a split
(the fast mode uses it; `None` keeps them all).

The batch size comes from the training recipe, which we look at next.
"""

recipe = get_recipe("small", epochs=EPOCHS, warmup_epochs=1)

train_ds = load_dataset(
    "digits", "train", batch_size=recipe.batch_size, num_examples=TRAIN_EXAMPLES, normalize=False
)
test_ds = load_dataset(
    "digits", "test", batch_size=128, num_examples=TEST_EXAMPLES, normalize=False
)

images, labels = next(iter(train_ds))
print("images:", images.shape, images.dtype, "labels:", labels.shape)

"""
A look at a few training images:
"""

pixels = images.numpy() / 255.0
plt.figure(figsize=(8, 2))
for i in range(8):
    plt.subplot(1, 8, i + 1)
    plt.imshow(pixels[i])
    plt.title(info.class_names[int(np.argmax(labels[i]))])
    plt.axis("off")
plt.show()

"""
## Training the Keras way

`keras_nest.training` holds NesT's training recipe as plain Keras objects. A
`Recipe` gathers every setting of a run. The `imagenet` and `cifar` recipes are
the paper's: AdamW, a learning rate scaled with the batch size, linear warmup
then cosine decay, label smoothing and heavy augmentation. The `small` recipe
is tuned for tiny data sets trained for a few epochs. Here it is, shortened to
our epoch budget with a one-epoch warmup:
"""

print(recipe)

"""
- `make_optimizer(recipe, steps_per_epoch)` builds AdamW with the warmup and
  cosine schedule, and without weight decay on the position embeddings;
- `make_loss(recipe)` builds a categorical cross-entropy on logits with the
  recipe's label smoothing (hence the one-hot labels).

The recipe also sets the stochastic depth rate, a model argument. The model
starts with a `preprocessing` layer that holds the data set's mean and
standard deviation (`include_preprocessing=True`) and keeps the class names,
so the saved file works on raw images without this notebook. With these,
training is `compile` and `fit` as with any Keras model.

About `jit_compile`: on a CPU, XLA makes each training step faster, but
compiling takes up to a minute first. That pays off for long runs; for the
few epochs of this guide it does not, so we leave it off.
"""

steps_per_epoch = len(train_ds)  # batches per epoch

model = keras_nest.create_model(
    "nest_nano_16",
    num_classes=info.num_classes,
    drop_path_rate=recipe.drop_path_rate,
    include_preprocessing=True,
    pixel_mean=info.mean,
    pixel_std=info.std,
    class_names=info.class_names,
)
model.compile(
    optimizer=make_optimizer(recipe, steps_per_epoch),
    loss=make_loss(recipe),
    metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    jit_compile=False,
)
# `load_dataset` reshuffles the training split every epoch by itself, hence
# `shuffle=False` (Keras cannot shuffle a `tf.data.Dataset` anyway).
history = model.fit(train_ds, epochs=recipe.epochs, shuffle=False, verbose=2)

"""
## Evaluating

The test split was not used for training, so its accuracy is an honest
estimate. A full run scores about 98% here.
"""

scores = model.evaluate(test_ds, return_dict=True, verbose=0)
print(f"test accuracy: {scores['accuracy']:.4f}")

"""
## Saving and reloading

`model.save` writes a single `.keras` file with the architecture, the weights
and the optimizer state. All `keras_nest` layers are registered with Keras, so
`keras.saving.load_model` rebuilds the model without any `custom_objects`.
"""

model_path = os.path.join(OUTPUT_DIR, "nest_digits.keras")
model.save(model_path)

reloaded = keras.saving.load_model(model_path)
np.testing.assert_allclose(
    model.predict(images, verbose=0), reloaded.predict(images, verbose=0), atol=1e-5
)
print("The reloaded model gives the same logits.")

"""
## Predicting on new images

The model normalises inside, so new images go in as they come: `load_arrays`
gives raw uint8 images, as a camera or a file would. The model returns
logits, so a softmax turns them into probabilities, and the class names
travel with the model (`reloaded.class_names`). From the command line,
`keras-nest predict IMAGE... --model-path nest_digits.keras` does the same, and
`keras-nest export --format onnx` (or `saved_model`, `litert`) writes a copy
for serving that takes the same raw pixels.
"""

raw = load_arrays("digits", "test", num_examples=8)
logits = reloaded.predict(raw["images"].astype("float32"), verbose=0)
probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(logits))
predicted = probabilities.argmax(axis=-1)

plt.figure(figsize=(8, 2.2))
for i in range(8):
    plt.subplot(1, 8, i + 1)
    plt.imshow(raw["images"][i])
    plt.title(f"{reloaded.class_names[predicted[i]]} ({probabilities[i].max():.0%})", fontsize=9)
    plt.axis("off")
plt.show()
print("predicted:", predicted.tolist())
print("true:     ", raw["labels"].tolist())

"""
## Training in one call

`keras_nest.training.train` wraps all of the above: it builds the model for the
data set's classes and image size, builds the pipelines and the optimizer from
a recipe, calls `model.fit`, evaluates on the test split and returns a
dictionary of results. Along the way it keeps a *run folder* up to date:

- `last.keras`: model and optimizer state after the latest epoch (for resuming);
- `best.keras`: the epoch with the best validation accuracy, measured on a
  part of the training split held out for this purpose (the test split is
  only used for the final score);
- `state.json`, `history.json` and `history.csv`: progress and per-epoch metrics;
- `training_curves.png`: loss and accuracy plots;
- `tensorboard/`: logs for TensorBoard;
- `saved_model/`: the best model exported as a TensorFlow SavedModel, for serving;
- `result.json`: the returned dictionary.

`epochs`, `batch_size` and `recipe_overrides` adjust the recipe, and
`train_fraction` trains on a stratified share of the training split. An
existing run folder is never overwritten unless `resume=True` asks to continue
it.
"""

run_dir = os.path.join(OUTPUT_DIR, "run")
result = keras_nest.training.train(
    model="nest_nano_16",
    dataset="digits",
    out=run_dir,
    recipe="small",
    epochs=EPOCHS,
    recipe_overrides={"warmup_epochs": 1},
    train_fraction=TRAIN_FRACTION,
    jit_compile="off",
    verbose=2,
)
print(json.dumps(result, indent=2))
print(sorted(os.listdir(run_dir)))

"""
The training curves the run saved:
"""

plt.figure(figsize=(10, 4))
plt.imshow(plt.imread(os.path.join(run_dir, "training_curves.png")))
plt.axis("off")
plt.show()

"""
`keras_nest.training.evaluate` scores a saved model on any split of a data set;
it reads the input size from the model, which (as every model `train` saves)
takes raw pixels and normalises them itself.
"""

best_path = os.path.join(run_dir, "best.keras")
print(keras_nest.training.evaluate(best_path, "digits"))

"""
A saved classifier can also be loaded into a model with a different set of
outputs, for instance a feature pyramid, by giving its path as `weights`:
"""

trained_pyramid = keras_nest.create_model(
    "nest_nano_16",
    num_classes=10,
    feature_pyramid=True,
    include_preprocessing=True,
    pixel_mean=info.mean,
    pixel_std=info.std,
    weights=best_path,
)
maps = trained_pyramid(raw["images"][:1].astype("float32"))
print({key: tuple(value.shape) for key, value in maps.items()})

"""
## From the command line

The `keras-nest` command runs the same `train` function, so everything above
is available without writing Python. Each command prints one JSON line at the
end, which makes it easy to script.

```shell
# The table of models, with parameters and costs.
keras-nest models

# Train nest_nano_16 on digits with the small recipe, into runs/digits.
keras-nest train --model nest_nano_16 --dataset digits --out runs/digits

# Score the best checkpoint of that run on the test split.
keras-nest evaluate --model-path runs/digits/best.keras --dataset digits
```

Every field of the recipe has a flag of the same name, e.g. `--epochs 30`,
`--batch-size 128`, `--base-learning-rate 1e-3` or `--mixup-alpha 0`;
`keras-nest train --help` lists them all. Four flags control how the run
executes rather than what it learns:

- `--strategy` chooses the `tf.distribute` strategy. The default, `auto`, uses
  `MultiWorkerMirroredStrategy` when `TF_CONFIG` describes several workers,
  `MirroredStrategy` when the machine has several GPUs, and the default
  single-device strategy otherwise. `default`, `mirrored` and `multiworker`
  force a choice, and `tpu` (with `--tpu NAME`) connects to a TPU. The batch
  size is global: it is split across the replicas.
- `--jit-compile` is `auto`, `on` or `off`. `auto` compiles with XLA on a
  single device, where it speeds up steps after a compilation delay, and
  leaves the decision to Keras under other strategies. `on` is refused under
  mirrored strategies, where Keras 3 cannot compile the training step with XLA.
- `--precision` is `float32` (default), `mixed_bfloat16` (recent CPUs, TPUs and
  GPUs) or `mixed_float16` (GPUs). Under mixed precision the classification
  head still computes in float32.
- `--resume` continues the run found in `--out` from its last completed epoch,
  with the optimizer state, for instance after an interruption or a
  preemption. Repeat the original command and add `--resume`:

```shell
keras-nest train --model nest_micro_32 --dataset shapes --out runs/shapes
# ... interrupted ...
keras-nest train --model nest_micro_32 --dataset shapes --out runs/shapes --resume
```

Without `--resume`, pointing `--out` at an existing run is an error, so a
finished run is never overwritten by accident.

## Where to go next

- Larger inputs: `nest_micro_32` on the built-in `shapes` data set, or any
  folder of images with `--dataset folder:PATH`.
- Paper-scale models: `nest_tiny_cifar` with the `cifar` recipe on
  `tfds:cifar10`.
- Interpretation: the `feature_pyramid=True` outputs above are the starting
  point for looking at what each level of the hierarchy responds to.
"""
