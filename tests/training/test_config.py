"""Typed run settings: JSON round trip, overrides by flat name, checks, and the comparison that
resume and reuse rely on."""

import json

import pytest

from lda_tf import UnrolledLOA
from lda_tf.cs import BlockSampling
from lda_tf.data import Task
from lda_tf.mri.measurement import MRISampling
from lda_tf.recipes import (
    RunConfig,
    adaptation_config,
    block_cs_config,
    conventional_config,
    lda_mri_config,
    meta_config,
    ulda_config,
)
from lda_tf.training.config import NetworkConfig, differences, lda_paper_network, ulda_paper_network

CONFIGS = [
    meta_config("runs/m", epochs=3, tasks="radial:20,cartesian:30:2", crop=(16, 18), stair_initial_phases=1),
    conventional_config("runs/c", noise_snr_db=20.0, relu_delta=0.01),
    adaptation_config("runs/a", init_model="runs/m/model.keras"),
    block_cs_config("runs/b", 10, num_phases=5, num_filters=4),
    block_cs_config("runs/l", 30, learned=True),
    lda_mri_config("runs/r", 20, num_phases=5),
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda config: config.output_dir)
def test_json_round_trip(config):
    text = json.dumps(config.to_dict())
    assert RunConfig.from_dict(json.loads(text)) == config


def test_tasks_are_task_objects_and_print_as_the_flag_spells_them():
    config = meta_config("runs/m", tasks="radial:20,cartesian:30:2")
    assert config.data.tasks == (Task("radial", 0.2), Task("cartesian", 0.3, 2))
    assert ",".join(map(str, config.data.tasks)) == "radial:20,cartesian:30:2"


def test_presets_spell_out_their_network():
    assert NetworkConfig() == meta_config("x").network  # the meta paper's network
    assert lda_mri_config("x", 10).recipe == "conventional"
    assert lda_mri_config("x", 10).network == lda_paper_network(num_phases=11)
    assert (
        lda_mri_config("x", 10).stair.initial_phases == 3
        and lda_mri_config("x", 10).stair.phases_per_stage == 2
    )
    # warm start 3 (500 epochs), 5, 7, 9, 11 (200 each): the LDA paper's schedule
    assert lda_mri_config("x", 10).epochs == 500 + 4 * 200
    assert block_cs_config("x", 10, num_phases=1).stair.initial_phases == 1


@pytest.mark.parametrize(
    "config, preset, measurement",
    [
        (NetworkConfig(), UnrolledLOA.meta_paper, lambda: MRISampling(name="measurement")),
        (lda_paper_network(), UnrolledLOA.lda_paper, lambda: BlockSampling(0.1, 33, name="measurement")),
        (ulda_paper_network(), UnrolledLOA.ulda_paper, lambda: MRISampling(name="measurement")),
    ],
)
def test_network_config_builds_the_unrolled_loa_preset(config, preset, measurement):
    built = config.build(measurement(), num_tasks=2 if config.preset == "meta_paper" else 0)
    reference = preset(measurement=measurement(), num_tasks=built.num_tasks)
    ignore = {"name", "trainable", "dtype"}
    assert {k: v for k, v in built.get_config().items() if k not in ignore} == {
        k: v for k, v in reference.get_config().items() if k not in ignore
    }


@pytest.mark.parametrize(
    "settings, message",
    [
        (dict(learning_rate=float("nan")), "argument `learning_rate` must be a finite number; got nan"),
        (dict(noise_snr_db=float("inf")), "argument `noise_snr_db` must be a finite number"),
        (dict(epochs=0), "argument `epochs` must be >= 1; got 0"),
        (dict(seed=-1), "argument `seed` must be >= 0"),
        (dict(policy="newton"), "argument `policy` must be one of"),
        (dict(crop=(16,)), "argument `crop` must be HEIGHT,WIDTH"),
        (
            dict(tasks="spiral:10"),
            "argument `mask_type` must be one of 'cartesian', ",
        ),
        (dict(stair_initial_phases=0), "argument `stair_initial_phases` must be >= 1"),
        (dict(nu_delta=1.5), "nu_delta"),
        (dict(kernel_size=3), "unknown settings"),
    ],
)
def test_bad_settings_are_refused_naming_the_argument(settings, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        meta_config("runs/m", **settings)


def test_differences_split_refused_from_allowed_settings():
    old = meta_config("runs/m", epochs=5)
    new = old.replace(epochs=8, verbose=0, image_every=1, distribute="mirrored", tasks="radial:10", seed=1)
    refused, allowed = differences(old, new)
    assert [name for name, _, _ in refused] == ["seed", "tasks"]
    assert {name for name, _, _ in allowed} == {"epochs", "verbose", "image_every", "distribute"}
    fewer = differences(old, old.replace(epochs=4))[0]
    assert fewer == [("epochs", 5, 4)]  # fewer epochs than trained is not the same run
    stair = differences(old, old.replace(stair_initial_phases=1))[0]
    assert [name for name, _, _ in stair] == ["stair"]
    data = differences(block_cs_config("x", 10), meta_config("x"))[0]
    assert "data" in [name for name, _, _ in data] and "recipe" in [name for name, _, _ in data]


def test_loop_phases_is_a_runtime_setting_that_reaches_the_network_and_excludes_recomputation():
    config = meta_config("x")
    assert not config.network.loop_phases
    looped = config.replace(loop_phases=True)
    assert RunConfig.from_dict(json.loads(json.dumps(looped.to_dict()))) == looped
    refused, allowed = differences(config, looped)
    assert refused == [] and [name for name, _, _ in allowed] == ["loop_phases"]
    assert looped.network.build(MRISampling(name="measurement"), num_tasks=4).loop_phases
    with pytest.raises(ValueError, match="`recompute_phases` and `loop_phases`.*--norecompute_phases"):
        ulda_config("runs/u").replace(loop_phases=True)


def test_recompute_phases_is_a_runtime_setting_that_reaches_the_network():
    """Per-phase recomputation changes memory and time, not what is trained: on in U-LDA's preset,
    off in the others, switchable on a resume; a config.json written before the setting existed
    reads as off."""
    config = ulda_config("runs/u")
    assert config.network.recompute_phases and not meta_config("x").network.recompute_phases
    off = config.replace(recompute_phases=False)
    assert RunConfig.from_dict(json.loads(json.dumps(off.to_dict()))) == off
    refused, allowed = differences(config, off)
    assert refused == [] and [name for name, _, _ in allowed] == ["recompute_phases"]
    built = off.network.build(MRISampling(name="measurement"), num_tasks=0, num_domains=2)
    assert not built.recompute_phases
    old = off.to_dict()
    del old["network"]["recompute_phases"]
    assert RunConfig.from_dict(old) == off
