"""Feature extractors for Fréchet and kernel distances, all offline.

* `classifier_extractor(dataset, image_size)`: a small CNN classifier
  trained (seeded) on the data set's own training split; its 128-d
  penultimate layer is the feature space. Distances in it are reported as
  `FD-<dataset>-cnn` / `KD-<dataset>-cnn`, never as FID. The trained network
  is cached on disk (see `keras_nest.data.cache`).
* `inception_extractor(weights_path)`: InceptionV3's 2048-d pool features
  from weights the user supplies as a local file; only this one is "FID".
  (These are Keras' ImageNet weights, not the 2015 TF graph that published
  FIDs used, so values are close to but not comparable with papers'.)

Extractors read images in [-1, 1], the generators' output range.
"""

import dataclasses
import os

import keras
import numpy as np

from keras_nest.data import dataset_info, dataset_slug, held_out_split, load_arrays, real_images
from keras_nest.data.cache import cache_root
from keras_nest.data.images import to_signed_unit
from keras_nest.errors import InvalidValueError
from keras_nest.io_utils import atomic_write, read_json, write_json
from keras_nest.metrics.frechet import frechet_distance
from keras_nest.metrics.kernel import kernel_distance
from keras_nest.metrics.manifold import density_coverage, precision_recall

EXTRACTOR_VERSION = 1


@dataclasses.dataclass
class FeatureExtractor:
    """A named feature model: `features(images)` maps `(N, H, W, C)` in [-1, 1] to `(N, D)`.

    `classifier`, where the features come from a classifier of the data
    set, maps the same images to class logits (`predict_classes`).
    """

    name: str
    model: keras.Model
    image_size: int
    info: dict = dataclasses.field(default_factory=dict)
    classifier: keras.Model = None

    def features(self, images, batch_size=256):
        return self._apply(self.model, images, batch_size).astype(np.float64)

    def predict_classes(self, images, batch_size=256):
        """`(N,)` int class of each image, by the data set's classifier."""
        if self.classifier is None:
            raise InvalidValueError(f"The {self.name} extractor has no classifier of the data set's classes; "
                                    "use classifier_extractor(dataset, image_size).")
        return self._apply(self.classifier, images, batch_size).argmax(axis=-1)

    def _apply(self, model, images, batch_size):
        images = np.asarray(images, np.float32)
        if images.shape[1:3] != (self.image_size, self.image_size):
            images = keras.ops.convert_to_numpy(
                keras.ops.image.resize(images, (self.image_size, self.image_size), interpolation="bilinear"))
        return np.concatenate([keras.ops.convert_to_numpy(model(images[i:i + batch_size], training=False))
                               for i in range(0, len(images), batch_size)])


