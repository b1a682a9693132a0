"""`OptimizerPair`: the GAN's two optimizers presented to Keras as one `model.optimizer`.

Keras' JAX trainer carries only `model.optimizer.variables` through its
stateless, jit-compiled train step, and every trainer builds
`model.optimizer` before the first step. The GAN's `optimizer` is this pair,
so both optimizers' variables travel with the JAX state and each optimizer
is built for its own network only.
"""


class OptimizerPair:
    def __init__(self, g_optimizer, generator, d_optimizer, discriminator):
        self._parts = ((g_optimizer, generator), (d_optimizer, discriminator))

    @property
    def variables(self):
        return [v for optimizer, _ in self._parts for v in optimizer.variables]

    @property
    def built(self):
        return all(optimizer.built for optimizer, _ in self._parts)

    def build(self, var_list=None):
        """Builds each optimizer for its own network (Keras passes all the model's variables)."""
        for optimizer, network in self._parts:
            if not optimizer.built:
                optimizer.build(network.trainable_variables)

    @property
    def iterations(self):
        """Generator updates, i.e. training steps (callbacks such as TensorBoard read it)."""
        return self._parts[0][0].iterations

    def scale_loss(self, loss):
        return loss
