"""The 1,000 ImageNet-1k classes (ILSVRC-2012), by class index: WordNet ids and short names.

Read from `imagenet_classes.tsv`, shipped in this package and generated once by
`tools/make_imagenet_classes.py` from timm's `imagenet_synsets.txt` and
`imagenet_synset_to_lemma.txt` (Apache-2.0; lemmas from WordNet 3.0). Index `i` is output
`i` of every ImageNet-1k classifier (timm, keras.applications, the NesT checkpoints). A name is
the synset's first lemma, as in keras.applications' `imagenet_class_index.json` but with
spaces (`"toilet tissue"`, not `"toilet_tissue"`); the two `crane`s and two `maillot`s get a
suffix, so the names are unique (see the tool's docstring).

Example:

>>> from keras_nest.imagenet_classes import imagenet_class_names, imagenet_wnids
>>> imagenet_class_names()[:3]
('tench', 'goldfish', 'great white shark')
>>> imagenet_wnids()[0], len(imagenet_wnids())
('n01440764', 1000)
"""

import functools
import importlib.resources

NUM_IMAGENET_CLASSES = 1000
_RESOURCE = "imagenet_classes.tsv"


@functools.cache
def _table():
    text = importlib.resources.files("keras_nest").joinpath(_RESOURCE).read_text(encoding="utf-8")
    rows = [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]
    if len(rows) != NUM_IMAGENET_CLASSES or any(len(row) != 2 for row in rows):
        raise RuntimeError(f"keras_nest/{_RESOURCE} is damaged: expected {NUM_IMAGENET_CLASSES} "
                           "'wnid<TAB>name' lines; reinstall keras_nest or rerun tools/make_imagenet_classes.py.")
    return tuple(row[0] for row in rows), tuple(row[1] for row in rows)


def imagenet_class_names():
    """The 1,000 ImageNet-1k class names, a tuple indexed by class (read once, then cached).

    >>> names = imagenet_class_names()
    >>> names[1], names[999], len(set(names))
    ('goldfish', 'toilet tissue', 1000)
    """
    return _table()[1]


def imagenet_wnids():
    """The 1,000 ImageNet-1k WordNet ids (`"n01440764"`, ...), a tuple indexed by class.

    >>> imagenet_wnids()[999]
    'n15075141'
    """
    return _table()[0]
