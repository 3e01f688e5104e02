"""experiments/export.py and lda_tf/serving.py: the SavedModel loads and runs in a fresh process
that never imports lda_tf, and gives the Keras model's magnitude to float round-off, at two image
sizes and batch sizes (dynamic shapes), through both signatures and through a REST request body
turned into tensors as TensorFlow Serving's row format does."""

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from lda_tf import UnrolledLOA
from lda_tf.atomic import save_model
from lda_tf.cs import BlockSampling
from lda_tf.data.sample import load_sample
from lda_tf.loa import ReleaseUnrolled
from lda_tf.mri import MRIInputs, MRISampling, make_mask, simulate_kspace
from lda_tf.mri.release import ReleaseSampling
from lda_tf.serving import export_saved_model, rest_request

ROOT = Path(__file__).resolve().parents[1]
SIGNATURES = ("default", "complex", "rest")  # serving_default, complex, a REST body through serving_default

# Run with the repository NOT on the path, from an empty folder: lda_tf cannot be imported there
# unless installed, and the script checks it was not.
LOAD_AND_RUN = r"""
import json, sys
import numpy as np
import tensorflow as tf

loaded = tf.saved_model.load(sys.argv[1])
inputs = dict(np.load(sys.argv[2]))
results = {}
for size in ("a", "b"):
    kspace, mask = inputs[f"kspace_{size}"], inputs[f"mask_{size}"]
    extra = {"task_index": tf.constant(inputs[f"task_{size}"])} if f"task_{size}" in inputs else {}
    default = loaded.signatures["serving_default"](
        kspace_real=tf.constant(kspace.real),
        kspace_imag=tf.constant(kspace.imag),
        mask=tf.constant(mask),
        **extra,
    )
    complex_ = loaded.signatures["complex"](kspace=tf.constant(kspace), mask=tf.constant(mask), **extra)
    results[f"default_{size}"] = default["image"].numpy()
    results[f"complex_{size}"] = complex_["image"].numpy()
    # A REST body, as TensorFlow Serving's row format reads it: each named value stacked over instances.
    body = json.load(open(f"{sys.argv[3]}_{size}.json"))
    signature = loaded.signatures[body.get("signature_name", "serving_default")]
    specs = signature.structured_input_signature[1]
    assert set(specs) == set(body["instances"][0]), (set(specs), set(body["instances"][0]))
    tensors = {
        name: tf.constant(np.array([item[name] for item in body["instances"]]), dtype=spec.dtype)
        for name, spec in specs.items()
    }
    results[f"rest_{size}"] = signature(**tensors)["image"].numpy()
assert not [name for name in sys.modules if name == "lda_tf" or name.startswith("lda_tf.")]
np.savez(sys.argv[4], **results)
"""


def _batch(height: int, width: int, count: int, num_tasks: int, offset: int):
    images = load_sample("test")[offset : offset + count, 60 : 60 + height, 70 : 70 + width]
    ratios = (0.2, 0.4, 0.3)
    masks = np.stack([make_mask("radial", (height, width), ratios[i % 3], seed=0) for i in range(count)])
    kspace = simulate_kspace(images, masks).numpy() * 300.0  # a scanner's scale, not the training's 1
    tasks = np.arange(count, dtype=np.int32) % num_tasks if num_tasks else None
    return kspace, masks.astype(np.float32), tasks


def _load_elsewhere(tmp_path: Path, saved_model: Path, batches: dict) -> dict:
    arrays = {}
    for size, (kspace, mask, tasks) in batches.items():
        arrays.update({f"kspace_{size}": kspace, f"mask_{size}": mask})
        if tasks is not None:
            arrays[f"task_{size}"] = tasks
        (tmp_path / f"request_{size}.json").write_text(json.dumps(rest_request(kspace, mask, tasks)))
    np.savez(tmp_path / "inputs.npz", **arrays)
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            LOAD_AND_RUN,
            str(saved_model),
            str(tmp_path / "inputs.npz"),
            str(tmp_path / "request"),
            str(tmp_path / "outputs.npz"),
        ],
        cwd=empty,
        env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "2"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(np.load(tmp_path / "outputs.npz"))


def _network(num_tasks: int, **settings) -> UnrolledLOA:
    keras.utils.set_random_seed(0)
    network = UnrolledLOA(MRISampling(name="measurement"), num_phases=2, num_tasks=num_tasks, **settings)
    if num_tasks:  # distinct task weights, so that the task index matters
        network.omega.assign(tf.linspace(-1.0, 1.0, num_tasks))
    return network


