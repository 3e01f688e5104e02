"""The MRI recipes check their dataset when a run starts (issue 13 item 6)."""

import shutil

import pytest

from lda_tf.data import CorruptDatasetError
from lda_tf.data.sample import sample_dir
from lda_tf.recipes import conventional_config, train


def test_a_run_on_a_bit_flipped_shard_stops_before_training_naming_it(tmp_path):
    dataset = tmp_path / "dataset"
    shutil.copytree(sample_dir(), dataset)
    shard = next(dataset.glob("val-*.tfrecord"))
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0x01  # same size: only the checksum can tell
    shard.write_bytes(bytes(data))
    run = tmp_path / "run"
    config = conventional_config(
        str(run),
        dataset_dir=str(dataset),
        epochs=1,
        steps_per_epoch=1,
        batch_size=2,
        max_images=2,
        downsample=10,
        num_phases=1,
        verbose=0,
    )
    with pytest.raises(CorruptDatasetError, match=rf"{shard.name}.*checksum differs"):
        train(config)
    assert not run.exists()
