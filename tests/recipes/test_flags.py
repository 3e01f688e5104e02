"""Generated flags of the training binaries: today's command lines, and configurations equal to
the presets'."""

import subprocess
import sys

import pytest
from absl import flags

from lda_tf.recipes import adaptation_config, conventional_config, meta_config
from lda_tf.recipes.flags import config_from_flags, define_flags

COMMON = {
    "checkpoint_every": 1,
    "crop": None,
    "dataset_dir": None,
    "distribute": "none",
    "downsample": 1,
    "image_every": 10,
    "jit_compile": "auto",
    "max_consecutive_skips": 10,
    "noise_snr_db": None,
    "output_dir": None,
    "overwrite": False,
    "seed": 0,
    "steps_per_epoch": None,
    "validation_every": 1,
    "verbose": 1,
}
NETWORK = {
    "learning_rate": 0.001,
    "num_filters": 4,
    "num_layers": 3,
    "num_phases": 11,
    "policy": "meta",
    "relu_delta": 0.001,
    "smoothing": "sqrt",
    "stair_epochs_per_stage": 100,
    "stair_first_stage_epochs": None,
    "stair_initial_phases": None,
    "stair_patience": None,
    "stair_phases_per_stage": 1,
}
# The flags and defaults of the hand-written lda_tf/training/flags.py these replace (commit 256619d).
BEFORE = {
    "meta": {
        **COMMON,
        **NETWORK,
        "epochs": 100,
        "max_images": None,
        "tasks": "radial:10,radial:20,radial:30,radial:40",
        "omega_learning_rate": 0.001,
        "train_per_task": 1,
        "val_per_task": 1,
        "lambda0": 1e-05,
        "nu_lambda": 1.001,
        "delta0": 0.001,
        "nu_delta": 0.95,
        "delta_tol": 4.35e-06,
        "theta_steps": 1,
        "max_rounds": 1,
    },
    "conventional": {
        **COMMON,
        **NETWORK,
        "batch_size": 25,
        "epochs": 2000,
        "max_images": None,
        "tasks": "radial:10",
    },
    "adaptation": {
        **COMMON,
        "batch_size": 25,
        "epochs": 50,
        "init_model": None,
        "max_images": 100,
        "omega_learning_rate": 0.001,
        "tasks": "radial:15,radial:25,radial:35",
    },
}
PRESETS = {"meta": meta_config, "conventional": conventional_config, "adaptation": adaptation_config}
NEW = {
    "meta": {
        "kernel_scale",
        "omega_step_updates_theta",
        "deterministic",
        "recompute_phases",
        "loop_phases",
        "gradient",
        "function_constant_folding",
        "all_grappler_passes",
        "stair_lr_factor",
    },
    "conventional": {
        "kernel_scale",
        "deterministic",
        "recompute_phases",
        "loop_phases",
        "gradient",
        "function_constant_folding",
        "all_grappler_passes",
        "stair_lr_factor",
    },
    "adaptation": {"deterministic", "gradient", "function_constant_folding", "all_grappler_passes"},
}


def _flags(mode, *argv):
    values = flags.FlagValues()
    define_flags(PRESETS[mode], values)
    values(["binary", *argv])
    return values


@pytest.mark.parametrize("mode", sorted(BEFORE))
def test_generated_flags_keep_the_command_lines(mode):
    values = _flags(mode, "--output_dir=o", *(["--init_model=m.keras"] if mode == "adaptation" else []))
    defaults = {name: values[name].default for name in values}
    assert set(defaults) - set(BEFORE[mode]) == NEW[mode]
    assert {name: defaults[name] for name in BEFORE[mode]} == BEFORE[mode]


def test_config_from_flags_equals_the_preset_with_the_same_settings():
    values = _flags(
        "meta",
        "--output_dir=o",
        "--tasks=radial:20,radial:40",
        "--crop=16,18",
        "--num_phases=1",
        "--stair_initial_phases=1",
        "--nu_delta=0.5",
    )
    expected = meta_config(
        "o", tasks="radial:20,radial:40", crop=(16, 18), num_phases=1, stair_initial_phases=1, nu_delta=0.5
    )
    assert config_from_flags(meta_config, values) == expected
    assert config_from_flags(
        conventional_config, _flags("conventional", "--output_dir=o")
    ) == conventional_config("o")


def test_stair_settings_need_the_initial_phases():
    with pytest.raises(ValueError, match="`stair_patience` needs `stair_initial_phases`"):
        config_from_flags(meta_config, _flags("meta", "--output_dir=o", "--stair_patience=3"))


def test_binary_reports_bad_values_as_flags(tmp_path):
    output = tmp_path / "run"
    for argument, message in [
        ("--learning_rate=nan", "error: --learning_rate must be a finite number; got nan"),
        ("--epochs=0", "error: --epochs must be >= 1; got 0"),
    ]:
        result = subprocess.run(
            [sys.executable, "experiments/train_meta.py", f"--output_dir={output}", argument],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 2 and message in result.stderr, result.stderr[-1500:]
        assert "Traceback" not in result.stderr and not output.exists()
