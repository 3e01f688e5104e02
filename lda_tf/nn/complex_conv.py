"""Bias-free 2D convolution on complex (or real) feature maps, with its transpose.

Complex feature maps with C channels are stored as real tensors ``[B, H, W, 2C]``: the C real
parts, then the C imaginary parts. A complex kernel ``W = W_r + i W_i`` (``[k, k, C_in, C_out]``
each) then acts as ONE real convolution with the block kernel

    K = [[ W_r, W_i],
         [-W_i, W_r]]      (rows: input re / im; columns: output re / im)

so that ``out_re = W_r * x_re - W_i * x_im`` and ``out_im = W_i * x_re + W_r * x_im`` (the
complex convolution of [62] in the meta paper), in one kernel call instead of four. Because the
real representation of a complex-linear map is this block matrix, its real transpose is the
complex adjoint: :meth:`transpose` (``conv2d_transpose`` with the same kernel) is ``W^H``.
The real-valued variant (natural images, LDA paper) is the same layer with ``K = W``.

``conjugate_input=True`` convolves the conjugate, ``W * conj(x)``: the block kernel becomes

    K = [[W_r,  W_i],
         [W_i, -W_r]]

(``out_re = W_r * x_re + W_i * x_im``, ``out_im = W_i * x_re - W_r * x_im``), which is how the
authors' TF1 release combines its real and imaginary kernels (``g1_forward``, lines 146-153 of
``recon_meta_Journal_of_Imaging.py``). The map is then real-linear but not complex-linear;
:meth:`transpose` is still its real transpose, which is what the release's ``grad_g1`` computes
(lines 172-185) and what the gradient of a real function of ``x`` needs.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from lda_tf.math import traced_shape


def independent_initializer(
    initializer: keras.initializers.Initializer, index: int
) -> keras.initializers.Initializer:
    """A new instance of ``initializer`` for the ``index``-th weight it initialises.

    A Keras 3 random initializer instance fixes its seed when it is created (drawn from the global
    seed, so seeded construction is reproducible) and returns the SAME values on every call: one
    instance shared by ``kernel_real`` and ``kernel_imag`` started every complex kernel at
    ``(1 + i) W``, and one shared by several layers started layers of equal shape identical. A
    copy made from the configuration draws a seed of its own; an explicitly seeded initializer
    gets ``seed + index``, so the two parts still differ.
    """
    config = keras.initializers.serialize(initializer)
    seed = config["config"].get("seed")
    if isinstance(seed, int):
        config["config"]["seed"] = seed + index
    return keras.initializers.get(config)


@keras.saving.register_keras_serializable(package="lda_tf")
class BlockConv2D(keras.layers.Layer):
    """``[B, H, W, c_in * p] -> [B, H, W, filters * p]``, ``p = 2`` if complex else 1; no bias.

    Weights: ``kernel_real`` (and ``kernel_imag`` when complex), each
    ``[kernel_size, kernel_size, in_channels, filters]``, Glorot-uniform (Xavier) initialised, as in
    the meta paper section 4.2, each with its own draw (SPEC 2: independent real and imaginary
    parts; see :func:`independent_initializer`). Padding is "SAME" with zeros; stride 1.
    ``conjugate_input``: convolve ``conj(x)``, the TF1 release's combination (module docstring).
    """

    def __init__(
        self,
        in_channels: int,
        filters: int,
        kernel_size: int = 3,
        complex_valued: bool = True,
        kernel_initializer: str | dict = "glorot_uniform",
        conjugate_input: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if conjugate_input and not complex_valued:
            raise ValueError("conjugate_input needs complex_valued=True")
        self.in_channels = int(in_channels)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.complex_valued = bool(complex_valued)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.conjugate_input = bool(conjugate_input)

    def build(self, input_shape=None):
        shape = (self.kernel_size, self.kernel_size, self.in_channels, self.filters)
        self.kernel_real = self.add_weight(
            shape=shape, initializer=independent_initializer(self.kernel_initializer, 0), name="kernel_real"
        )
        if self.complex_valued:
            self.kernel_imag = self.add_weight(
                shape=shape,
                initializer=independent_initializer(self.kernel_initializer, 1),
                name="kernel_imag",
            )
        self.built = True

    def block_kernel(self) -> tf.Tensor:
        """The real kernel ``K`` acting on stacked channels (module docstring)."""
        real = tf.convert_to_tensor(self.kernel_real)
        if not self.complex_valued:
            return real
        imag = tf.convert_to_tensor(self.kernel_imag)
        from_real = tf.concat([real, imag], axis=-1)
        from_imag = tf.concat([imag, -real] if self.conjugate_input else [-imag, real], axis=-1)
        return tf.concat([from_real, from_imag], axis=-2)

    def call(self, inputs: tf.Tensor, kernel: tf.Tensor | None = None) -> tf.Tensor:
        """Convolve; ``kernel`` may pass a precomputed :meth:`block_kernel` to avoid rebuilding it."""
        kernel = self.block_kernel() if kernel is None else kernel
        return tf.nn.conv2d(inputs, kernel, strides=1, padding="SAME")

    def transpose(self, outputs_grad: tf.Tensor, kernel: tf.Tensor | None = None) -> tf.Tensor:
        """Adjoint map ``K^T`` (``W^H`` for complex maps): transposed convolution, same kernel."""
        kernel = self.block_kernel() if kernel is None else kernel
        output_shape = traced_shape(outputs_grad)[:-1] + traced_shape(kernel)[-2:-1]
        return tf.nn.conv2d_transpose(outputs_grad, kernel, output_shape, strides=1, padding="SAME")

    def get_config(self):
        config = super().get_config()
        config.update(
            in_channels=self.in_channels,
            filters=self.filters,
            kernel_size=self.kernel_size,
            complex_valued=self.complex_valued,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            conjugate_input=self.conjugate_input,
        )
        return config
