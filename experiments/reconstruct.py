"""Reconstruct your own scans with a trained network (lda_tf/reconstruction.py).

    # fastMRI single-coil files: challenge/test files with their own mask ...
    python experiments/reconstruct.py --model=runs/meta_knee/model.keras --task_index=1 \
        --inputs=/data/singlecoil_test --output_dir=runs/recon_knee_test
    # ... or fully sampled train/val files, undersampled retrospectively with a task's mask
    python experiments/reconstruct.py --model=runs/meta_knee/model.keras \
        --task=cartesian_gaussian:20 --inputs=/data/singlecoil_val --output_dir=runs/recon_knee_val
    # NIfTI volumes (BraTS-like): k-space simulated per slice with the task's mask
    python experiments/reconstruct.py --model=runs/demo/runs/meta_t1/model.keras --task=radial:20 \
        --inputs=scan_t1.nii.gz --output_dir=runs/recon_t1 --write_zero_filled

Writes --output_dir/reconstructions/<input name> (fastMRI: the submission layout, one .h5 with a
float32 `reconstruction` [slices, h, w] cropped to the file's reconstruction size; NIfTI: a volume
with the input's affine and header), with --write_zero_filled the zero-filled ones in
zero_filled/, metrics.csv (PSNR / SSIM / NMSE per volume with a ground truth, fastMRI's
conventions) and config.json. --model=zero_filling reconstructs by zero filling alone.
A network with task weights needs the task to use: --task_index, or a --task it was trained on;
a U-LDA network its --domain. Written under a temporary name beside --output_dir, then renamed;
--overwrite replaces only an earlier output of this package.
"""

import json
import shutil
import sys
import time

from absl import app, flags

from lda_tf import outputs
from lda_tf.atomic import staging, swap
from lda_tf.cli import flag_values, is_size_pair, user_errors_exit
from lda_tf.data import parse_tasks
from lda_tf.evaluation import training_settings, write_rows
from lda_tf.metrics import volume_metrics
from lda_tf.provenance import run_record
from lda_tf.reconstruction import (
    crop_like,
    input_files,
    measurement,
    network_batches,
    read_volume,
    reconstruct,
    task_index_for,
    write_output,
    zero_filled,
)

FLAGS = flags.FLAGS
flags.DEFINE_string("model", None, "A trained model.keras, or zero_filling.")
flags.DEFINE_list("inputs", None, "fastMRI .h5 and NIfTI .nii/.nii.gz files, or folders of them.")
flags.DEFINE_string("output_dir", None, "Directory to create with the reconstructions.")
flags.DEFINE_string(
    "task", None, "Mask TYPE:PERCENT[:SEED] for fully sampled inputs, e.g. cartesian_gaussian:25."
)
flags.DEFINE_integer("task_index", None, "Networks with task weights: the task i (sigma(omega_i)) to use.")
flags.DEFINE_integer("domain", None, "U-LDA networks: the domain group to use.")
flags.DEFINE_list("crop", None, "fastMRI: reconstruction size HEIGHT,WIDTH (default: the file's own).")
flags.DEFINE_integer("batch_size", 8, "Slices per network call.", lower_bound=1)
flags.DEFINE_bool("write_zero_filled", False, "Also write the zero-filled reconstructions (zero_filled/).")
flags.DEFINE_bool("overwrite", False, "Replace an existing output directory.")
flags.mark_flags_as_required(["model", "inputs", "output_dir"])
flags.register_validator("crop", is_size_pair, message="--crop must be HEIGHT,WIDTH with positive integers")


class Progress:
    """``[====>     ] 12/30 slices`` rewritten in place on a terminal; one line per volume otherwise."""

    def __init__(self, total: int):
        self.total, self.started, self.tty = total, time.monotonic(), sys.stdout.isatty()

    def __call__(self, done: int) -> None:
        if self.tty:
            filled = round(30 * done / self.total)
            print(f"\r  [{'=' * filled}{' ' * (30 - filled)}] {done}/{self.total} slices", end="", flush=True)

    def finish(self) -> None:
        elapsed = time.monotonic() - self.started
        print(
            ("\r" if self.tty else "") + f"  {self.total}/{self.total} slices in {elapsed:.1f} s" + " " * 20
        )


def _network_and_index(task):
    """The network's batch reconstructor and task index (None, None for zero filling)."""
    if FLAGS.model == "zero_filling":
        for name in ("task_index", "domain"):
            if FLAGS[name].value is not None:
                raise ValueError(f"--{name} is for trained networks, not --model=zero_filling")
        return None, None
    network = outputs.load_model(FLAGS.model)
    reconstructor = network_batches(network)
    recorded = training_settings(FLAGS.model).get("tasks")
    index = task_index_for(
        network, parse_tasks(recorded) if recorded else [], task, FLAGS.task_index, FLAGS.domain
    )
    return reconstructor, index


@user_errors_exit
def main(argv):
    del argv
    outputs.prepare_output_dir(FLAGS.output_dir, FLAGS.overwrite)
    task = None
    if FLAGS.task is not None:
        tasks = parse_tasks(FLAGS.task)
        if len(tasks) != 1:
            raise ValueError(f"--task names one task; got {FLAGS.task}")
        task = tasks[0]
    crop = tuple(int(value) for value in FLAGS.crop) if FLAGS.crop else None
    files = input_files(FLAGS.inputs)
    reconstructor, task_index = _network_and_index(task)
    for path in files:  # every input checked before any work
        measurement(read_volume(path, crop), task)

    staged = staging(FLAGS.output_dir)
    rows = []
    try:
        (staged / "reconstructions").mkdir(parents=True)
        if FLAGS.write_zero_filled:
            (staged / "zero_filled").mkdir()
        for number, path in enumerate(files, 1):
            volume = read_volume(path, crop)
            kspace, mask, how = measurement(volume, task)
            slices, height, width = volume.shape
            print(
                f"[{number}/{len(files)}] {path.name}: {slices} slices of {height}x{width}, {how}", flush=True
            )
            baseline = crop_like(volume, zero_filled(kspace))
            if reconstructor is None:
                recon = baseline
            else:
                progress = Progress(slices)
                recon = crop_like(
                    volume, reconstruct(reconstructor, kspace, mask, task_index, FLAGS.batch_size, progress)
                )
                progress.finish()
            write_output(staged / "reconstructions" / volume.name, recon, volume)
            if FLAGS.write_zero_filled:
                write_output(staged / "zero_filled" / volume.name, baseline, volume)
            if volume.target is not None:
                methods = [("zero_filling", baseline)] + ([("network", recon)] if reconstructor else [])
                for method, images in methods:
                    values = volume_metrics(volume.target, images)
                    rows.append(dict(file=volume.name, method=method, slices=slices, **values))
                    print(
                        f"  {method} against {volume.target_key}: PSNR {values['psnr']:.2f} dB, "
                        f"SSIM {values['ssim']:.4f}, NMSE {values['nmse']:.4f}",
                        flush=True,
                    )
        if rows:
            write_rows(rows, staged / "metrics.csv")
        settings = {
            **flag_values(),
            "resolved": {"files": [str(path) for path in files], "task_index": task_index},
        }
        record = run_record("experiments/reconstruct.py", settings)
        (staged / "config.json").write_text(json.dumps(record, indent=2) + "\n")
        swap(staged, FLAGS.output_dir)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    written = "reconstructions/" + (", zero_filled/" if FLAGS.write_zero_filled else "")
    print(f"written: {FLAGS.output_dir}/{written}{', metrics.csv' if rows else ''}, config.json")


if __name__ == "__main__":
    app.run(main)
