"""The image-folder converter (lda_tf.data.images, data_prep/images.py) on tiny synthetic files of
every format, against NumPy formulas: BT.601 luminance, centre crops, bicubic resizing of a smooth
pattern, magnitudes, per-image maxima, file-wise seeded splits."""

import json
import subprocess
import sys

import h5py
import numpy as np
import pytest
import scipy.io
import skimage.io

from lda_tf.atomic import OutputExistsError
from lda_tf.data.images import convert_images, fit_size, prepare_image, subset_dataset, write_image_dataset
from lda_tf.data.shards import read_manifest, read_split_images, verify_dataset
from tests.data.synthetic import write_nifti


def _all_images(directory):
    return {split: read_split_images(directory, split) for split in read_manifest(directory)["shards"]}


def test_colour_png_becomes_bt601_luminance_normalised_by_its_maximum(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    skimage.io.imsave(tmp_path / "photo.png", rgb, check_contrast=False)
    image = prepare_image(skimage.io.imread(tmp_path / "photo.png"), (20, 24), "crop", "photo")
    luminance = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    np.testing.assert_allclose(image, luminance / luminance.max(), rtol=1e-6)
    assert image.dtype == np.float32 and image.max() == 1.0


def test_crop_takes_the_centre_and_refuses_small_images():
    image = np.arange(10 * 12, dtype=np.float64).reshape(10, 12)
    np.testing.assert_array_equal(fit_size(image, (4, 6), "crop", "x"), image[3:7, 3:9])
    with pytest.raises(
        ValueError, match="x: image is 10x12, smaller than the crop 16x16; use argument `fit`"
    ):
        fit_size(image, (16, 16), "crop", "x")


def test_resize_samples_a_smooth_pattern_and_keeps_the_aspect_ratio():
    """A low-frequency pattern enlarged 4x equals the pattern sampled at the new pixel centres
    (away from the borders, where the reflected extension differs); a wide image is first cut to
    its centre square (the side bands, set to 5, never show). A half-pixel misalignment would
    err by ~0.1."""

    def pattern(n):
        centres = (np.arange(n) + 0.5) / n  # pixel centres in [0, 1]
        return 1.5 + np.cos(2 * np.pi * centres)[:, None] * np.sin(np.pi * centres)[None, :]

    enlarged = fit_size(pattern(32), (128, 128), "resize", "x")
    inner = np.s_[8:-8, 8:-8]
    np.testing.assert_allclose(enlarged[inner], pattern(128)[inner], atol=1e-2)
    wide = np.full((32, 64), 5.0)
    wide[:, 16:48] = pattern(32)
    np.testing.assert_allclose(
        fit_size(wide, (128, 128), "resize", "x")[inner], pattern(128)[inner], atol=1e-2
    )
    shrunk = fit_size(np.kron(pattern(32), np.ones((4, 4))), (32, 32), "resize", "x")  # anti-aliased
    np.testing.assert_allclose(shrunk[2:-2, 2:-2], pattern(32)[2:-2, 2:-2], atol=1e-2)


def test_every_array_format_and_the_split_by_file(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    rng = np.random.default_rng(1)
    volume = rng.uniform(0.1, 1.0, (8, 10, 4)).astype(np.float32)
    volume[..., 0] = 0.0  # an empty slice: skipped and counted
    write_nifti(raw / "vol.nii.gz", volume)  # NIfTI: slices along the last axis
    complex_stack = (rng.standard_normal((3, 8, 10)) + 1j * rng.standard_normal((3, 8, 10))).astype(
        np.complex64
    )
    np.save(raw / "complex.npy", complex_stack)  # magnitudes
    with h5py.File(raw / "series.h5", "w") as handle:
        handle["images"] = rng.uniform(0.1, 1, (2, 8, 10))
        handle["meta/scalar"] = 3.0
    cine = rng.uniform(0.1, 1, (5, 8, 10))  # MATLAB [T, H, W]
    scipy.io.savemat(raw / "cine_v5.mat", {"seq": cine})
    with h5py.File(raw / "cine_v73.mat", "w") as handle:  # v7.3: HDF5, column-major (axes reversed)
        handle["seq"] = cine.T
    manifest = convert_images(
        raw, tmp_path / "out", size=(8, 10), fit="crop", key=None, fractions=(0.6, 0.2, 0.2), seed=3
    )
    images = _all_images(tmp_path / "out")
    assert sum(len(v) for v in images.values()) == 3 + 3 + 2 + 5 + 5
    members = {name: split for split, entry in manifest["splits"].items() for name in entry["patients"]}
    assert sorted(members) == ["cine_v5", "cine_v73", "complex", "series", "vol"]
    sources = {
        name: entry["sources"][name] for entry in manifest["splits"].values() for name in entry["patients"]
    }
    assert sources["vol"]["skipped_empty"] == 1 and sources["vol"]["slices"] == [1, 2, 3]
    everything = np.concatenate(list(images.values()))
    for expected in [
        *(volume[..., k] for k in (1, 2, 3)),
        *np.abs(complex_stack),
        *cine,
    ]:
        target = expected / expected.max()
        assert np.min(np.abs(everything - target).max(axis=(1, 2))) < 1e-6  # some image equals it
    assert np.allclose(everything.max(axis=(1, 2)), 1.0)
    again = convert_images(
        raw, tmp_path / "again", size=(8, 10), fit="crop", fractions=(0.6, 0.2, 0.2), seed=3
    )
    assert again["splits"] == manifest["splits"]  # seeded: the same split
    with pytest.raises(OutputExistsError):
        convert_images(raw, tmp_path / "out", size=(8, 10), fit="crop")
    verify_dataset(tmp_path / "out", checksums=True)


def test_arrays_are_named_by_key_when_a_file_holds_several(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    with h5py.File(raw / "two.h5", "w") as handle:
        handle["a"] = np.ones((2, 6, 6))
        handle["b"] = np.ones((6, 6))
    with pytest.raises(
        ValueError, match=r"two.h5: name the image array with argument `key`; found \['a', 'b'\]"
    ):
        convert_images(raw, tmp_path / "out", size=(6, 6), fractions=(1, 0, 0))
    with pytest.raises(ValueError, match="no numeric array 'c'"):
        convert_images(raw, tmp_path / "out", size=(6, 6), key="c", fractions=(1, 0, 0))
    convert_images(raw, tmp_path / "out", size=(6, 6), key="a", fractions=(1, 0, 0))
    assert len(read_split_images(tmp_path / "out", "train")) == 2
    assert not (tmp_path / "other").exists()


def test_colour_stack_split_by_image_with_a_seeded_choice(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    stack = np.random.default_rng(2).integers(1, 256, (40, 4, 4, 3), dtype=np.uint8)  # "CIFAR"
    np.save(raw / "batch.npy", stack)
    manifest = convert_images(
        raw, tmp_path / "out", size=(16, 16), split_by="image", max_members=10, fractions=(0.6, 0.2, 0.2)
    )
    names = [name for entry in manifest["splits"].values() for name in entry["patients"]]
    assert len(names) == 10 and len(set(names)) == 10 and all(name.startswith("batch:") for name in names)
    images = _all_images(tmp_path / "out")
    assert [len(images[s]) for s in ("train", "val", "test")] == [6, 2, 2]
    index = int(manifest["splits"]["train"]["patients"][0].split(":")[1])
    luminance = stack[index].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    expected = fit_size(luminance, (16, 16), "resize", "x")
    np.testing.assert_allclose(images["train"][0], expected / expected.max(), rtol=1e-5, atol=1e-6)


def test_subset_and_in_memory_datasets(tmp_path):
    rng = np.random.default_rng(4)
    splits = {
        s: (rng.uniform(0.1, 1, (n, 5, 6)).astype(np.float32), [f"{s}{i}" for i in range(n)])
        for s, n in (("train", 6), ("val", 2), ("test", 3))
    }
    write_image_dataset(tmp_path / "full", splits, "toy", {"made": "by a test"})
    selection = {"train": ("train", [4, 1]), "val": ("val", None), "test": ("test", [2])}
    subset_dataset(tmp_path / "full", tmp_path / "part", selection)
    part = _all_images(tmp_path / "part")
    np.testing.assert_array_equal(part["train"], splits["train"][0][[4, 1]])
    np.testing.assert_array_equal(part["val"], splits["val"][0])
    np.testing.assert_array_equal(part["test"], splits["test"][0][[2]])
    record = read_manifest(tmp_path / "part")["derived_from"]
    assert record["selection"]["train"] == {"split": "train", "indices": [4, 1]}
    stamp = (tmp_path / "part" / "manifest.json").stat().st_mtime_ns
    subset_dataset(tmp_path / "full", tmp_path / "part", selection)  # same record: reused
    assert (tmp_path / "part" / "manifest.json").stat().st_mtime_ns == stamp
    subset_dataset(tmp_path / "full", tmp_path / "part", {**selection, "train": ("train", [0])})
    assert len(read_split_images(tmp_path / "part", "train")) == 1  # another record: rebuilt
    with pytest.raises(ValueError, match="split 'test' has 3 images; cannot take indices"):
        subset_dataset(tmp_path / "full", tmp_path / "bad", {"test": ("test", [3])})


def test_command_line_and_its_errors(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for index in range(4):
        skimage.io.imsave(
            raw / f"img{index}.png", np.full((12, 14), 40 * index + 30, np.uint8), check_contrast=False
        )
    binary = [sys.executable, "data_prep/images.py", f"--input_dir={raw}", "--size=8,8"]
    done = subprocess.run(
        [*binary, f"--output_dir={tmp_path / 'out'}", "--dataset=toy"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    manifest = read_manifest(tmp_path / "out")
    assert manifest["dataset"] == "toy" and manifest["provenance"]["settings"]["size"] == ["8", "8"]
    assert json.dumps(manifest).count("sha256") >= 4
    for flags, message in [
        (["--size=8"], "--size must be two positive integers"),
        (["--fit=crop", "--size=20,20"], "smaller than the crop 20x20; use --fit 'resize'"),
    ]:
        done = subprocess.run(
            [*binary, f"--output_dir={tmp_path / 'x'}", *flags], capture_output=True, text=True
        )
        assert done.returncode != 0 and message in done.stderr, (flags, done.stderr)
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "x").exists()
