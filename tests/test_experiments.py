"""Every binary in experiments/ refuses a user's mistake with ``error: --flag ...`` and exit 2
before any work, without a traceback (issue 13 items 7 and 8): an output that is a file or lies
under a file, negative seeds (global or per task), non-finite numbers, unreadable model files."""

import subprocess
import sys

import pytest

FAST = [
    "--epochs=1",
    "--steps_per_epoch=1",
    "--max_images=2",
    "--crop=16,18",
    "--num_phases=1",
    "--verbose=0",
]


def _cases(tmp):
    garbage = tmp / "garbage.keras"
    return {
        "train_meta output is a file": (
            ["train_meta.py", f"--output_dir={tmp / 'file'}", *FAST],
            "is a file",
        ),
        "train_meta output under a file": (
            ["train_meta.py", f"--output_dir={tmp / 'file' / 'run'}", *FAST],
            "is a file",
        ),
        "train_meta negative seed": (["train_meta.py", f"--output_dir={tmp / 'r'}", "--seed=-1"], "--seed"),
        "train_meta infinite learning rate": (
            ["train_meta.py", f"--output_dir={tmp / 'r'}", "--learning_rate=inf"],
            "--learning_rate must be a finite number; got inf",
        ),
        "train_conventional negative task seed": (
            ["train_conventional.py", f"--output_dir={tmp / 'r'}", "--tasks=radial:10:-1", *FAST],
            "--tasks: the seed of radial:10:-1 must be >= 0",
        ),
        "train_conventional nan noise": (
            ["train_conventional.py", f"--output_dir={tmp / 'r'}", "--noise_snr_db=nan", *FAST],
            "--noise_snr_db must be a finite number",
        ),
        "adapt garbage model": (
            ["adapt.py", f"--output_dir={tmp / 'r'}", f"--init_model={garbage}", "--tasks=radial:15"],
            f"{garbage}: not a readable Keras model file (",
        ),
        "adapt nan omega learning rate": (
            ["adapt.py", f"--output_dir={tmp / 'r'}", f"--init_model={garbage}", "--omega_learning_rate=nan"],
            "--omega_learning_rate must be a finite number",
        ),
        "adapt negative task seed": (
            ["adapt.py", f"--output_dir={tmp / 'r'}", f"--init_model={garbage}", "--tasks=radial:15:-2"],
            "--tasks: the seed of radial:15:-2 must be >= 0",
        ),
        "evaluate garbage model": (
            ["evaluate.py", f"--model={garbage}", f"--output_dir={tmp / 'e'}"],
            f"--model {garbage}: not a readable Keras model file (",
        ),
        "evaluate missing model": (
            ["evaluate.py", f"--model={tmp / 'none.keras'}", f"--output_dir={tmp / 'e'}"],
            "none.keras: no such model file",
        ),
        "evaluate output under a file": (
            [
                "evaluate.py",
                "--model=zero_filling",
                "--tasks=radial:10",
                f"--output_dir={tmp / 'file' / 'e'}",
            ],
            "which is a file",
        ),
        "evaluate negative task seed": (
            ["evaluate.py", "--model=zero_filling", "--tasks=radial:10:-1", f"--output_dir={tmp / 'e'}"],
            "--tasks: the seed of radial:10:-1 must be >= 0",
        ),
        "evaluate nan tv weight": (
            [
                "evaluate.py",
                "--model=tv",
                "--tasks=radial:10",
                "--tv_weight=nan",
                f"--output_dir={tmp / 'e'}",
            ],
            "--tv_weight must be a positive finite number; got nan",
        ),
        "export garbage model": (
            ["export.py", f"--model={garbage}", f"--output_dir={tmp / 'x'}"],
            f"--model {garbage}: not a readable Keras model file (",
        ),
        "export output is a file": (
            ["export.py", f"--model={garbage}", f"--output_dir={tmp / 'file'}"],
            "is a file",
        ),
        "reconstruct input that is no scan": (
            ["reconstruct.py", "--model=zero_filling", f"--inputs={garbage}", f"--output_dir={tmp / 'r'}"],
            "--inputs " + str(garbage) + ": not a fastMRI .h5 or a NIfTI",
        ),
        "reconstruct folder without scans": (
            [
                "reconstruct.py",
                f"--model={tmp / 'none.keras'}",
                f"--inputs={tmp}",
                f"--output_dir={tmp / 'r'}",
            ],
            "a folder without .h5, .nii or .nii.gz files",
        ),
        "reconstruct output under a file": (
            [
                "reconstruct.py",
                "--model=zero_filling",
                f"--inputs={tmp}",
                f"--output_dir={tmp / 'file' / 'r'}",
            ],
            "which is a file",
        ),
        "reproduce output is a file": (
            ["reproduce.py", "--table=1", "--profile=smoke", f"--output_dir={tmp / 'file'}"],
            "is a file",
        ),
        "reproduce negative seed": (
            ["reproduce.py", "--table=1", "--profile=smoke", f"--output_dir={tmp / 'o'}", "--seed=-1"],
            "--seed must be >= 0",
        ),
        "reproduce no seeds": (
            ["reproduce.py", "--table=1", "--profile=smoke", f"--output_dir={tmp / 'o'}", "--seeds=0"],
            "--seeds must be >= 1",
        ),
        "reproduce seeds of the lda paper": (
            [
                "reproduce.py",
                "--paper=lda",
                "--table=1",
                "--profile=smoke",
                f"--output_dir={tmp / 'o'}",
                "--seeds=2",
            ],
            "not supported by --paper=lda",
        ),
    }


CASES = sorted(_cases(__import__("pathlib").Path("/tmp")))


@pytest.mark.parametrize("case", CASES)
def test_user_mistakes_are_flag_errors_before_any_work(tmp_path, case):
    (tmp_path / "file").write_text("precious")
    (tmp_path / "garbage.keras").write_bytes(b"garbage" * 100)
    arguments, message = _cases(tmp_path)[case]
    result = subprocess.run(
        [sys.executable, f"experiments/{arguments[0]}", *arguments[1:]], capture_output=True, text=True
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "error: " in result.stderr and message in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["file", "garbage.keras"]  # nothing written
    assert (tmp_path / "file").read_text() == "precious"
