"""What a model's inputs mean: the data-fidelity term ``f`` and the start ``x0`` (eq. (1) of the
LDA paper, ``phi = f + r``).

An :class:`~lda_tf.loa.UnrolledLOA` is the same network for every imaging problem; only its
:class:`Measurement` layer differs, and the network is given one explicitly (it knows no default).
The layer turns the model's inputs into a :class:`Measured`: the data term (anything with
``data_fidelity`` and ``data_fidelity_gradient``, see :class:`lda_tf.loa.objective.DataFidelity`),
the initial image and the task index. Implementations:

- :class:`lda_tf.mri.MRISampling`: :class:`lda_tf.mri.MRIInputs` ``(kspace, mask, task_index)``
  inputs, ``A = P F``, zero-filled start (SPEC 1).
- :class:`lda_tf.cs.BlockSampling`: block compressed sensing of natural images, with a fixed or
  jointly learned sampling matrix (LDA paper 4.2.1-4.2.2).

A measurement may hold weights (a learned sampling matrix): they are sub-layer weights of the model,
so they are saved with it and, when trainable, trained with theta. It may add a per-sample term to
the training loss (:meth:`Measurement.auxiliary_loss`), and it names the images of its inputs worth
showing next to a reconstruction (:meth:`Measurement.display`; the sampling mask for MRI), so that
training's TensorBoard callback needs to know nothing of any imaging problem.

This module imports no other part of :mod:`lda_tf`: the network (``loa/``), training and both
measurement models depend on it, not the other way round.
"""

from __future__ import annotations

from typing import NamedTuple

import keras
import tensorflow as tf


class Measured(NamedTuple):
    """One batch's measurement: the data term ``f``, the start ``x0`` ``[B, H, W]`` and the task
    index ``[B]`` (None when the inputs carry none)."""

    data: object
    initial: tf.Tensor
    task_index: tf.Tensor | None


class Measurement(keras.layers.Layer):
    """Base class; subclasses implement :meth:`measure` and set :attr:`complex_valued`.

    :attr:`initial_name` names the start ``x0`` in summaries (``"zero_filled"`` for MRI).
    """

    complex_valued: bool = True
    initial_name: str = "initial"

    def build(self, input_shape=None):
        """Weights (if any) do not depend on the input shape; subclasses create them here."""
        self.built = True

    def measure(self, inputs) -> Measured:
        raise NotImplementedError

    def auxiliary_loss(self, inputs) -> tf.Tensor | None:
        """A per-sample ``[B]`` term added to the training loss, or None (the default)."""
        del inputs
        return None

    def display(self, inputs) -> dict[str, tf.Tensor]:
        """Images of the inputs to show beside the reconstruction: name -> ``[B, H, W]`` float32 in
        ``[0, 1]``; none by default."""
        del inputs
        return {}

    def call(self, inputs):
        return self.measure(inputs).initial
