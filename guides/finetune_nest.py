"""
Title: Fine-tuning a pretrained NesT on your own images
Author: keras_nest authors
Date created: 2026/11/30
Last modified: 2026/11/30
Description: Load NesT ImageNet weights by name, fine-tune them at another size, export.
Accelerator: None
"""

"""
## Introduction

The NesT authors released ImageNet-1k weights for NesT-T, NesT-S and NesT-B;
timm publishes them on the Hugging Face hub as `timm/nest_{tiny,small,base}_jx.goog_in1k`.
`keras_nest` loads them by name, the way `keras.applications` does:

```python
model = keras_nest.create_model("nest_tiny_imagenet", weights="imagenet")
```

The first call downloads `model.safetensors` (68 MB for NesT-T) through
`huggingface_hub` into its usual cache (`~/.cache/huggingface/hub`, or
`HF_HOME` / `HF_HUB_CACHE`), checks its SHA-256 (against the digest the hub
declares for it, and the preset's own once recorded), converts it to the Keras layout
and attaches what the weights expect: ImageNet mean and standard deviation
inside the model (it takes raw `0..255` RGB pixels), the evaluation crop
(resize to 224 / 0.875, bicubic, centre crop) and the 1,000 ImageNet class
names. Later calls, and `HF_HUB_OFFLINE=1`, use the cache.

This guide then does what people want pretrained weights for:

1. look at what the pretrained model predicts, with `keras_nest.decode_predictions`;
2. fine-tune it on a new data set, with new classes and another image size:
   every weight that fits is kept, each level's position embeddings are
   resized per block, only the classification head starts from scratch;
3. try the two fine-tuning options of the `finetune` recipe, layer-wise
   learning-rate decay and a frozen-backbone warm start;
4. export the fine-tuned model so that it serves raw pixels.

Install the hub extra first: `pip install "keras-nest[hub]"`.

When `KERAS_NEST_GUIDE_FAST=1` is set (the test suite does), the guide runs
with no network and on a CPU in about a minute: a small NesT and a local
weights file stand in for NesT-T and its download, and it trains for one epoch
on a slice of the data. Leave it unset to fine-tune the real NesT-T.
"""

import os

os.environ["KERAS_BACKEND"] = "tensorflow"

import json
import shutil

import numpy as np

import keras_nest
from keras_nest.data import load_arrays
from keras_nest.export import export_model, run_exported
from keras_nest.training import get_recipe, train

FAST = os.environ.get("KERAS_NEST_GUIDE_FAST") == "1"
EPOCHS = 1 if FAST else 5
TRAIN_FRACTION = 0.1 if FAST else 1.0
IMAGE_SIZE = 48 if FAST else 64  # the size we fine-tune at, not the weights' 224 (or 32) pixels
JIT = "off" if FAST else "auto"  # XLA compiles for longer than one short epoch runs

# Every file this guide writes goes under this folder, emptied at each run.
OUTPUT_DIR = os.path.join("guides_output", "finetune_nest")
shutil.rmtree(OUTPUT_DIR, ignore_errors=True)
os.makedirs(OUTPUT_DIR)

if FAST:
    # No network here: a small NesT saved with ImageNet's preprocessing stands in for the download.
    MODEL = "nest_micro_32"
    WEIGHTS = os.path.join(OUTPUT_DIR, "stand_in_pretrained.keras")
    keras_nest.create_model(MODEL, include_preprocessing=True, seed=0).save(WEIGHTS)
else:
    MODEL, WEIGHTS = "nest_tiny_imagenet", "imagenet"

"""
## The pretrained model

`weights=` accepts a published name (`"imagenet"`), a hub handle
(`"hf://ORG/REPO"` for a repository's `model.safetensors`, or
`"hf://ORG/REPO/FILE"`), or a local file: a timm checkpoint (`.safetensors`,
`.pth`, `.bin`) or a keras_nest `.keras` / `.weights.h5` file.
"""

pretrained = keras_nest.create_model(MODEL, weights=WEIGHTS)
print("input:", pretrained.input_shape, "raw pixels in:", pretrained.includes_preprocessing)
print("evaluation crop:", pretrained.crop_pct)
print("first class names:", (pretrained.class_names or ())[:5])

"""
The model takes images as they come. Here are a few handwritten digits from
the built-in `digits` set (scikit-learn's, 8x8 pixels), brought to the model's
input size; `decode_predictions` turns the logits into `(class id, name,
probability)` triples, best first, as `keras.applications` does. (ImageNet
has no class for a handwritten digit, so do not expect much; with your own
photos, expect the ImageNet names to fit.)
"""

