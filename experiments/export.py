"""Export a trained network as a TensorFlow SavedModel for serving (lda_tf/serving.py).

    python experiments/export.py --model=runs/demo/runs/meta_t1/model.keras --output_dir=runs/serving/meta
    # then, e.g. with TensorFlow Serving's Docker image (README, "Use a trained network"):
    docker run -p 8501:8501 -v "$PWD/runs/serving/meta:/models/meta" -e MODEL_NAME=meta tensorflow/serving

Writes --output_dir/<version>/ (saved_model.pb, variables/, serving.json): the layout TensorFlow
Serving reads from a model base path; --output_dir/config.json records the flags, package version
and git commit. The SavedModel loads with TensorFlow alone (tf.saved_model.load), without lda_tf.
Signatures: serving_default (kspace_real, kspace_imag, mask[, task_index] -> image) and complex
(kspace complex64, mask[, task_index] -> image); batch, height and width are dynamic.
--overwrite replaces only an earlier output of this package, once the new one is complete.
"""

import json
import shutil

from absl import app, flags

from lda_tf import outputs
from lda_tf.atomic import staging, swap
from lda_tf.cli import flag_values, user_errors_exit
from lda_tf.evaluation import training_settings
from lda_tf.provenance import run_record
from lda_tf.serving import check_servable, export_saved_model, takes_task_index

FLAGS = flags.FLAGS
flags.DEFINE_string("model", None, "A trained model.keras (meta, conventional, adapted, LDA CS-MRI, U-LDA).")
flags.DEFINE_string("output_dir", None, "Directory to create: a TensorFlow Serving model base path.")
flags.DEFINE_integer(
    "version", 1, "The model version (the numbered folder TensorFlow Serving serves).", lower_bound=1
)
flags.DEFINE_bool("overwrite", False, "Replace an existing output directory.")
flags.mark_flags_as_required(["model", "output_dir"])


@user_errors_exit
def main(argv):
    del argv
    outputs.prepare_output_dir(FLAGS.output_dir, FLAGS.overwrite)
    network = outputs.load_model(FLAGS.model)
    check_servable(network)
    trained = training_settings(FLAGS.model)
    description = {
        "model": FLAGS.model,
        "network": type(network).__name__,
        "num_tasks": network.num_tasks,
        "num_domains": network.num_domains,
        "tasks": trained.get("tasks"),
    }
    staged = staging(FLAGS.output_dir)
    try:
        staged.mkdir(parents=True)
        export_saved_model(network, staged / str(FLAGS.version), description)
        record = run_record("experiments/export.py", flag_values())
        (staged / "config.json").write_text(json.dumps(record, indent=2) + "\n")
        swap(staged, FLAGS.output_dir)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    index = " and task_index [B] int32" if takes_task_index(network) else ""
    print(f"written: {FLAGS.output_dir}/{FLAGS.version} (SavedModel; serving.json lists the signatures)")
    print(f"inputs: kspace_real, kspace_imag, mask [B, H, W] float32{index}; output: image [B, H, W] float32")
    if network.num_tasks:
        print(
            f"task_index i selects sigma(omega_i); the model's tasks: {trained.get('tasks', 'not recorded')}"
        )


if __name__ == "__main__":
    app.run(main)
