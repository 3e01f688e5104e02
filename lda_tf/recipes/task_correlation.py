"""The task-correlation recipe: Algorithm 1 of paper 004 (docs/task_correlation.md) on the meta
paper's cross-task batches, the vector or the matrix model (:mod:`lda_tf.training.task_correlation`).

The training tasks (``tasks``, the rows of ``W``) give the ``"train"`` half of every batch, the
validation tasks (``validation_tasks``, the columns; default the same) its ``"val"`` half, one
batch = ``train_per_task`` training pairs of every training task and ``val_per_task`` validation
pairs of every validation task (digest B4 #2: a "batch" ``B_i`` is task ``i``'s share). The network
is the settings' (``kappa = 1``: no task weights), or ``init_model``'s: a single network, copied
into every ``theta_j`` of the matrix model, or a matrix model's networks.
"""

from __future__ import annotations

from pathlib import Path

import keras

from lda_tf import outputs
from lda_tf.loa.model import UnrolledNetwork
from lda_tf.loa.task_specific import TaskSpecificUnrolled
from lda_tf.recipes.config import RunConfig
from lda_tf.recipes.mri import MetaBilevel
from lda_tf.training.task_correlation import TaskCorrelationLog, TaskCorrelationTrainer


class TaskCorrelation(MetaBilevel):
    """Algorithm 1: ``correlation_theta_steps`` steps on theta, then one on the logits ``C``."""

    name, mode = "task_correlation", "task_correlation"
    trainer_class = TaskCorrelationTrainer
    # gradient: the trainer's per-task gradients and hypergradients are tapes (tape only).
    unused = (MetaBilevel.unused - {"init_model"}) | {"omega_learning_rate", "gradient"}
    sections = frozenset({"network", "stair", "task_correlation"})

    def __init__(self, config: RunConfig):
        super().__init__(config)
        if config.task_correlation is None:
            raise ValueError("recipe 'task_correlation' needs its settings (RunConfig.task_correlation)")
        self.correlation = config.task_correlation
        self.validation_tasks = list(getattr(self.data, "validation_tasks", None) or self.tasks)
        if config.init_model and not Path(config.init_model).exists():
            raise FileNotFoundError(f"argument `init_model` {config.init_model}: no such model file")

    def build_network(self) -> UnrolledNetwork:
        """The vector model's network or the matrix model's ``N`` networks (module docstring)."""
        count, init = len(self.validation_tasks), self.config.init_model
        if init:
            start = outputs.load_model(init, "init_model")
            if self.config.network is not None:  # a runtime setting: this run's, not init_model's
                for member in getattr(start, "members", [start]):
                    self.config.network.apply_runtime(member)
        else:
            start = self.mri_network(0)
        if isinstance(start, TaskSpecificUnrolled):
            if self.correlation.model == "vector" or start.num_tasks != count:
                raise ValueError(
                    f"argument `init_model` {init} holds {start.num_tasks} task-specific networks; the "
                    f"{self.correlation.model} model with {count} validation tasks starts from one network"
                    + ("" if self.correlation.model == "vector" else f" or {count} task-specific ones")
                )
            return start
        if start.num_tasks:
            raise ValueError(
                f"argument `init_model` {init} has task weights (num_tasks={start.num_tasks}); the "
                "task-correlation models start from a network with kappa = 1 (a vector model's, or a "
                "conventional one)"
            )
        if self.correlation.model == "matrix":
            return TaskSpecificUnrolled.replicate(start, count)
        return start

    def trainer_options(self) -> dict:
        return dict(
            correlation=self.correlation,
            num_train_tasks=len(self.tasks),
            num_validation_tasks=len(self.validation_tasks),
        )

    def optimizers(self) -> tuple[keras.optimizers.Optimizer, keras.optimizers.Optimizer]:
        """Adam for theta (``learning_rate``) and for the logits (``correlation_learning_rate``)."""
        return (
            keras.optimizers.Adam(self.config.optimizer.learning_rate),
            keras.optimizers.Adam(self.correlation.learning_rate),
        )

    def callbacks(self, output: Path) -> list:
        return [TaskCorrelationLog(output / "logs")]