height, width = pretrained.input_shape[1:3]
images = load_arrays("digits", split="test", image_size=(height, width))["images"][:4]
logits = pretrained.predict(images.astype("float32"), verbose=0)
if pretrained.class_names is not None and len(pretrained.class_names) == 1000:
    for triples in keras_nest.decode_predictions(logits, top=3):
        print(triples)
else:  # the fast mode's stand-in has no ImageNet head
    print(keras_nest.decode_predictions(logits, top=3, class_names=[str(i) for i in range(logits.shape[1])])[0])

"""
## Fine-tuning on a new data set

`create_model(name, weights=..., num_classes=K, input_shape=...)` is the
Keras-style entry point: given a class count other than the weights', the
head is new; every other tensor must fit, and a stem that cannot (another
patch size, or one-channel images for RGB weights) is refused with a message
that names the tensor and what to change.
"""

model = keras_nest.create_model(MODEL, weights=WEIGHTS, num_classes=10, input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3))
level_0 = model.levels[0].position_embedding.embedding
print("level-0 position embeddings, per block:", tuple(pretrained.levels[0].position_embedding.embedding.shape),
      "->", tuple(level_0.shape))

"""
`keras_nest.training.train` runs the whole loop in a run folder (resumable,
TensorBoard logs, `best.keras`). `weights=` loads the weights as above, keeps
their input normalisation (not the new data set's: the pretrained features
expect the inputs they were trained on), and the `finetune` recipe sets a
lower learning rate, a one-epoch warmup and augmentation that keeps whole
objects (no MixUp, CutMix or RandAugment; we also turn off the horizontal
flip: a mirrored digit is not a digit). From the command line:

```bash
keras-nest train --model nest_tiny_imagenet --weights imagenet --dataset folder:PATH --recipe finetune
```
"""

print(get_recipe("finetune"))
result = train(model=MODEL, weights=WEIGHTS, recipe="finetune", dataset="digits", image_size=IMAGE_SIZE,
               epochs=EPOCHS, train_fraction=TRAIN_FRACTION, out=os.path.join(OUTPUT_DIR, "finetune"),
               recipe_overrides={"horizontal_flip": False}, jit_compile=JIT, export=False, verbose=2)
print(json.dumps({key: result[key] for key in ("test_accuracy", "epochs", "train_examples", "wall_seconds")}))

"""
## Layer-wise learning-rate decay and a frozen warm start

Two options of the recipe, off by default:

- `layer_decay=0.75` scales the step of each variable by `0.75 ** (D - d)`,
  where `d` is its depth (0 for the patch embedding, 1 to `D - 1` for the
  transformer blocks, `D` for the final norm and the head): the lower layers,
  which hold the most general features, move least (BEiT, timm).
- `frozen_epochs=1` trains only the new head during the first epoch, so its
  random gradients do not disturb the pretrained backbone.

Both are one `LayerwiseAdamW` optimizer: the schedule, the checkpoints and
resuming are those of any other run.
"""

result_ld = train(model=MODEL, weights=WEIGHTS, recipe="finetune", dataset="digits", image_size=IMAGE_SIZE,
                  epochs=EPOCHS, train_fraction=TRAIN_FRACTION, out=os.path.join(OUTPUT_DIR, "layer_decay"),
                  recipe_overrides={"horizontal_flip": False, "layer_decay": 0.75, "frozen_epochs": 1.0},
                  jit_compile=JIT, export=False, verbose=2)
print(json.dumps({"test_accuracy": result_ld["test_accuracy"], "wall_seconds": result_ld["wall_seconds"]}))

"""
## A model that serves raw pixels

The fine-tuned `best.keras` carries its preprocessing and class names, so an
export of it takes `0..255` pixels and nothing else. Here is a SavedModel,
run with TensorFlow's own loader and compared with Keras on the same pixels
(`format="onnx"` and `"litert"` work the same way with `pip install
"keras-nest[export]"`).
"""

best = keras_nest.models.load_saved_model(os.path.join(result["out"], "best.keras"))
served = export_model(best, os.path.join(OUTPUT_DIR, "saved_model"), "saved_model")
pixels = load_arrays("digits", split="test", image_size=(IMAGE_SIZE, IMAGE_SIZE))["images"][:8]
pixels = pixels.astype("float32")
difference = np.abs(run_exported(served, pixels) - best.predict(pixels, verbose=0)).max()
print(f"SavedModel vs Keras, max |difference| in logits: {difference:.2e}")
print("classes:", best.class_names)

"""
## Where to go next

- Your own photos: `dataset="folder:PATH"` (one sub-folder per class) streams
  them from disk with ImageNet-style crops (see the README).
- `keras-nest predict photo.jpg --model nest_tiny_imagenet --weights imagenet`
  prints ImageNet class names for any image; `--model-path best.keras` the
  fine-tuned model's own.
- The README's transfer table measures what pretraining buys on a small data
  set, for NesT and for a ViT of the same size.
"""
