"""Evaluate a saved model (or a non-learned baseline) on a task set: PSNR / SSIM / NMSE per image
and as mean +- std per task, with sigma(omega_i) for networks with task weights.

    # A meta-trained network on its own tasks (tasks, data and resolution default to its run's):
    python experiments/evaluate.py --model=runs/meta/model.keras --output_dir=runs/meta/eval_test
    # Zero filling and TV on converted BraTS, radial 15 %:
    python experiments/evaluate.py --model=tv --tasks=radial:15 --dataset_dir=data/brats_t1 \
        --output_dir=runs/tv_radial15
    # A U-LDA model on its domain group 2 (task and data default to the ones it was trained with):
    python experiments/evaluate.py --model=runs/ulda_transfer/transfer/model.keras --domain=2 \
        --output_dir=runs/ulda_eval_domain2

Outputs (written under a temporary name beside --output_dir, then renamed): per_image.csv,
summary.csv, summary.md, config.json. Task i of --tasks is evaluated with the network's task
weight omega_i. --overwrite replaces only an earlier output of this package (never a file or a
folder it did not write), and only once the new one is complete.
"""

import json
import math
import shutil

from absl import app, flags

from lda_tf import outputs
from lda_tf.atomic import staging, swap
from lda_tf.cli import flag_values, is_size_pair, user_errors_exit
from lda_tf.comparison import ZERO_FILLING, Method, compare, tv_method
from lda_tf.data import Task, load_images, parse_tasks, verify_dataset
from lda_tf.data.sample import sample_dir
from lda_tf.evaluation import summarize, training_settings, write_rows
from lda_tf.papers.report import markdown, table_rows, write_table
from lda_tf.provenance import run_record

FLAGS = flags.FLAGS
BASELINES = ("zero_filling", "tv")
flags.DEFINE_string("model", None, "A trained model.keras, or a baseline: zero_filling, tv.")
flags.DEFINE_string("output_dir", None, "Directory to create with the results.")
flags.DEFINE_string("tasks", None, "Tasks TYPE:PERCENT[:SEED],...; default: the model's training tasks.")
flags.DEFINE_string(
    "dataset_dir", None, "Converted dataset; default: the model's training data, else the embedded sample."
)
flags.DEFINE_enum("split", "test", ["train", "val", "test"], "Split to evaluate.")
flags.DEFINE_list("crop", None, "Centre crop HEIGHT,WIDTH; default: as the model was trained.")
flags.DEFINE_integer(
    "downsample", None, "Downsampling factor; default: as the model was trained.", lower_bound=1
)
flags.DEFINE_integer("max_images", None, "Evaluate at most this many images.", lower_bound=1)
flags.DEFINE_float(
    "tv_weight", None, "TV weight; default: the best validation PSNR of lda_tf.baselines.TV_WEIGHTS."
)
flags.DEFINE_integer("batch_size", 8, "Images per batch.", lower_bound=1)
flags.DEFINE_integer(
    "domain", None, "U-LDA models: the domain group to reconstruct with (every task).", lower_bound=0
)
flags.DEFINE_bool("overwrite", False, "Replace an existing output directory.")
flags.mark_flags_as_required(["model", "output_dir"])
flags.register_validator("crop", is_size_pair, message="--crop must be HEIGHT,WIDTH with positive integers")


def _domain_settings(trained: dict, network) -> dict:
    """A U-LDA model's training settings for ``--domain``: the task and dataset its run recorded
    for that domain group (a transfer run records its targets, the model's last groups)."""
    has_domains = network is not None and network.num_domains
    if not has_domains:
        if FLAGS.domain is not None:
            raise ValueError(f"--domain is for U-LDA models (with domain groups); {FLAGS.model} has none")
        return trained
    if FLAGS.domain is None or FLAGS.domain >= network.num_domains:
        raise ValueError(f"--domain must be one of 0..{network.num_domains - 1}: the groups of {FLAGS.model}")
    recorded = trained.get("domains") or []
    index = FLAGS.domain - (network.num_domains - len(recorded))
    if not 0 <= index < len(recorded):
        return trained
    domain = recorded[index]
    return {**trained, "tasks": str(Task(**domain["task"])), "dataset_dir": domain["dataset_dir"]}


def _settings(network) -> dict:
    """The model's training settings under the flags given explicitly."""
    trained = {} if FLAGS.model in BASELINES else _domain_settings(training_settings(FLAGS.model), network)
    chosen = {name: trained.get(name) for name in ("tasks", "dataset_dir", "crop", "downsample")}
    for name in chosen:
        if FLAGS[name].present:
            chosen[name] = FLAGS[name].value
    if chosen["tasks"] is None:
        raise ValueError(f"--tasks is needed: {FLAGS.model} has no training config.json to take them from")
    chosen["dataset_dir"] = chosen["dataset_dir"] or str(sample_dir())
    return chosen


def _images(settings: dict, split: str):
    return load_images(
        settings["dataset_dir"], split, FLAGS.max_images, settings["crop"], int(settings["downsample"] or 1)
    )


@user_errors_exit
def main(argv):
    del argv
    if FLAGS.tv_weight is not None and not (math.isfinite(FLAGS.tv_weight) and FLAGS.tv_weight > 0):
        raise ValueError(f"--tv_weight must be a positive finite number; got {FLAGS.tv_weight}")
    outputs.prepare_output_dir(FLAGS.output_dir, FLAGS.overwrite)
    network = None
    if FLAGS.model not in BASELINES:
        network = outputs.load_model(FLAGS.model)  # "no such model file", "not a readable ..."
    settings = _settings(network)
    tasks = parse_tasks(settings["tasks"])
    if network is not None:
        if network.num_tasks not in (0, len(tasks)):
            raise ValueError(
                f"--model {FLAGS.model} has {network.num_tasks} task weights but --tasks lists {len(tasks)} "
                "tasks; task i must be the one omega_i was trained for"
            )
    verify_dataset(settings["dataset_dir"], checksums=True)  # every shard's checksum, once
    images = _images(settings, FLAGS.split)
    notes = [f"model: {FLAGS.model}; data: {settings['dataset_dir']} ({FLAGS.split}, {len(images)} images)"]
    if FLAGS.model == "zero_filling":
        method, tv_weights = ZERO_FILLING, {}
    elif FLAGS.model == "tv":
        validation = None if FLAGS.tv_weight else _images(settings, "val")
        method, tv_weights = tv_method(validation, FLAGS.tv_weight, FLAGS.batch_size)
    else:
        kind = "ulda" if network.num_domains else "meta" if network.num_tasks else "conventional"
        method, tv_weights = Method.of_network(kind, network, FLAGS.domain), {}
    staged = staging(FLAGS.output_dir)
    try:
        staged.mkdir(parents=True)
        rows, weights, _ = compare([method], images, tasks, FLAGS.batch_size)
        notes += [f"TV weight for {task}: {weight:g}" for task, weight in tv_weights.items()]
        write_rows(rows, staged / "per_image.csv")
        summary = table_rows(summarize(rows, weights), published=[])
        text = markdown(f"Evaluation of {FLAGS.model}", summary, notes)
        write_table(text, staged, "summary", summary)
        record = run_record("experiments/evaluate.py", {**flag_values(), "resolved": settings})
        (staged / "config.json").write_text(json.dumps(record, indent=2) + "\n")
        swap(staged, FLAGS.output_dir)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    print(text)
    print(f"written: {FLAGS.output_dir}/summary.md, summary.csv, per_image.csv")


if __name__ == "__main__":
    app.run(main)
