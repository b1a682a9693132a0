"""Run as a subprocess on a chosen backend (Keras fixes its backend at import).

`python tests/backend_check.py BACKEND save MODEL.keras IMAGES.npy OUT.npy`
builds a NesT with fixed weights on BACKEND, saves it, and writes its
predictions; `... BACKEND predict MODEL.keras IMAGES.npy OUT.npy` loads a
saved model on BACKEND and writes its predictions.

(pytest imports this file to collect doctests: nothing here may touch the
environment or import Keras except under `__main__`.)
"""

import os
import sys


def main(backend, action, model_path, images_path, out_path):
    import keras
    import numpy as np

    import keras_nest

    assert keras.backend.backend() == backend, keras.backend.backend()
    images = np.load(images_path)
    if action == "save":
        model = keras_nest.create_model("nest_nano_16", num_classes=5, include_preprocessing=True,
                                        pixel_mean=(0.3,) * 3, pixel_std=(0.3,) * 3)
        rng = np.random.default_rng(1)  # weights away from their init, so every tensor matters
        model.set_weights([w + rng.normal(0, 0.02, w.shape).astype(w.dtype) for w in model.get_weights()])
        model.save(model_path)
    else:
        model = keras.saving.load_model(model_path)
    np.save(out_path, keras.ops.convert_to_numpy(model.predict(images, verbose=0)))


if __name__ == "__main__":
    os.environ["KERAS_BACKEND"] = sys.argv[1]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main(*sys.argv[1:])
