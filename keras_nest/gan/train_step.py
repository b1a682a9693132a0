"""The backend half of `GAN.train_step`: gradients and optimizer updates on TensorFlow, JAX and torch.

`GAN` writes its step once, in `keras.ops` (noise, DiffAugment, losses, R1,
EMA, metrics), reading and assigning Keras variables as usual. It asks a
mechanics object from `mechanics()` for the two things `keras.ops` cannot do:

- `minimize(optimizer, loss_fn, variables)`: run `loss_fn() -> (loss, aux)`,
  apply the gradient of `loss` w.r.t. `variables`, return `(loss, aux)`;
- `input_gradient(fn, x)`: `(fn(x), d sum(fn(x)) / dx)`, kept differentiable
  for the R1 penalty (a gradient of a gradient).

On JAX, `jax_train_step` runs the same step inside a `keras.StatelessScope`
holding the trainer's state, so variable reads and writes become pure values
and the step can be jit-compiled.

One semantic is made the same everywhere: Keras' `SpectralNormalization`
writes `W / sigma` into its kernel on every training call. TensorFlow's tape
sends the gradient of each read of a variable to the variable, whatever was
written in between. The JAX and torch mechanics reproduce this (see
`_TapeScope` and `_saved_weights_copied`), so one step gives the same
numbers on all three backends.
"""

import contextlib

import keras
from keras import ops, tree


def mechanics():
    """The mechanics of the current backend (TF and torch; JAX goes through `jax_train_step`)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return TensorFlowMechanics()
    if backend == "torch":
        return TorchMechanics()
    raise NotImplementedError(f"GAN training runs on the tensorflow, jax and torch backends, not {backend!r}.")


class TensorFlowMechanics:
    def minimize(self, optimizer, loss_fn, variables):
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss, aux = loss_fn()
        optimizer.apply(tape.gradient(loss, variables), variables)
        return loss, aux

    def input_gradient(self, fn, x):
        import tensorflow as tf

        # Called inside `minimize`'s tape, which then records this gradient too.
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
            total = ops.sum(y)
        return y, tape.gradient(total, x)


class TorchMechanics:
    def minimize(self, optimizer, loss_fn, variables):
        import torch

        with _saved_weights_copied():
            loss, aux = loss_fn()
            grads = torch.autograd.grad(loss, [v.value for v in variables], allow_unused=True,
                                        materialize_grads=True)
        with torch.no_grad():
            optimizer.apply(list(grads), variables)
        return loss.detach(), tree.map_structure(lambda t: t.detach(), aux)

    def input_gradient(self, fn, x):
        import torch

        if not x.requires_grad:
            x = x.detach().requires_grad_(True)
        y = fn(x)
        (grad,) = torch.autograd.grad(y.sum(), x, create_graph=True)
        return y, grad


@contextlib.contextmanager
def _saved_weights_copied():
    """Autograd keeps copies of the weights it saves for the backward pass.

    Keras assigns variables in place (`copy_`), and SpectralNormalization
    rewrites its kernel on each call: a second discriminator call in one loss
    would otherwise fail with "modified by an inplace operation". The copy is
    differentiable, so gradients still reach the weight (as from TF's tape).
    """
    import torch

    def pack(tensor):
        base = tensor if tensor._base is None else tensor._base
        return tensor.clone() if isinstance(base, torch.nn.Parameter) else tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        yield


class JaxMechanics:
    """Mechanics inside `jax_train_step`'s `scope`, which maps every variable of `state_variables`."""

    def __init__(self, state_variables, scope):
        self.state_variables = state_variables
        self.scope = scope

    def minimize(self, optimizer, loss_fn, variables):
        import jax

        ids = [id(v) for v in variables]
        others = [v for v in self.state_variables if id(v) not in set(ids)]

        def pure_loss(values):
            # A StatelessScope does not fall back to the enclosing one: map every state variable.
            mapping = list(zip(variables, values)) + [(v, self.scope.get_current_value(v)) for v in others]
            with _TapeScope(mapping, dict(zip(ids, values))) as scope:
                loss, aux = loss_fn()
            return loss, (aux, [scope.get_current_value(v) for v in self.state_variables])

        values = [self.scope.get_current_value(v) for v in variables]
        (loss, (aux, updated)), grads = jax.value_and_grad(pure_loss, has_aux=True)(values)
        for variable, value in zip(self.state_variables, updated):
            variable.assign(value)  # what the loss wrote: seeds, norm statistics, SN kernels
        optimizer.apply(grads, variables)
        return loss, aux

    def input_gradient(self, fn, x):
        import jax

        def total(inputs):
            y = fn(inputs)
            return ops.sum(y), y

        (_, y), grad = jax.value_and_grad(total, has_aux=True)(x)
        return y, grad


class _TapeScope(keras.StatelessScope):
    """A StatelessScope in which a write to a differentiated variable keeps TF's tape semantics.

    The variable then holds the written value, but the gradient of later
    reads still goes to the variable (not through the computation of the
    written value), as with TensorFlow's `GradientTape` on a `tf.Variable`.
    """

    def __init__(self, mapping, sources):
        super().__init__(state_mapping=mapping)
        self._sources = sources  # id(variable) -> the traced value jax differentiates against

    def add_update(self, update):
        import jax

        variable, value = update
        source = self._sources.get(id(variable))
        if source is not None:
            stop = jax.lax.stop_gradient
            value = stop(value) + (source - stop(source))
        super().add_update((variable, value))


def jax_train_step(model, state, data, step):
    """Keras' JAX `train_step(state, data) -> (logs, state)` around `step(data, mechanics)`.

    `state` is the trainer's (trainable, non-trainable, optimizer, metrics)
    values; `model.optimizer` must list both GAN optimizers' variables (see
    `OptimizerPair`).
    """
    groups = (model.trainable_variables, model.non_trainable_variables, model.optimizer.variables,
              model.metrics_variables)
    variables = [v for group in groups for v in group]
    values = [value for group in state for value in group]
    with keras.StatelessScope(state_mapping=list(zip(variables, values))) as scope:
        logs = step(data, JaxMechanics(variables, scope))
    new_state = tuple([scope.get_current_value(v) for v in group] for group in groups)
    return logs, new_state
