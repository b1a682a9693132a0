"""Layer-wise learning-rate decay and a frozen-backbone warm start, as one AdamW.

Fine-tuning a pretrained transformer moves its lower layers less than its
top: BEiT (Bao et al. 2021) and timm's `param_groups_layer_decay` scale the
step of a variable at depth `d` of `D` by `layer_decay ** (D - d)` (the
head, at `D`, keeps the full rate). A warm start trains the new head alone
for the first steps, so the backbone does not move while the head's error is
large (its Adam moments still gather gradients meanwhile, as frozen layers'
do not in a two-stage fit). Both are one per-variable factor on AdamW's step
(and on its decoupled weight decay, as a parameter group's rate scales
both), so the optimizer, its schedule and its saved state stay those of a
plain run.
"""

import keras
from keras import ops

from keras_nest.errors import InvalidValueError


def layer_scales(model, layer_decay):
    """`{variable path: layer_decay ** (D - depth)}` from `model.variable_depths()`.

    Example:

    >>> model = keras_nest.create_model("nest_nano_16")
    >>> scales = layer_scales(model, 0.5)
    >>> scales[model.head.kernel.path], scales[model.patch_embedding.projection.kernel.path]
    (1.0, 0.03125)
    """
    depths = model.variable_depths()
    top = max(depths.values())
    return {path: float(layer_decay ** (top - depth)) for path, depth in depths.items()}


@keras.saving.register_keras_serializable(package="keras_nest")
class LayerwiseAdamW(keras.optimizers.AdamW):
    """AdamW whose step is scaled per variable.

    Args:
        layer_scales: `{variable path: factor}` on the learning rate (and the
            weight decay) of that variable; 1 for paths not listed.
        frozen_steps: int. For the first `frozen_steps` steps only the
            variables in `warm_start` move (the others' factor is 0).
        warm_start: paths of the variables trained during the frozen
            steps (the head).
        **kwargs: `keras.optimizers.AdamW` arguments.
    """

    def __init__(self, layer_scales=None, frozen_steps=0, warm_start=(), **kwargs):
        super().__init__(**kwargs)
        self.layer_scales = {str(k): float(v) for k, v in (layer_scales or {}).items()}
        self.frozen_steps = int(frozen_steps)
        self.warm_start = tuple(warm_start)
        if self.frozen_steps < 0:
            raise InvalidValueError(f"frozen_steps must be >= 0, got {frozen_steps}.")
        if self.frozen_steps and not self.warm_start:
            raise InvalidValueError("frozen_steps > 0 needs the variables to train meanwhile (warm_start).")

    def build(self, variables):
        super().build(variables)
        # Keys, not paths: the TensorFlow backend updates the unwrapped tf.Variables.
        warm = set(self.warm_start)
        self._factors = {self._var_key(v): (self.layer_scales.get(v.path, 1.0), v.path in warm) for v in variables}

    def _factor(self, variable, dtype):
        key = self._var_key(variable)
        if key not in self._factors:
            raise ValueError(f"LayerwiseAdamW was built without the variable {variable.name}; build it on the "
                             "model's trainable variables.")
        scale, warm = self._factors[key]
        factor = ops.cast(scale, dtype)
        if self.frozen_steps and not warm:
            factor = ops.where(self.iterations < self.frozen_steps, ops.cast(0.0, dtype), factor)
        return factor

    def _apply_weight_decay(self, variables):
        pass  # applied in `update_step`, at each variable's own rate

    def update_step(self, gradient, variable, learning_rate):
        learning_rate = ops.cast(learning_rate, variable.dtype) * self._factor(variable, variable.dtype)
        if self.weight_decay is not None and self._use_weight_decay(variable):
            variable.assign(variable - variable * ops.cast(self.weight_decay, variable.dtype) * learning_rate)
        super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "layer_scales": self.layer_scales, "frozen_steps": self.frozen_steps,
                "warm_start": list(self.warm_start)}
