"""The recipe's data augmentation, as a `tf.data` map over batches of raw pixels.

Batches hold raw pixels (float32 in `0..255`; the model normalises inside).
Order follows the official pipeline: flip and RandAugment act on pixel
values in [0, 1], random erasing on normalised images (noise fill, like the
official N(0, 1) fill, so it is normalised with the model's mean and std
around it), and then one of MixUp or CutMix, drawn per batch, mixes images
and one-hot labels.
"""

import keras
import tensorflow as tf


def make_augmenter(recipe, mean, std, seed=0):
    """Returns `augment(images, labels) -> (images, labels)` or `None`.

    `images` are NHWC float batches of raw pixels in `0..255`, `labels`
    one-hot; `mean` and `std` (`[0, 1]` pixel units) are the model's
    normalisation, which random erasing's noise is drawn in. `None` when the
    recipe asks for no augmentation at all.
    """
    mean = tf.constant(mean, tf.float32)
    std = tf.constant(std, tf.float32)
    pixel_ops = []
    if recipe.horizontal_flip:
        pixel_ops.append(keras.layers.RandomFlip("horizontal", seed=seed))
    if recipe.randaugment_ops:
        pixel_ops.append(
            keras.layers.RandAugment(
                value_range=(0, 1),
                num_ops=recipe.randaugment_ops,
                factor=recipe.randaugment_magnitude / 10.0,
                seed=seed + 1,
            )
        )
    erasing = None
    if recipe.random_erasing:
        p = recipe.random_erasing
        erasing = keras.layers.RandomErasing(factor=(p, p), value_range=(-3, 3), seed=seed + 2)
    mixers = []
    if recipe.mixup_alpha:
        mixers.append(keras.layers.MixUp(alpha=recipe.mixup_alpha, seed=seed + 3))
    if recipe.cutmix_alpha:
        mixers.append(keras.layers.CutMix(factor=recipe.cutmix_alpha, seed=seed + 4))
    if not (pixel_ops or erasing or mixers):
        return None
    generator = tf.random.Generator.from_seed(seed + 5)

    def augment(images, labels):
        if pixel_ops:
            pixels = tf.clip_by_value(images / 255.0, 0.0, 1.0)
            for op in pixel_ops:
                pixels = op(pixels, training=True)
            images = pixels * 255.0
        if erasing is not None:
            normalised = erasing((images / 255.0 - mean) / std, training=True)
            images = (normalised * std + mean) * 255.0
        if mixers:
            batch = {"images": images, "labels": labels}
            if len(mixers) == 1:
                batch = mixers[0](batch, training=True)
            else:  # one of the two per batch, as the official pipeline does
                batch = tf.cond(
                    generator.uniform(()) < 0.5,
                    lambda: mixers[0](batch, training=True),
                    lambda: mixers[1](batch, training=True),
                )
            images, labels = batch["images"], batch["labels"]
        return tf.cast(images, tf.float32), tf.cast(labels, tf.float32)

    return augment
