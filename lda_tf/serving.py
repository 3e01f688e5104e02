"""A trained MRI network as a TensorFlow SavedModel for serving (issue 18, part 2).

The SavedModel holds the network's weights and two traced signatures; loading it needs
TensorFlow only (``tf.saved_model.load``, TensorFlow Serving), not this package. Both take a batch
of single-coil k-space ``y = P F x`` on the centred orthonormal grid (SPEC 1) with its mask and
return the magnitude of the network's reconstruction ``|x_T|``; batch, height and width are dynamic
(the network is size-agnostic). Like ``experiments/reconstruct.py`` (lda_tf/reconstruction.py),
each sample's k-space is divided by the peak ``s`` of its zero-filled image ``|F^H P y|`` before
the network (which was trained on images with maximum 1) and the magnitude multiplied by ``s``
after it, so the image comes back in the k-space's own scale:

- ``serving_default``: ``kspace_real``, ``kspace_imag`` float32 ``[B, H, W]`` (the real and
  imaginary parts of ``y``), ``mask`` float32 ``[B, H, W]`` in {0, 1} -> ``image`` float32
  ``[B, H, W]``. Decision: the default signature takes the parts, not complex64, because
  TensorFlow Serving's JSON (REST) tensors have no complex type (its ``json_tensor.cc`` converts
  numbers to float, double, integer and bool tensors only);
- ``complex``: ``kspace`` complex64 ``[B, H, W]``, ``mask`` -> ``image`` (gRPC and Python clients).

A network with task weights (meta, adapted: ``kappa = sigma(omega_i)``, eq. (11)) or U-LDA domain
groups takes ``task_index`` int32 ``[B]`` as well (task or domain ``i`` of each sample); a network
with neither (conventional, LDA, kappa = 1) does not. Every input has the batch as its first
axis, so TensorFlow Serving's row format (``"instances"``) applies.

The model is exported at its active phase count (what ``model.keras`` runs). ``serving.json``
beside ``saved_model.pb`` records the signatures, the tasks and where the network came from.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import tensorflow as tf

from lda_tf.loa.model import UnrolledNetwork
from lda_tf.mri.fft import ifft2c
from lda_tf.mri.measurement import MRIInputs, MRISampling

SIGNATURE_KEYS = ("serving_default", "complex")
DESCRIPTION = "serving.json"


def check_servable(network: UnrolledNetwork, name: str = "model") -> None:
    """Raise unless ``network`` measures single-coil MRI k-space (:class:`MRISampling` or a
    subclass such as the release's), the only inputs the signatures describe."""
    if not isinstance(network.measurement, MRISampling):
        raise ValueError(
            f"argument `{name}`: the network measures with {type(network.measurement).__name__}, not MRI "
            "k-space (MRISampling); only MRI networks are exported for serving"
        )


def takes_task_index(network: UnrolledNetwork) -> bool:
    """Whether the signatures have ``task_index``: the network has task weights or domain groups."""
    return bool(network.num_tasks or network.num_domains)


class ServingModule(tf.Module):
    """The network behind the two signatures of the module docstring."""

    def __init__(self, network: UnrolledNetwork):
        super().__init__(name="lda_tf_serving")
        check_servable(network)
        # The variables, not the Keras model, are this module's children: saving walks a child's
        # functions, and a Keras model's default serving signature (one tensor in) cannot trace it.
        self.network_variables = list(network.variables)
        self.with_task_index = takes_task_index(network)
        image = tf.TensorSpec([None, None, None], tf.float32)
        index = [tf.TensorSpec([None], tf.int32, name="task_index")] if self.with_task_index else []

        def magnitude(kspace, mask, task_index=None):
            kspace = kspace * tf.cast(mask, tf.complex64)
            scale = tf.reduce_max(tf.abs(ifft2c(kspace)), axis=(-2, -1), keepdims=True)  # [B, 1, 1]
            scale = tf.where(scale > 0, scale, tf.ones_like(scale))
            normalised = kspace / tf.cast(scale, tf.complex64)
            recon = network(MRIInputs(normalised, mask, task_index), training=False)
            return {"image": tf.abs(recon) * scale}

        def from_parts(kspace_real, kspace_imag, mask, task_index=None):
            return magnitude(tf.complex(kspace_real, kspace_imag), mask, task_index)

        spec = dict(shape=image.shape, dtype=tf.float32)
        self.serve = tf.function(
            from_parts,
            input_signature=[
                tf.TensorSpec(**spec, name="kspace_real"),
                tf.TensorSpec(**spec, name="kspace_imag"),
                tf.TensorSpec(**spec, name="mask"),
                *index,
            ],
        )
        self.serve_complex = tf.function(
            magnitude,
            input_signature=[
                tf.TensorSpec(image.shape, tf.complex64, name="kspace"),
                tf.TensorSpec(**spec, name="mask"),
                *index,
            ],
        )

    def signatures(self) -> dict:
        return {
            "serving_default": self.serve.get_concrete_function(),
            "complex": self.serve_complex.get_concrete_function(),
        }


def export_saved_model(network: UnrolledNetwork, path: str | os.PathLike, description: dict) -> None:
    """Write ``network`` as a SavedModel into the (new, empty or absent) directory ``path``, with
    ``serving.json`` holding ``description`` and the signatures' inputs."""
    path = Path(path)
    module = ServingModule(network)
    tf.saved_model.save(module, os.fspath(path), signatures=module.signatures())
    inputs = ["kspace_real", "kspace_imag", "mask"] + (["task_index"] if module.with_task_index else [])
    record = {
        **description,
        "signatures": {
            "serving_default": {"inputs": inputs, "outputs": ["image"]},
            "complex": {"inputs": ["kspace", *inputs[2:]], "outputs": ["image"]},
        },
        "active_phases": int(network.active_phases),
    }
    (path / DESCRIPTION).write_text(json.dumps(record, indent=2) + "\n")


def rest_request(kspace, mask, task_index=None) -> dict:
    """The JSON body of a TensorFlow Serving REST ``:predict`` request (row format) for the
    ``serving_default`` signature: one instance per sample."""
    import numpy as np

    kspace, mask = np.asarray(kspace), np.broadcast_to(np.asarray(mask, np.float32), np.shape(kspace))
    instances = []
    for index in range(kspace.shape[0]):
        instance = {
            "kspace_real": kspace[index].real.astype(np.float32).tolist(),
            "kspace_imag": kspace[index].imag.astype(np.float32).tolist(),
            "mask": mask[index].tolist(),
        }
        if task_index is not None:
            instance["task_index"] = int(np.asarray(task_index)[index])
        instances.append(instance)
    return {"signature_name": "serving_default", "instances": instances}
