"""
Title: Interpreting NesT: class attention maps, GradCAT and localization
Author: keras_nest authors
Date created: 2026/11/27
Last modified: 2026/11/30
Description: Explain NesT predictions with class maps and GradCAT, and localize objects from labels alone.
Accelerator: None
"""

"""
## Introduction

A NesT classifier ends with a single block whose tokens still form a grid over
the image, and its head only normalises those tokens, averages them and applies
a dense layer. Two kinds of explanation follow directly from that design:

- **Class attention maps (CAM).** Because the average comes *before* the dense
  layer, each top-level token's dot product with the class weights is exactly
  its share of the class logit. Upsampled to the image, these shares show where
  the top level *keeps* the evidence for a class; as we will see, that is not
  always where the object is, and the library's default class map is a
  gradient map of the levels below the top.
- **GradCAT.** The levels form a tree: the top block has four children (the
  blocks that were merged into it), each of which has four children, and so on.
  GradCAT walks this tree from the root to one leaf block, at each step
  following the child that contributes most to the class according to the
  gradient of the class logit.

Neither needs boxes or masks to train: the model only ever saw class labels.
This guide trains a small NesT on the built-in `shapes` data set (one object
per image, on a cluttered background, with its true box and mask kept aside),
explains some predictions, and measures how well the maps *localize* the object
with the standard weakly-supervised localization metrics.

When `KERAS_NEST_GUIDE_FAST=1` is set (as the test suite does), the guide
trains for one epoch on a slice of the data; the numbers it prints are then
meaningless, but every step runs.
"""

"""
## Setup
"""

import os

os.environ["KERAS_BACKEND"] = "tensorflow"

import shutil

import keras
import matplotlib.pyplot as plt
import numpy as np

import keras_nest
from keras_nest import explain
from keras_nest.data import dataset_info, load_arrays
from keras_nest.training import train

FAST = os.environ.get("KERAS_NEST_GUIDE_FAST") == "1"
EPOCHS = 1 if FAST else 15
TRAIN_FRACTION = 0.05 if FAST else 1.0
EVAL_EXAMPLES = 16 if FAST else 500

OUTPUT_DIR = os.path.join("guides_output", "interpret_nest")
shutil.rmtree(OUTPUT_DIR, ignore_errors=True)
os.makedirs(OUTPUT_DIR)

"""
## A NesT whose top level keeps an 8x8 map

The resolution of a class attention map is the token grid of the top level.
`nest_micro_64` reads 64x64 images in 2x2-pixel patches (a 32x32 token plane)
through three levels, so the top block holds 8x8 tokens, each covering 8x8
pixels.
"""

model = keras_nest.create_model("nest_micro_64", num_classes=7)
for level, layout in enumerate(model.geometry):
    print(f"level {level}: {layout.grid_size} blocks of {layout.block_size} tokens")

"""
## Training on `shapes`

`shapes` is generated on the fly (nothing to download): seven shape classes at
random positions, sizes, rotations and colours, with distracting marks. We
train with the library's `small` recipe; `train` returns a summary and leaves
`best.keras` in the run folder. This took 14 minutes on two shared CPU cores
(88% test accuracy; one epoch, a few seconds, in the fast mode). The same
works on `cluttered_digits`, real handwritten digits pasted into clutter.
"""

run_dir = os.path.join(OUTPUT_DIR, "run")
result = train(model="nest_micro_64", dataset="shapes", out=run_dir, epochs=EPOCHS,
               train_fraction=TRAIN_FRACTION, tensorboard=False, export=False, verbose=2)
print({k: result[k] for k in ("test_accuracy", "epochs", "wall_seconds")})
model = keras.saving.load_model(os.path.join(run_dir, "best.keras"), compile=False)

"""
## Model inputs

The explanation functions take *model inputs*: images at the model's size,
normalised with the data set's mean and standard deviation, as in training.
`explain.prepare_images` makes them from raw images (uint8 or floats in [0, 1];
other sizes are resized with a warning).
"""

info = dataset_info("shapes")
test = load_arrays("shapes", "test", image_size=(64, 64), num_examples=8)
inputs = explain.prepare_images(test["images"], model, info.mean, info.std)
print(inputs.shape, inputs.dtype)

"""
## Class maps

`class_attention_map` returns maps in [0, 1] at the input resolution, the raw
values on a token grid, the class explained (the predicted one unless you pass
`class_index`) and the logits. Its `method` chooses the map:

- `"head"`: the exact CAM of the trained head on the top level's 8x8 tokens;
  in logit units, its mean *is* the class logit.
- `"rollout"`: the head's CAM moved back along the top level's attention to
  the tokens each top-level token read from; it still averages to the logit.
- `"gradient"` (the default): how strongly the class logit responds to each
  token of every level below the top, where tokens still hold their own place.
  It is the map GradCAT walks.
"""

