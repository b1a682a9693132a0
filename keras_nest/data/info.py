"""`DatasetInfo`: what a model and a training loop need to know about a data set."""

import dataclasses

from keras_nest.errors import InvalidValueError


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """Static description of a data set, as returned by `dataset_info`.

    Attributes:
        name: the name it was loaded by.
        num_classes: number of classes; labels are `0 .. num_classes - 1`.
        class_names: tuple of `num_classes` names, in label order.
        image_size: `(height, width)` the data natively has, `None` when it
            varies from image to image.
        default_image_size: `(height, width)` that `load_dataset` produces
            when `image_size` is not given (`None`: the native size).
        num_examples: dict of split name to number of examples (for folders,
            image files found, before unreadable ones are skipped).
        channels: number of channels the images are loaded with.
        mean: per-channel mean of the train split, in `[0, 1]` pixel units;
            `load_dataset` subtracts it.
        std: per-channel standard deviation; `load_dataset` divides by it.
    """

    name: str
    num_classes: int
    class_names: tuple
    image_size: tuple | None
    default_image_size: tuple | None
    num_examples: dict
    channels: int
    mean: tuple
    std: tuple

    @property
    def held_out_split(self):
        """The split results are reported on: `"test"`, else `"validation"`.

        Raises:
            ValueError: the data set has neither.
        """
        for split in ("test", "validation"):
            if split in self.num_examples:
                return split
        raise InvalidValueError(f"Data set {self.name!r} has no test or validation split: "
                                f"{sorted(self.num_examples)}.")

    def as_dict(self):
        """The fields as a plain dict."""
        return dataclasses.asdict(self)
