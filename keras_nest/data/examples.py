"""`Examples`: one split's examples, in memory or as files, behind one interface.

Training selects examples by label (stratified hold-outs, fractions) before
any pixel is read, then asks for a `tf.data` pipeline. In-memory sources
(`digits`, `shapes`, `cluttered_digits`, arrays) are `ArrayExamples`;
`folder:` and `tfds:` are `StreamedExamples`, whose images are only decoded
by the pipeline.
"""

import dataclasses

import numpy as np

from keras_nest.data.pipeline import make_dataset
from keras_nest.data.streaming import SkippedFiles, file_dataset
from keras_nest.data.transforms import ImageTransform


@dataclasses.dataclass(frozen=True)
class ArrayExamples:
    """Decoded images `(N, H, W, C)` (uint8, or float in `[0, 1]`) and int labels `(N,)`."""

    images: np.ndarray
    labels: np.ndarray

    streamed = False

    def __len__(self):
        return len(self.labels)

    def subset(self, indices):
        """The examples at `indices` (int positions), in that order."""
        return ArrayExamples(self.images[indices], self.labels[indices])

    def shard(self, count, index):  # in-memory data is sharded by element, by tf.distribute
        return self

    def dataset(self, num_classes, batch_size, training=False, seed=0, epochs=None, drop_remainder=False,
                mean=None, std=None):
        """`make_dataset` (raw pixels unless `mean` and `std` are given); `epochs=(first, stop)` as there."""
        return make_dataset(self.images, self.labels, num_classes, mean=mean, std=std, batch_size=batch_size,
                            training=training, seed=seed, drop_remainder=drop_remainder, epochs=epochs)


@dataclasses.dataclass(frozen=True)
class StreamedExamples:
    """Image files (a `FileList`) or TFDS records (`TfdsRecords`) with labels, decoded on the fly
    (`keras_nest.data.streaming`)."""

    files: object
    transform: ImageTransform
    skipped: SkippedFiles = dataclasses.field(default_factory=SkippedFiles)

    streamed = True

    def __len__(self):
        return len(self.files)

    @property
    def labels(self):
        """int64 `(N,)` labels, known without reading an image."""
        return self.files.labels

    def subset(self, indices):
        """The examples at `indices` (int positions), sharing this skip counter."""
        return dataclasses.replace(self, files=self.files.subset(indices))

    def shard(self, count, index):
        """One worker's files under multi-worker training: sharded by file, not by decoded image."""
        return dataclasses.replace(self, files=self.files.shard(count, index))

    def dataset(self, num_classes, batch_size, training=False, seed=0, epochs=None, drop_remainder=False,
                mean=None, std=None):
        """`file_dataset` (raw pixels unless `mean` and `std` are given); with `epochs=(first, stop)` an
        endless stream from `first`."""
        return file_dataset(self.files, num_classes, self.transform, batch_size=batch_size, training=training,
                            seed=seed, first_epoch=None if epochs is None else epochs[0],
                            drop_remainder=drop_remainder, mean=mean, std=std, skipped=self.skipped)
