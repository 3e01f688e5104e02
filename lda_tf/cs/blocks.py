"""Block compressed sensing geometry (LDA paper 4.2.1, [30]): an image is cut into non-overlapping
``s x s`` blocks, each treated as a vector ``x in R^n`` (``n = s^2``, row-major within the block).

``split_blocks`` / ``merge_blocks`` are ``space_to_depth`` / ``depth_to_space`` with block size
``s``, exact inverses of each other (tested); ``pad_to_blocks`` pads an image at the bottom and
right with zeros to whole blocks, as the ISTA-Net+ evaluation [80] the paper follows does (the
metrics are then taken on the original region).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def _check_divisible(shape: tf.TensorShape, block_size: int) -> None:
    height, width = shape[-2], shape[-1]
    for name, size in (("height", height), ("width", width)):
        if size is not None and size % block_size:
            raise ValueError(
                f"image {name} {size} is not a multiple of the block size {block_size}; "
                "pad it with lda_tf.cs.pad_to_blocks"
            )


def split_blocks(images: tf.Tensor, block_size: int) -> tf.Tensor:
    """``[B, H, W]`` -> ``[B, H/s, W/s, s*s]``: each block as a row-major vector."""
    images = tf.convert_to_tensor(images)
    _check_divisible(images.shape, block_size)
    return tf.nn.space_to_depth(images[..., None], block_size)


def merge_blocks(blocks: tf.Tensor, block_size: int) -> tf.Tensor:
    """Inverse of :func:`split_blocks`: ``[B, H/s, W/s, s*s]`` -> ``[B, H, W]``."""
    return tf.nn.depth_to_space(blocks, block_size)[..., 0]


def pad_to_blocks(image: np.ndarray, block_size: int) -> np.ndarray:
    """Zero-pad an ``[H, W]`` image at the bottom and right to multiples of ``block_size``."""
    height, width = image.shape
    return np.pad(image, ((0, -height % block_size), (0, -width % block_size)))


def blocks_as_columns(images: np.ndarray, block_size: int) -> np.ndarray:
    """``[N, H, W]`` images (H, W multiples of ``s``) -> ``[s*s, N * H/s * W/s]``: every block a
    column, the ``X`` of the least-squares initialisation."""
    blocks = split_blocks(tf.constant(images, tf.float32), block_size).numpy()
    return blocks.reshape(-1, block_size * block_size).T
