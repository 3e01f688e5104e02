"""U-LDA's recipe and chains (lda_tf.recipes.ulda)."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from lda_tf import outputs
from lda_tf.recipes import RunConfig, ulda_config
from lda_tf.recipes.config import format_domains, parse_domains
from tests.data.synthetic import make_fastmri_files

QUICK = dict(
    num_phases=3,
    stair_initial_phases=1,
    stair_first_stage_epochs=1,
    stair_epochs_per_stage=1,
    epochs=2,
    max_images=4,
    steps_per_epoch=2,
    crop=(64, 72),
    downsample=4,
    verbose=0,
)


def test_domains_parse_and_the_settings_round_trip_through_json():
    spec = "cartesian_gaussian:20@data/knee,cartesian_gaussian:15:0:aug1"
    assert format_domains(parse_domains(spec)) == spec
    config = ulda_config("runs/x", domains=spec, step="transfer", aug=True, init_models="a.keras,b.keras")
    assert RunConfig.from_dict(config.to_dict()) == config
    assert (config.stair.initial_phases, config.epochs, config.optimizer.learning_rate) == (3, 350, 1e-4)
    with pytest.raises(ValueError, match="TYPE:PERCENT"):
        parse_domains("cartesian_gaussian:20:0:aug3")
    with pytest.raises(ValueError, match="Cartesian"):
        parse_domains("radial:20:0:aug1")


@pytest.mark.slow
def test_steps_1_and_2_with_init_and_aug_from_the_binary(tmp_path):
    """The whole chain on the embedded sample at tiny settings: g of the transferred model is the
    universal one, bit for bit."""
    flags = [f"--{k}={','.join(map(str, v)) if isinstance(v, tuple) else v}" for k, v in QUICK.items()]
    binary = [sys.executable, "experiments/train_ulda.py", *flags]
    step1, step2 = tmp_path / "step1", tmp_path / "step2"
    sources = "--domains=cartesian_gaussian:10,cartesian_gaussian:30"
    subprocess.run([*binary, "--step=universal", "--init=lda", sources, f"--output_dir={step1}"], check=True)
    init = f"--init_model={step1 / 'universal' / 'model.keras'}"
    target = "--domains=cartesian_gaussian:20"
    subprocess.run([*binary, "--step=transfer", "--aug", target, init, f"--output_dir={step2}"], check=True)
    universal = outputs.load_model(step1 / "universal" / "model.keras")
    transferred = outputs.load_model(step2 / "transfer" / "model.keras")
    assert (universal.num_domains, transferred.num_domains) == (2, 3)
    for a, b in zip(universal.features.weights, transferred.features.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert {p.name for p in step2.iterdir()} == {"aug1", "aug2", "transfer"}


@pytest.mark.slow
def test_steps_1_and_2_and_evaluation_on_fastmri_format_files(tmp_path):
    """Synthetic fastMRI HDF5 files (multi-coil "brain", single-coil "knee" and "cardiac") converted
    by data_prep/fastmri.py; Step 1 on brain and knee, Step 2 with AUG on cardiac (recomputation
    switched off for Step 2 only: a runtime setting), evaluate.py on the cardiac group."""
    python, data = sys.executable, {}
    for seed, (name, multicoil) in enumerate([("brain", True), ("knee", False), ("cardiac", False)]):
        make_fastmri_files(tmp_path / "raw" / name, num_files=4, multicoil=multicoil, seed=seed)
        data[name] = tmp_path / name
        convert = [python, "data_prep/fastmri.py", f"--input_dir={tmp_path / 'raw' / name}", "--size=24,24"]
        subprocess.run([*convert, f"--output_dir={data[name]}"], check=True)
    quick = {**QUICK, "num_phases": 2, "crop": None, "downsample": 1}
    flags = [f"--{k}={v}" for k, v in quick.items() if v is not None]
    binary = [python, "experiments/train_ulda.py", *flags]
    step1, step2 = tmp_path / "step1", tmp_path / "step2"
    sources = f"--domains=cartesian_gaussian:20@{data['brain']},cartesian_gaussian:20@{data['knee']}"
    subprocess.run([*binary, "--step=universal", sources, f"--output_dir={step1}"], check=True)
    target = f"--domains=cartesian_gaussian:20@{data['cardiac']}"
    init = f"--init_model={step1 / 'universal' / 'model.keras'}"
    step2_flags = ["--step=transfer", "--aug", target, init, "--recompute_phases=false"]
    subprocess.run([*binary, *step2_flags, f"--output_dir={step2}"], check=True)
    universal = outputs.load_model(step1 / "universal" / "model.keras")
    transferred = outputs.load_model(step2 / "transfer" / "model.keras")
    assert (universal.num_domains, transferred.num_domains) == (2, 3)
    assert universal.recompute_phases and not transferred.recompute_phases
    for a, b in zip(universal.features.weights, transferred.features.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    evaluation = tmp_path / "eval"
    model = f"--model={step2 / 'transfer' / 'model.keras'}"
    subprocess.run(
        [python, "experiments/evaluate.py", model, "--domain=2", f"--output_dir={evaluation}"], check=True
    )
    resolved = json.loads((evaluation / "config.json").read_text())["settings"]["resolved"]
    assert resolved["dataset_dir"] == str(data["cardiac"]) and resolved["tasks"] == "cartesian_gaussian:20"
    with open(evaluation / "per_image.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 5  # the test split: one file of 5 slices


def test_without_domain_groups_step_1_is_pooled_lda_and_step_2_fine_tunes_everything(tmp_path):
    """``domain_groups=False``: Step 1 builds the network without adapters or per-domain steps (LDA
    on the pooled domains); Step 2 trains every weight of it (the LDA baseline fine-tuned on a
    target), and refuses a model with groups."""
    from lda_tf.atomic import save_model
    from lda_tf.recipes.ulda import TransferStep, UniversalStep

    small = dict(num_phases=1, recompute_phases=False)
    pooled = UniversalStep(ulda_config(str(tmp_path / "a"), domain_groups=False, **small)).build_network()
    assert pooled.num_domains == 0 and pooled.adapters is None
    save_model(pooled, tmp_path / "pooled.keras")
    settings = dict(
        step="transfer", domains="cartesian_gaussian:15", init_model=str(tmp_path / "pooled.keras")
    )
    tuned = TransferStep(ulda_config(str(tmp_path / "b"), domain_groups=False, **settings, **small))
    network = tuned.build_network()
    assert tuned.first_domain == 0 and network.features.trainable
    trainable = {id(v) for v in network.trainable_variables}
    frozen = [v.name for v in network.variables if id(v) not in trainable]
    assert frozen == ["active_phases"]  # a counter, not a weight (the layer's name depends on the process)
    grouped = UniversalStep(ulda_config(str(tmp_path / "c"), **small)).build_network()
    save_model(grouped, tmp_path / "grouped.keras")
    settings["init_model"] = str(tmp_path / "grouped.keras")
    with pytest.raises(ValueError, match="has domain groups; `domain_groups` false fine-tunes"):
        TransferStep(ulda_config(str(tmp_path / "d"), domain_groups=False, **settings, **small))
