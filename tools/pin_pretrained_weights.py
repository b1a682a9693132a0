"""Print the SHA-256 (and commit) of every preset's published weights, read from the hub's metadata.

Needs network and `huggingface_hub`; downloads nothing (the hub stores each
Git-LFS file's SHA-256 in its metadata). Paste the printed dict over
`_TIMM_SHA256` in `keras_nest/presets.py`; `create_model(..., weights=...)`
then refuses any file that does not hash to it.

    python tools/pin_pretrained_weights.py
"""

import json

from huggingface_hub import HfApi

from keras_nest.presets import list_presets


def main():
    api = HfApi()
    digests = {}
    for preset in list_presets("classifier"):
        for key, record in preset.weights.items():
            info = api.model_info(record.repo_id, revision=record.revision, files_metadata=True)
            (sibling,) = [s for s in info.siblings if s.rfilename == record.filename]
            digests[preset.name] = {"weights": key, "repo_id": record.repo_id, "commit": info.sha,
                                    "sha256": sibling.lfs.sha256 if sibling.lfs else None,
                                    "size": sibling.size, "recorded": record.sha256}
            print(json.dumps(digests[preset.name]))
    sizes = {name.split("_")[1]: d["sha256"] for name, d in digests.items()}
    print("_TIMM_SHA256 =", json.dumps(sizes).replace("null", "None"))


if __name__ == "__main__":
    main()
