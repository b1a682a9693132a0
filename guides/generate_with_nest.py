"""
Title: Generating images with a NesT generator
Author: keras_nest authors
Date created: 2026/11/27
Last modified: 2026/11/27
Description: Run NesT's hierarchy in reverse to generate images, train it as a GAN and score it.
Accelerator: None
"""

"""
## Introduction

NesT's classifier reads an image as a grid of small blocks and merges 2x2
groups of blocks level by level until one block is left. Run the other way,
the same hierarchy is an image generator: a noise vector becomes one block of
tokens, transformer layers work inside that block, and *block de-aggregation*
splits every block into four (the tokens go back onto the image plane, a
pixel shuffle doubles its size, and the plane is cut into blocks again). After
a few levels the tokens are pixels.

This guide:

1. builds a NesT generator and its size-matched SAGAN baseline;
2. trains the NesT generator adversarially with `model.fit` against a
   SAGAN-style discriminator, using `keras_nest.gan.GAN`;
3. scores samples with a Fréchet distance and a kernel distance in the feature
   space of a small classifier trained on the same data (offline, so it is
   *not* called FID).

With `KERAS_NEST_GUIDE_FAST=1` (as the test suite runs it) everything is
tiny and the numbers mean nothing; unset, it trains the 16-pixel models on
digits for a few minutes on a laptop CPU.
"""

"""
## Setup
"""

import os

os.environ["KERAS_BACKEND"] = "tensorflow"

import shutil

import keras
import numpy as np

import keras_nest
from keras_nest.data import real_images
from keras_nest.gan import GAN
from keras_nest.gan.grids import save_grid
from keras_nest.gan.training import train_gan
from keras_nest.metrics import classifier_extractor, frechet_distance, generator_distances

FAST = os.environ.get("KERAS_NEST_GUIDE_FAST") == "1"
STEPS = 20 if FAST else 1500
SAMPLES = 200 if FAST else 2000

OUTPUT_DIR = os.path.join("guides_output", "generate_with_nest")
shutil.rmtree(OUTPUT_DIR, ignore_errors=True)
os.makedirs(OUTPUT_DIR)
keras.utils.set_random_seed(0)

"""
## The generators

`keras_nest.list_generators()` names the NesT generators (`nest_gan_*`) and
SAGAN baselines of matching capacity (`sagan_*`). Each generator maps
`(batch, latent_dim)` noise to `(batch, size, size, 3)` images in [-1, 1].
"""

print(keras_nest.list_generators())
generator = keras_nest.create_generator("nest_gan_tiny")
baseline = keras_nest.create_generator("sagan_tiny")
print(f"NesT generator: {generator.count_params():,} parameters; SAGAN: {baseline.count_params():,}")
generator.summary()

"""
The image side must be reachable: block side x 2^(levels - 1) x pixels per
token. Asking for another size is a clear error, not a shape mismatch deep in
the graph:
"""

try:
    keras_nest.create_generator("nest_gan_32", image_size=48)
except ValueError as error:
    print(error)

"""
## Adversarial training with `model.fit`

`GAN(generator, discriminator)` is a `keras.Model` whose `train_step` updates
the discriminator and then the generator. Its defaults follow SAGAN: hinge
loss and the two-time-scale rule (Adam with beta_1 = 0, learning rates 1e-4
for G and 4e-4 for D). `ema_decay` keeps a moving average of the generator,
and `ema_warmup=True` caps its decay at `(1 + t) / (10 + t)` after t updates
so the average forgets the random start (`train_gan` does this by default:
with 0.999 alone, a fifth of the average is still the random start after
1,500 steps); `diffaugment` augments every image the discriminator sees.
"""

discriminator = keras_nest.create_discriminator(16)
gan = GAN(generator, discriminator, ema_decay=0.999, ema_warmup=True, diffaugment="translation")
gan.compile(loss="hinge")
digits = real_images("digits", 16)  # the training split, scaled to [-1, 1]
history = gan.fit(digits, batch_size=32, epochs=1, steps_per_epoch=min(STEPS, len(digits) // 32), verbose=2)
save_grid(keras.ops.convert_to_numpy(gan.sample(16)), os.path.join(OUTPUT_DIR, "fit_samples.png"))

"""
For real runs, `train_gan` (and `keras-nest gan train`) adds a run folder:
atomic checkpoints of the whole GAN with both optimizers (so `resume=True`
continues where it stopped), `generator.keras`, a grid of samples from fixed
noise every `checkpoint_every` steps, and a stop with the last good
checkpoint kept if a loss becomes NaN.
"""

run = os.path.join(OUTPUT_DIR, "run")
result = train_gan("nest_gan_tiny", "digits", steps=STEPS, batch_size=32, out=run,
                   checkpoint_every=STEPS // 4 if not FAST else 10, verbose=0)
print(result)
print(sorted(os.listdir(os.path.join(run, "samples"))))

"""
## Scoring samples offline

FID needs InceptionV3 weights that cannot be downloaded here, so
`keras_nest.metrics` trains a small CNN classifier on the same data set
(seeded, cached on disk) and measures distances in its 128-d feature space:
the Fréchet distance `FD-digits-cnn` and the unbiased kernel distance
`KD-digits-cnn`. Real training images against real test images give the
floor any generator is compared with. (With InceptionV3 weights in a local
file, `keras_nest.metrics.inception_extractor(path)` gives real FID.)

A low FD can hide a generator that draws a few digits well, so the scores
also keep fidelity and diversity apart: `precision` (the share of samples
that fall among real images' nearest neighbours) and `recall` (the share of
real images that fall among the samples'), `density` and `coverage` (the
share of real images with a sample nearby), all in the same feature space,
and the class histogram of the samples by the same classifier: how many of
the 10 digits appear, and the largest share.
"""

extractor = classifier_extractor("digits", 16, epochs=2 if FAST else 8)
print(extractor.name, extractor.info)
test = real_images("digits", 16, split="test")
floor = frechet_distance(extractor.features(digits), extractor.features(test))
trained = keras.saving.load_model(result["generator_path"], compile=False)
scores = generator_distances(trained, test, extractor, num_samples=SAMPLES, kid_subset_size=300)
print(f"real vs real FD: {floor:.2f}")
print(scores)
print(f"digits drawn: {scores['classes_covered']} of 10, largest share {scores['largest_class_share']:.0%}")

"""
## Samples from the command line

```shell
keras-nest gan train --generator nest_gan_32 --dataset shapes --steps 2000 --out runs/gan32
keras-nest gan sample --model-path runs/gan32/generator.keras --n 64 --out grid.png
```

`benchmarks/gan_convergence.py` trains the NesT generator and the SAGAN
baseline side by side and plots FD, KD, recall and coverage against steps;
`benchmarks/gan_diversity.py` compares changes to the recipe by the same scores.
"""

images = keras.ops.convert_to_numpy(trained(keras.random.normal((64, trained.latent_dim), seed=0)))
save_grid(images, os.path.join(OUTPUT_DIR, "grid.png"))
print("pixel range:", float(np.min(images)), float(np.max(images)))