head = explain.class_attention_map(model, inputs, method="head")
print("head CAM token grid:", head.token_maps.shape[1:])
print("mean of the head's token map == logit:",
      np.allclose(head.token_maps.mean((1, 2)), head.logits[np.arange(len(inputs)), head.class_index],
                  atol=1e-4))
cam = explain.class_attention_map(model, inputs)  # method="gradient"
print("gradient map token plane:", cam.token_maps.shape[1:])

fig, axes = plt.subplots(3, 4, figsize=(12, 9))
for row, method in enumerate(("gradient", "rollout", "head")):
    maps = cam if method == "gradient" else explain.class_attention_map(model, inputs[:4], method=method)
    for ax, image, heatmap, c in zip(axes[row], test["images"], maps.maps, maps.class_index):
        explain.plot_cam(ax, image / 255.0, heatmap, f"{method}: {info.class_names[c]}")
fig.tight_layout()
fig.savefig(os.path.join(OUTPUT_DIR, "class_maps.png"))

"""
On our trained models the head's CAM is mostly a sharp *negative* of the
object: attention inside the hierarchy moves class evidence into the
background tokens around it, so the object's own tokens often score lowest.
Flipping the sign does not fix it: which tokens hold the evidence depends on
the class. `benchmarks/cam_study.py` measures this against training length,
the final LayerNorm, the sign convention and the recipe; the README gives the
table. The gradient map does not depend on where the evidence is stored, only
on where the logit can be changed, and it localizes best of the maps tried.

Grad-CAM works at any level (`level=0` is the finest).
"""

fine = explain.grad_cam(model, inputs, level=0)
print("level-0 Grad-CAM token plane:", fine.token_maps.shape[1:])

"""
## GradCAT: a path through the block tree

`gradcat` explains one image. Its `path` lists `(level, block, box)` from the
root (the whole image) to the chosen level-0 block; `score_maps` holds every
block's score per level.
"""

path = explain.gradcat(model, inputs[0])
for level, block, box in path.path:
    print(f"level {level}: block {block}, pixels {box}")
print("object box:", test["boxes"][0].tolist())

"""
`explain_figure` draws it all for one raw image: the GradCAT path as nested
boxes, the class map overlay (`cam_method=` picks another) and the top
classes. The command line does the same with
`keras-nest explain image IMAGE --model-path best.keras --out explain.png`
(`--cam-method head` for the head's CAM).
"""

figure = explain.explain_figure(model, test["images"][0], info.mean, info.std, info.class_names)
figure.savefig(os.path.join(OUTPUT_DIR, "explain.png"))

"""
## Weakly-supervised localization

How well do the maps find the object? `explain.localization` implements the
metrics of Choe et al. (CVPR 2020): boxes are cut from a map at a threshold
(`tau`), and MaxBoxAccV2 is the best box accuracy over thresholds, averaged
over IoU thresholds 0.3, 0.5 and 0.7; PxAP scores the map's pixels against the
object's mask. `evaluate_localization` computes them for NesT's GradCAT map
(the default class map), the rollout and head CAMs, and for a *centre
baseline* that always bets on the middle of the image, which any useful map
must beat. Pass a trained ViT as `vit_model` to add
its CAM and attention rollout.
"""

table = explain.evaluate_localization(model, "shapes", num_examples=EVAL_EXAMPLES)
print(f"{'method':<18}{'MaxBoxAccV2':>12}{'GT-known':>10}{'PxAP':>8}")
for name, scores in table["methods"].items():
    print(f"{name:<18}{scores['max_box_acc_v2']:>12.3f}{scores['gt_known_loc']:>10.3f}"
          f"{scores['pxap']:>8.3f}")
print("GradCAT leaf on the object:", table["gradcat_leaf"])

"""
The metrics also work on your own maps: any `(N, H, W)` array in [0, 1] with
boxes as `(x0, y0, x1, y1)` pixels.
"""

print(explain.localization.max_box_acc_v2(cam.maps, test["boxes"]))

"""
## Where to go next

- `benchmarks/localization.py` trains NesT and its size-matched ViT and
  writes the full table and example pictures (`--dataset cluttered_digits`
  for the real-digit set); `benchmarks/cam_study.py` is the study of why the
  head's CAM is inverted.
- `keras-nest explain evaluate --model-path runs/X/best.keras --dataset shapes`
  prints the same table as JSON.
"""
