"""A Hugging Face hub cache on disk, laid out as `huggingface_hub` lays it out, for offline tests.

`<cache>/models--ORG--REPO/blobs/<sha256>` holds the file (the SHA-256 is the
blob's name for Git-LFS files), `refs/main` the commit, and
`snapshots/<commit>/<filename>` links to the blob. The checkpoint is the
timm NesT made by `tools/make_timm_fixture.py` (`tests/fixtures`).
"""

import json
import os
import shutil

import numpy as np

from keras_nest.models.pretrained import file_sha256

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
TIMM_CHECKPOINT = os.path.join(FIXTURES, "timm_nest_small.safetensors")
TIMM_IO = os.path.join(FIXTURES, "timm_nest_small_io.npz")  # inputs, outputs and the `Nest` arguments used
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def nest_arguments(timm_config):
    """`NestModel` arguments for a timm `Nest` config (its keyword arguments, as the fixture stores them)."""
    side, channels = timm_config["img_size"], timm_config["in_chans"]
    names = ("patch_size", "embed_dims", "num_heads", "depths", "num_classes", "mlp_ratio")
    return dict(input_shape=(side, side, channels), **{name: timm_config[name] for name in names})


# The model `tools/make_timm_fixture.py` saved, in keras_nest's names.
FIXTURE_CONFIG = dict(nest_arguments(json.loads(str(np.load(TIMM_IO)["config_json"]))), attention="multi_head")


def add_to_cache(cache, repo_id, filename, source=TIMM_CHECKPOINT):
    """Places `source` in the hub cache `cache` as `repo_id`'s `filename`; returns the snapshot path."""
    repo = os.path.join(cache, "models--" + repo_id.replace("/", "--"))
    sha = file_sha256(source)
    os.makedirs(os.path.join(repo, "blobs"), exist_ok=True)
    shutil.copyfile(source, os.path.join(repo, "blobs", sha))
    os.makedirs(os.path.join(repo, "refs"), exist_ok=True)
    with open(os.path.join(repo, "refs", "main"), "w") as f:
        f.write(COMMIT)
    snapshot = os.path.join(repo, "snapshots", COMMIT, filename)
    os.makedirs(os.path.dirname(snapshot), exist_ok=True)
    os.symlink(os.path.relpath(os.path.join(repo, "blobs", sha), os.path.dirname(snapshot)), snapshot)
    return snapshot
