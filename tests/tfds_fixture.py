"""A tiny TFDS image-classification set, prepared by tensorflow-datasets itself.

`prepare(data_dir)` writes `keras_nest_tiny/1.0.0/` (dataset_info.json,
features.json, TFRecord shards of JPEG-encoded images) the way `tfds build`
lays out any prepared set, with nothing downloaded. Readers in another
process need only the folder, as with a real prepared set.
"""

import numpy as np
import tensorflow_datasets as tfds

NAME = "keras_nest_tiny"
CLASSES = ("ant", "bee", "wasp")
COUNTS = {"train": 40, "test": 12}


def _image(rng, index, label):
    height, width = 20 + (index % 4) * 6, 24 + (index % 3) * 5  # sizes vary, as in ImageNet
    image = np.full((height, width, 3), 60 * (label + 1), np.uint8)
    image[:, : width // 2] = rng.integers(0, 256, (height, width // 2, 3), dtype=np.uint8)
    return image


class KerasNestTiny(tfds.core.GeneratorBasedBuilder):
    """Images of 3 classes at varied sizes (JPEG-encoded, as ImageNet's)."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(None, None, 3), encoding_format="jpeg"),
                "label": tfds.features.ClassLabel(names=list(CLASSES)),
            }),
            supervised_keys=("image", "label"),
        )

    def _split_generators(self, dl_manager):
        return {split: self._generate_examples(split, count) for split, count in COUNTS.items()}

    def _generate_examples(self, split, count):
        rng = np.random.default_rng(0 if split == "train" else 1)
        for index in range(count):
            label = index % len(CLASSES)
            yield f"{split}_{index}", {"image": _image(rng, index, label), "label": label}


def prepare(data_dir):
    """Prepares the set under `data_dir` (a no-op when already there); returns `data_dir`."""
    KerasNestTiny(data_dir=str(data_dir)).download_and_prepare()
    return str(data_dir)
