"""Natural images for block CS: luminance, user folders, offline defaults, random crops."""

import numpy as np
import pytest
import skimage.io

from lda_tf.data.natural import (
    SKIMAGE_TEST,
    SKIMAGE_TEST_LABEL,
    SKIMAGE_TRAIN,
    load_test_images,
    load_training_images,
    luminance,
    random_patches,
    read_folder,
)


def test_luminance_uses_bt601_weights_and_the_integer_range():
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)
    rgb[0, 1] = (0, 255, 0)
    rgb[1, 0] = (0, 0, 255)
    rgb[1, 1] = (255, 255, 255)
    np.testing.assert_allclose(luminance(rgb, "x"), [[0.299, 0.587], [0.114, 1.0]], atol=1e-6)
    np.testing.assert_allclose(luminance(np.full((2, 2), 65535, np.uint16), "x"), 1.0)
    with pytest.raises(ValueError, match="bad.png: floating-point image values must lie in"):
        luminance(np.full((2, 2), 2.0), "bad.png")


def test_read_folder_reads_images_by_name_and_names_bad_files(tmp_path):
    rng = np.random.default_rng(0)
    skimage.io.imsave(tmp_path / "b.png", rng.integers(0, 256, (40, 50, 3), dtype=np.uint8))
    skimage.io.imsave(tmp_path / "a.png", rng.integers(0, 256, (30, 20), dtype=np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    images = read_folder(tmp_path)
    assert images.names == ["a", "b"] and [i.shape for i in images.images] == [(30, 20), (40, 50)]
    assert images.label == str(tmp_path)
    with pytest.raises(ValueError, match=r"a.png: image is 30x20, smaller than 33"):
        read_folder(tmp_path, min_size=33)
    (tmp_path / "c.png").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="c.png: cannot read the image"):
        read_folder(tmp_path)
    with pytest.raises(ValueError, match="no image files"):
        read_folder(tmp_path / "empty" if (tmp_path / "empty").mkdir() is None else tmp_path)
    with pytest.raises(FileNotFoundError, match="no such image folder"):
        read_folder(tmp_path / "missing")


def test_offline_defaults_are_disjoint_and_labelled_not_set11():
    assert not set(SKIMAGE_TRAIN) & set(SKIMAGE_TEST)
    test = load_test_images(None, size=64)
    assert test.label == SKIMAGE_TEST_LABEL and "not Set11" in test.label
    assert all(image.shape == (64, 64) and 0 <= image.min() and image.max() <= 1 for image in test.images)
    train = load_training_images(None, min_size=96)
    assert len(train.images) == len(SKIMAGE_TRAIN) and min(min(i.shape) for i in train.images) >= 96


def test_random_patches_are_seeded_crops_of_the_images():
    images = [np.arange(50 * 60, dtype=np.float32).reshape(50, 60), np.ones((40, 40), np.float32)]
    patches = random_patches(images, 33, 20, seed=3)
    assert patches.shape == (20, 33, 33)
    np.testing.assert_array_equal(patches, random_patches(images, 33, 20, seed=3))
    for patch in patches:
        if patch[0, 0] != 1 or patch.std() > 0:  # a crop of the first image: consecutive rows of 60
            np.testing.assert_array_equal(np.diff(patch[:, 0]), 60)
    with pytest.raises(ValueError, match="smaller than the 45x45"):
        random_patches(images, 45, 2, seed=0)
