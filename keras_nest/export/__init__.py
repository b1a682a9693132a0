"""Self-contained model files for serving: SavedModel, LiteRT (TFLite) and ONNX.

`export_model` writes one artifact through Keras' own `model.export`
(Keras 3.15: `tf_saved_model`, `litert`, `onnx`); `run_exported` runs an
artifact with the runtime made for it, the way a deployment would, so
tests and users check it against Keras. A model built with
`include_preprocessing=True` (every model `keras-nest train` saves) takes
raw pixels, so the artifacts do too.
"""

from keras_nest.export.artifacts import EXPORT_FORMATS, can_export, default_export_path, export_model, run_exported

__all__ = ["EXPORT_FORMATS", "can_export", "default_export_path", "export_model", "run_exported"]
