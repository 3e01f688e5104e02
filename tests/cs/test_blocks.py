"""Block geometry of block compressed sensing: split/merge round trip, order, padding."""

import numpy as np
import pytest
import tensorflow as tf

from lda_tf.cs import blocks_as_columns, merge_blocks, pad_to_blocks, split_blocks


@pytest.mark.parametrize("block_size, shape", [(33, (66, 99)), (32, (96, 64)), (4, (8, 12))])
def test_split_then_merge_is_the_identity(block_size, shape):
    images = np.random.default_rng(0).random((2, *shape)).astype(np.float32)
    blocks = split_blocks(images, block_size)
    assert blocks.shape == (2, shape[0] // block_size, shape[1] // block_size, block_size * block_size)
    np.testing.assert_array_equal(merge_blocks(blocks, block_size).numpy(), images)


def test_a_block_is_its_row_major_vector():
    images = np.arange(2 * 6 * 9, dtype=np.float32).reshape(2, 6, 9)
    blocks = split_blocks(images, 3).numpy()
    np.testing.assert_array_equal(blocks[1, 1, 2], images[1, 3:6, 6:9].ravel())
    columns = blocks_as_columns(images, 3)
    assert columns.shape == (9, 2 * 2 * 3)
    np.testing.assert_array_equal(columns[:, 0], images[0, :3, :3].ravel())


def test_sizes_that_are_not_whole_blocks_are_refused_and_padding_fixes_them():
    image = np.ones((40, 35), np.float32)
    with pytest.raises(ValueError, match="not a multiple of the block size 33"):
        split_blocks(tf.constant(image[None]), 33)
    padded = pad_to_blocks(image, 33)
    assert padded.shape == (66, 66)
    np.testing.assert_array_equal(padded[:40, :35], image)
    assert padded[40:].sum() == 0 and padded[:, 35:].sum() == 0
