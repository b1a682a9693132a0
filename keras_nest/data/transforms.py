"""Decoding and resizing image files inside `tf.data`: the ImageNet-style crops.

For images read from files, whose sizes vary (`folder:` sources), as the
official NesT input pipeline does it (nest-official-reference §3.2):

- training: a random crop covering `train_crop_min_area .. 1` of the image
  with aspect ratio in `[3/4, 4/3]`
  (`tf.image.stateless_sample_distorted_bounding_box`), resized bilinearly
  to the model's size (flip and the rest of the augmentation follow on the
  batch, `keras_nest.training.augment`);
- evaluation: the short side resized bicubically to `size / crop_pct`,
  then the centre `size` crop (timm's `crop_pct` 0.875 for ImageNet).

With `train_crop_min_area=1` and `crop_pct=1` (the `small` and `cifar`
recipes) both are the plain antialiased bilinear resize of
`keras_nest.data.images.resize_images`, so streamed and in-memory images
are the same pixels. Every function returns uint8 `(H, W, C)`.
"""

import dataclasses

import tensorflow as tf

from keras_nest.validation import check_choice, check_float, check_int

LUMA = (0.299, 0.587, 0.114)  # RGB -> gray weights (ITU-R BT.601)
# First bytes of the formats `tf.io.decode_image` reads.
_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"BM")


@dataclasses.dataclass(frozen=True)
class ImageTransform:
    """How a file becomes a model-sized image.

    Attributes:
        size: `(height, width)` of the output.
        channels: 3 (grayscale is replicated, alpha dropped) or 1.
        train_crop_min_area: smallest area fraction of the random training
            crop, in `(0, 1]`; 1 resizes the whole image.
        crop_pct: evaluation centre crop as a fraction of the resized short
            side, in `(0, 1]`; 1 resizes the whole image.
    """

    size: tuple
    channels: int = 3
    train_crop_min_area: float = 1.0
    crop_pct: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "size", tuple(check_int("image_size", s, minimum=1) for s in self.size))
        object.__setattr__(self, "channels", check_choice("channels", self.channels, (1, 3)))
        object.__setattr__(self, "train_crop_min_area", check_float(
            "train_crop_min_area", self.train_crop_min_area, 0.0, 1.0, min_inclusive=False))
        object.__setattr__(self, "crop_pct", check_float("crop_pct", self.crop_pct, 0.0, 1.0, min_inclusive=False))


def looks_like_image(encoded):
    """A scalar bool tensor: the bytes start like a JPEG, PNG, GIF or BMP file (an empty file does not)."""
    head = tf.strings.substr(encoded, 0, 4)
    return tf.reduce_any([tf.strings.substr(head, 0, len(s)) == s for s in _SIGNATURES])


def decode(encoded, channels):
    """uint8 `(h, w, channels)` from any JPEG, PNG, GIF (first frame) or BMP.

    Decoded as RGB (grayscale replicated, alpha dropped), then for
    `channels=1` reduced to luma (`LUMA`, rounded): TensorFlow cannot decode
    a GIF straight to one channel.
    """
    image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    if channels == 1:
        gray = tf.tensordot(tf.cast(image, tf.float32), tf.constant(LUMA), axes=1)[..., None]
        image = tf.cast(tf.clip_by_value(tf.round(gray), 0.0, 255.0), tf.uint8)
    return image


def resize(image, size, method="bilinear", antialias=True):
    """`image` resized to `size`, rounded back to uint8 (as `resize_images`)."""
    x = tf.image.resize(tf.cast(image, tf.float32), size, method=method, antialias=antialias)
    return tf.cast(tf.clip_by_value(tf.round(x), 0.0, 255.0), tf.uint8)


def train_image(image, transform, seed):
    """The training crop of a decoded image; `seed` is a `[2]` int tensor (stateless, so reproducible)."""
    if transform.train_crop_min_area >= 1.0:
        return _fixed(resize(image, transform.size), transform)
    begin, extent, _ = tf.image.stateless_sample_distorted_bounding_box(
        tf.shape(image), bounding_boxes=tf.zeros([1, 0, 4]), seed=seed, min_object_covered=0.0,
        aspect_ratio_range=(3 / 4, 4 / 3), area_range=(transform.train_crop_min_area, 1.0), max_attempts=10,
        use_image_if_no_bounding_boxes=True)
    return _fixed(resize(tf.slice(image, begin, extent), transform.size, antialias=False), transform)


def eval_image(image, transform):
    """The evaluation view of a decoded image: resize (short side to `size / crop_pct`) and centre crop."""
    if transform.crop_pct >= 1.0:
        return _fixed(resize(image, transform.size), transform)
    height, width = transform.size
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = tf.reduce_max(tf.constant([height, width], tf.float32) / transform.crop_pct / shape)
    resized = tf.cast(tf.round(shape * scale), tf.int32)
    resized = tf.maximum(resized, [height, width])
    image = resize(image, resized, method="bicubic")
    top, left = (resized[0] - height) // 2, (resized[1] - width) // 2
    return _fixed(tf.image.crop_to_bounding_box(image, top, left, height, width), transform)


def _fixed(image, transform):
    """The static shape batches need (a dynamic crop leaves the channels unknown)."""
    return tf.ensure_shape(image, [*transform.size, transform.channels])
