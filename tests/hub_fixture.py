"""A Hugging Face hub cache on disk, laid out as `huggingface_hub` lays it out, for offline tests.

`<cache>/models--ORG--REPO/blobs/<sha256>` holds the file (the SHA-256 is the
blob's name for Git-LFS files), `refs/main` the commit, and
`snapshots/<commit>/<filename>` links to the blob. The checkpoint is the
timm NesT made by `tools/make_timm_fixture.py` (`tests/fixtures`).
"""

import os
import shutil

from keras_nest.models.pretrained import file_sha256

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
TIMM_CHECKPOINT = os.path.join(FIXTURES, "timm_nest_small.safetensors")
COMMIT = "0123456789abcdef0123456789abcdef01234567"
# The model `tools/make_timm_fixture.py` saved (timm `Nest` arguments in keras_nest's names).
FIXTURE_CONFIG = dict(input_shape=(32, 32, 3), patch_size=2, embed_dims=(16, 32, 64), num_heads=(2, 2, 4),
                      depths=(1, 1, 2), attention="multi_head", num_classes=10)


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
