import json
import shutil

import numpy as np
import pytest

from lda_tf.data import CorruptDatasetError, load_images, read_manifest, verify_dataset
from lda_tf.data.shards import SplitSlices, sha256, write_dataset

NUM_IMAGES = 16


@pytest.fixture
def dataset(tmp_path):
    images = np.random.default_rng(0).random((NUM_IMAGES, 8, 6)).astype(np.float32)
    splits = {
        "train": SplitSlices(images, ["p"] * NUM_IMAGES, list(range(NUM_IMAGES))),
        "test": SplitSlices(images[:2], ["q"] * 2, [0, 1]),
    }
    return write_dataset(tmp_path / "data", splits, {"dataset": "synthetic"}), images


def _shard(dataset_dir):
    return dataset_dir / "train-00000-of-00001.tfrecord"


def _rewrite_manifest(dataset_dir, change):
    manifest = json.loads((dataset_dir / "manifest.json").read_text())
    change(manifest)
    (dataset_dir / "manifest.json").write_text(json.dumps(manifest))


def _as_old_manifest(manifest):
    for entry in manifest["shards"].values():
        del entry["bytes"], entry["num_images_by_file"]


def test_manifest_records_every_shards_size_count_and_checksum(dataset):
    dataset_dir, images = dataset
    entry = read_manifest(dataset_dir)["shards"]["train"]
    name = _shard(dataset_dir).name
    assert entry["files"] == [name] and entry["num_images"] == NUM_IMAGES
    assert entry["num_images_by_file"] == {name: NUM_IMAGES}
    assert entry["bytes"] == {name: _shard(dataset_dir).stat().st_size}
    assert entry["sha256"] == {name: sha256(_shard(dataset_dir))}
    verify_dataset(dataset_dir, checksums=True)
    np.testing.assert_array_equal(load_images(dataset_dir, "train"), images)


def test_a_truncated_shard_is_named_not_loaded_in_part(dataset):
    dataset_dir, _ = dataset
    shard = _shard(dataset_dir)
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    with pytest.raises(CorruptDatasetError, match=rf"{shard.name}.*bytes, the manifest records"):
        load_images(dataset_dir, "train")
    with pytest.raises(CorruptDatasetError, match=shard.name):
        verify_dataset(dataset_dir)
    assert load_images(dataset_dir, "test").shape == (2, 8, 6)  # the other split is intact


def test_an_old_manifest_loads_and_its_counts_are_checked(dataset):
    dataset_dir, images = dataset
    _rewrite_manifest(dataset_dir, _as_old_manifest)
    np.testing.assert_array_equal(load_images(dataset_dir, "train"), images)
    shard = _shard(dataset_dir)
    record = shard.stat().st_size // NUM_IMAGES  # equal-sized records: cut at a record boundary
    shard.write_bytes(shard.read_bytes()[: 8 * record])
    with pytest.raises(CorruptDatasetError, match=rf"{shard.name}.*holds 8 images, the manifest records 16"):
        load_images(dataset_dir, "train")


def test_a_flipped_bit_is_named_on_load_and_by_the_checksum(dataset):
    dataset_dir, _ = dataset
    shard = _shard(dataset_dir)
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0x10
    shard.write_bytes(bytes(data))
    verify_dataset(dataset_dir)  # the fast check: same size
    with pytest.raises(CorruptDatasetError, match=rf"{shard.name}.*checksum differs"):
        verify_dataset(dataset_dir, checksums=True)
    with pytest.raises(CorruptDatasetError, match=rf"{shard.name}: shard of split 'train' cannot be read"):
        load_images(dataset_dir, "train")


def test_missing_shard_and_missing_records_are_explained(dataset):
    dataset_dir, _ = dataset
    _rewrite_manifest(dataset_dir, lambda m: m["shards"]["train"].pop("sha256"))
    verify_dataset(dataset_dir)
    with pytest.raises(CorruptDatasetError, match="records no sha256 for train-00000"):
        verify_dataset(dataset_dir, checksums=True)
    _shard(dataset_dir).unlink()
    with pytest.raises(
        FileNotFoundError, match="train-00000-of-00001.tfrecord: shard of split 'train' is missing"
    ):
        load_images(dataset_dir, "train")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m.pop("shards"), "no 'shards' entry"),
        (lambda m: m.pop("image_shape"), "image_shape must be two positive integers"),
        (lambda m: m["shards"]["train"].pop("files"), "split 'train' lists no shard files"),
        (lambda m: m["shards"]["train"].update(files=["../../etc/passwd"]), "plain file names"),
    ],
)
def test_a_manifest_lacking_what_loading_needs_says_so(dataset, change, message):
    dataset_dir, _ = dataset
    _rewrite_manifest(dataset_dir, change)
    with pytest.raises(ValueError, match=rf"manifest.json: .*{message}.*convert the dataset again"):
        load_images(dataset_dir, "train")


def test_garbage_manifest_is_not_valid_json(dataset):
    dataset_dir, _ = dataset
    (dataset_dir / "manifest.json").write_bytes(b"\xff\x00garbage")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_images(dataset_dir, "train")
    shutil.rmtree(dataset_dir)
    with pytest.raises(FileNotFoundError, match="no such dataset directory"):
        load_images(dataset_dir, "train")