def _cnn(image_size, channels, num_classes):
    inputs = keras.Input((image_size, image_size, channels))
    x = inputs
    for filters, stride in ((32, 1), (32, 2), (64, 1), (64, 2), (128, 1)):
        x = keras.layers.Conv2D(filters, 3, strides=stride, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    features = keras.layers.Dense(128, activation="relu", name="features")(x)
    logits = keras.layers.Dense(num_classes, name="logits")(features)
    return keras.Model(inputs, logits)


def classifier_extractor(dataset, image_size, channels=3, seed=0, epochs=8, cache_dir=None, verbose=0):
    """The `<dataset>-cnn` extractor, trained on first use and cached.

    Args:
        dataset: a `keras_nest.data` name with labels (e.g. `"shapes"`).
        image_size: side of the images it reads.
        channels: 3 for RGB generators.
        seed, epochs: training of the classifier (Adam 1e-3, batch 64).
        cache_dir: where to keep the trained network (default: the
            keras_nest cache; `False` disables caching).

    Returns:
        A `FeatureExtractor` whose `info` holds the classifier's test accuracy.
    """
    label = f"{dataset}-cnn"
    key = f"extractor-v{EXTRACTOR_VERSION}-{dataset_slug(dataset)}-s{image_size}-c{channels}-seed{seed}-e{epochs}"
    root = cache_root(cache_dir)
    path = None if root is None else os.path.join(root, f"{key}.keras")
    if path and os.path.exists(path):
        model = keras.saving.load_model(path, compile=False)
        info = read_json(path + ".json", {})
    else:
        keras.utils.set_random_seed(seed)
        meta = dataset_info(dataset)
        (x, y), (x_test, y_test) = (
            (to_signed_unit(arrays["images"]), arrays["labels"])
            for arrays in (load_arrays(dataset, split, image_size=(image_size, image_size), channels=channels)
                           for split in ("train", held_out_split(dataset)))
        )
        model = _cnn(image_size, channels, meta.num_classes)
        model.compile(keras.optimizers.Adam(1e-3),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        model.fit(x, y, batch_size=64, epochs=epochs, shuffle=True, verbose=verbose)
        info = {"test_accuracy": float(model.evaluate(x_test, y_test, verbose=0)[1]), "epochs": epochs,
                "seed": seed, "train_examples": int(len(x))}
        if path:
            atomic_write(path, model.save)
            write_json(path + ".json", info)
    features = keras.Model(model.inputs[0], model.get_layer("features").output)
    return FeatureExtractor(label, features, image_size, info, classifier=model)


def inception_extractor(weights_path):
    """InceptionV3 pool features from a local weights file (`include_top=False`, `.h5`)."""
    if not os.path.exists(weights_path):
        raise FileNotFoundError(
            f"No InceptionV3 weights at {weights_path!r}. Download the Keras ImageNet 'notop' weights "
            "once on a machine with internet and pass the file; keras_nest never downloads at run time.")
    model = keras.applications.InceptionV3(include_top=False, pooling="avg", weights=weights_path,
                                           input_shape=(299, 299, 3))
    return FeatureExtractor("inception", model, 299)


def generator_distances(generator, real, extractor, num_samples=2000, seed=0, batch_size=250,
                        kid_subsets=50, kid_subset_size=1000):
    """Fidelity and diversity of `num_samples` generated images against `real` ones, in `extractor`'s space.

    Returns a dict: `FD-<name>`, `KD-<name>` and `KD-<name>-std` (`FID` /
    `KID` for the Inception extractor); `precision`, `recall` (k = 3),
    `density` and `coverage` (k = 5) in the same space
    (`keras_nest.metrics.manifold`); and, when the extractor classifies the
    data set, the samples' class histogram: `class_counts` (per class, in
    class order), `classes_covered` (classes with at least one sample) and
    `largest_class_share` (in [0, 1]).
    """
    real_features = extractor.features(real)
    fake = generate_samples(generator, num_samples, seed, batch_size)
    fake_features = extractor.features(fake)
    fd_name, kd_name = ("FID", "KID") if extractor.name == "inception" else (f"FD-{extractor.name}",
                                                                              f"KD-{extractor.name}")
    kd, kd_std = kernel_distance(real_features, fake_features, num_subsets=kid_subsets,
                                 subset_size=kid_subset_size, return_std=True)
    scores = {fd_name: frechet_distance(real_features, fake_features), kd_name: kd, f"{kd_name}-std": kd_std,
              **precision_recall(real_features, fake_features), **density_coverage(real_features, fake_features)}
    if extractor.classifier is not None:
        scores.update(class_histogram(extractor.predict_classes(fake), extractor.classifier.output_shape[-1]))
    return scores


def generate_samples(generator, num_samples, seed=0, batch_size=250):
    """`(num_samples, H, W, C)` numpy images in [-1, 1] from `generator`, its noise drawn with `seed`."""
    fake = []
    for start in range(0, int(num_samples), batch_size):
        count = min(batch_size, int(num_samples) - start)
        noise = keras.random.normal((count, generator.input_shape[-1]), seed=seed + start)
        fake.append(keras.ops.convert_to_numpy(generator(noise, training=False)))
    return np.concatenate(fake)


def class_histogram(classes, num_classes):
    """`class_counts`, `classes_covered` and `largest_class_share` of an `(N,)` array of class indices.

    Example:

    >>> class_histogram(np.array([0, 0, 0, 2]), 3)
    {'class_counts': [3, 0, 1], 'classes_covered': 2, 'largest_class_share': 0.75}
    """
    counts = np.bincount(np.asarray(classes, np.int64), minlength=num_classes)
    return {"class_counts": counts.tolist(), "classes_covered": int((counts > 0).sum()),
            "largest_class_share": float(counts.max() / counts.sum())}


def score_generator(generator, dataset, num_samples=1000, seed=0):
    """`generator_distances` against `dataset`'s held-out images, in its `<dataset>-cnn` space.

    Adds `extractor_test_accuracy`, the accuracy of the classifier that
    gives the features and judges the samples' classes.
    """
    channels = generator.output_shape[-1]
    extractor = classifier_extractor(dataset, generator.image_size, channels)
    real = real_images(dataset, generator.image_size, channels, split=held_out_split(dataset))
    scores = generator_distances(generator, real, extractor, num_samples=num_samples, seed=seed)
    return dict(scores, extractor_test_accuracy=extractor.info.get("test_accuracy"))