def _compare(network, batches: dict, outputs: dict) -> float:
    worst = 0.0
    for size, (kspace, mask, tasks) in batches.items():
        # the documented normalisation: y / s in, |x_T| s out, s the zero-filled peak (NumPy's FFT)
        axes = (-2, -1)
        zero_filled = np.fft.fftshift(
            np.fft.ifft2(np.fft.ifftshift(kspace * mask, axes=axes), norm="ortho"), axes=axes
        )
        scale = np.abs(zero_filled).max(axis=axes, keepdims=True)
        inputs = MRIInputs(tf.constant((kspace / scale).astype(np.complex64)), tf.constant(mask), tasks)
        expected = np.abs(network(inputs).numpy()) * scale
        for signature in SIGNATURES:
            served = outputs[f"{signature}_{size}"]
            assert served.shape == expected.shape
            worst = max(worst, float(np.max(np.abs(served - expected)) / np.max(expected)))
    return worst


def _export(tmp_path: Path) -> subprocess.CompletedProcess:
    """``experiments/export.py`` from the command line: ``run/model.keras`` into ``served``."""
    return subprocess.run(
        [
            sys.executable,
            "experiments/export.py",
            f"--model={tmp_path / 'run' / 'model.keras'}",
            f"--output_dir={tmp_path / 'served'}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_exported_meta_network_runs_without_lda_tf_and_matches_keras(tmp_path):
    network = _network(num_tasks=3)
    save_model(network, tmp_path / "run" / "model.keras")
    done = _export(tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "task_index" in done.stdout
    assert {entry.name for entry in (tmp_path / "served").iterdir()} == {"1", "config.json"}
    assert (tmp_path / "served" / "1" / "saved_model.pb").is_file()
    batches = {"a": _batch(16, 18, 3, 3, 0), "b": _batch(20, 24, 2, 3, 5)}
    outputs = _load_elsewhere(tmp_path, tmp_path / "served" / "1", batches)
    difference = _compare(network, batches, outputs)
    print(f"largest |served - keras| / max|keras|: {difference:.2e}")
    assert difference < 1e-5  # float32 round-off (the graph may fuse or order operations differently)

    again = _export(tmp_path)
    assert again.returncode == 2 and "error: --output_dir" in again.stderr and "--overwrite" in again.stderr


def test_network_without_tasks_has_no_task_index_and_matches_keras(tmp_path):
    network = _network(num_tasks=0, policy="residual")
    export_saved_model(network, tmp_path / "served", {"model": "in memory"})
    description = json.loads((tmp_path / "served" / "serving.json").read_text())
    assert description["signatures"]["serving_default"]["inputs"] == ["kspace_real", "kspace_imag", "mask"]
    batches = {"a": _batch(16, 18, 2, 0, 0), "b": _batch(12, 20, 3, 0, 4)}
    outputs = _load_elsewhere(tmp_path, tmp_path / "served", batches)
    assert _compare(network, batches, outputs) < 1e-5


def test_ulda_network_takes_its_domain_index_and_matches_keras(tmp_path):
    """U-LDA (Universal LDA, paper 002): one adapter and step sizes per domain; ``task_index`` is
    the domain, and a wrong domain would change the image (the adapters are drawn at random)."""
    keras.utils.set_random_seed(3)
    network = UnrolledLOA.ulda_paper(
        MRISampling(name="measurement"), 2, num_phases=2, num_layers=3, num_filters=4, adapter_init="random"
    )
    export_saved_model(network, tmp_path / "served", {"model": "in memory"})
    description = json.loads((tmp_path / "served" / "serving.json").read_text())
    assert description["signatures"]["serving_default"]["inputs"][-1] == "task_index"
    batches = {"a": _batch(16, 18, 2, 2, 0), "b": _batch(12, 20, 3, 2, 4)}
    outputs = _load_elsewhere(tmp_path, tmp_path / "served", batches)
    assert _compare(network, batches, outputs) < 1e-5
    kspace, mask, domains = batches["a"]
    swapped = _compare(
        network, {"a": (kspace, mask, 1 - domains)}, {f"{s}_a": outputs[f"{s}_a"] for s in SIGNATURES}
    )
    assert swapped > 1e-3  # the domain index reaches the network


def test_release_network_matches_keras(tmp_path):
    """The authors' release as it runs (ReleaseUnrolled on ReleaseSampling: centred k-space in,
    its uncentred operator inside), with its complex task weights."""
    keras.utils.set_random_seed(0)
    network = ReleaseUnrolled(ReleaseSampling(name="measurement"), num_phases=2, num_tasks=3)
    export_saved_model(network, tmp_path / "served", {"model": "in memory"})
    batches = {"a": _batch(16, 18, 2, 3, 0), "b": _batch(12, 20, 3, 3, 4)}
    outputs = _load_elsewhere(tmp_path, tmp_path / "served", batches)
    assert _compare(network, batches, outputs) < 1e-5


def test_block_cs_network_is_refused(tmp_path):
    network = UnrolledLOA.lda_paper(
        BlockSampling(0.25, block_size=4, name="measurement"), num_phases=1, num_filters=4
    )
    with pytest.raises(ValueError, match="not MRI k-space"):
        export_saved_model(network, tmp_path / "served", {})
