"""Block compressed sensing of natural images (LDA paper 4.2.1-4.2.2): block geometry, sampling
and initialisation matrices, the measurement layer."""

from lda_tf.cs.blocks import blocks_as_columns, merge_blocks, pad_to_blocks, split_blocks
from lda_tf.cs.matrices import least_squares_initialization, measurement_count, orthonormal_gaussian
from lda_tf.cs.sampling import BlockOperator, BlockSampling

__all__ = [
    "BlockOperator",
    "BlockSampling",
    "blocks_as_columns",
    "least_squares_initialization",
    "measurement_count",
    "merge_blocks",
    "orthonormal_gaussian",
    "pad_to_blocks",
    "split_blocks",
]
