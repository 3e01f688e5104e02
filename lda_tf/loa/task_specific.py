"""``TaskSpecificUnrolled``: one unrolled network ``theta_j`` per task, as the matrix model of the
task-correlation bilevel problem trains them (paper 004, eq. (3a')-(3b'), docs/task_correlation.md).

A sample of task ``j`` (the inputs' ``task_index``, read through the measurement) is reconstructed
by member ``j``: ``x_T = F_{theta_j}(y)``. The members are ordinary :class:`UnrolledNetwork`\\ s
(in practice :class:`~lda_tf.loa.model.UnrolledLOA` with ``kappa = 1``), each with its own weights;
the container holds no weight of its own, so its ``model.keras`` file is the members' files in
one, and training, checkpoints, stair growth and TensorBoard treat it as one network
(:class:`UnrolledNetwork`'s contract).

Decision: :meth:`call` runs every member on the whole batch and keeps, per sample, the output of
its task's member (``tf.where``). That costs ``N`` forward passes where one would do, but every
shape stays static (XLA and ``tf.distribute`` need that; a ``tf.dynamic_partition`` by task would
not); evaluation of one task at a time calls the task's member directly (:attr:`members`).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from lda_tf.loa.model import UnrolledNetwork, _checked_index


@keras.saving.register_keras_serializable(package="lda_tf")
class TaskSpecificUnrolled(UnrolledNetwork):
    """Member ``j`` of ``members`` reconstructs the samples of task ``j`` (module docstring).

    Args:
        members: the networks (or their serialized configs), one per task; they must run the same
            number of phases and use no task weights of their own (``num_tasks = 0``).
    """

    def __init__(self, members, **kwargs):
        super().__init__(**kwargs)
        members = [
            member if isinstance(member, UnrolledNetwork) else keras.saving.deserialize_keras_object(member)
            for member in members
        ]
        if not members:
            raise ValueError("TaskSpecificUnrolled needs at least one member network")
        if any(not isinstance(member, UnrolledNetwork) for member in members):
            raise TypeError("members must be unrolled networks (lda_tf.loa.UnrolledLOA)")
        if any(member.num_tasks for member in members):
            raise ValueError("members must have no task weights of their own (num_tasks = 0)")
        if len({member.num_phases for member in members}) > 1:
            raise ValueError(f"members must have one phase count; got {[m.num_phases for m in members]}")
        self.members = members
        self.num_phases = members[0].num_phases
        self.num_tasks = len(members)
        self.built = True

    @classmethod
    def replicate(cls, network: UnrolledNetwork, count: int, **kwargs) -> TaskSpecificUnrolled:
        """``count`` members, each a copy of ``network`` (same configuration and weights, the same
        active phase count): the matrix model's networks ``theta_j`` all start from one ``theta``."""
        if count < 1:
            raise ValueError(f"count must be >= 1; got {count}")
        config = network.get_config()
        config.pop("name", None)
        members = []
        for index in range(count):
            member = type(network).from_config({**config, "name": f"member_{index}"})
            for source, target in zip(network.weights, member.weights):
                target.assign(source)
            member.set_active_phases(network.active_phases)
            members.append(member)
        return cls(members, **kwargs)

    # ----------------------------------------------------------------- UnrolledNetwork contract
    @property
    def measurement(self):
        """The first member's measurement (the members measure alike)."""
        return self.members[0].measurement

    @property
    def features(self):
        """The first member's ``g`` (the members share its architecture, not its weights)."""
        return self.members[0].features

    @property
    def omega_variables(self) -> list:
        """The members' (empty: they use ``kappa = 1``), so that theta is every other weight."""
        return [variable for member in self.members for variable in member.omega_variables]

    def task_weight_values(self) -> tf.Tensor:
        """``kappa = 1`` for every task (the members have no task weights)."""
        return tf.ones([self.num_tasks], tf.float32)

    def learned_scalars(self) -> dict[str, tf.Tensor]:
        """Every member's scalars, named ``task<j>/<name>``."""
        return {
            f"task{index}/{name}": value
            for index, member in enumerate(self.members)
            for name, value in member.learned_scalars().items()
        }

    def restrict_gradients(self, gradients: list, variables: list) -> list:
        for member in self.members:
            gradients = member.restrict_gradients(gradients, variables)
        return gradients

    @property
    def active_phases(self) -> int:
        return self.members[0].active_phases

    def set_active_phases(self, count: int, copy_steps_from_last: bool = False) -> None:
        for member in self.members:
            member.set_active_phases(count, copy_steps_from_last)
        self.forget_compiled_functions()

    def forget_compiled_functions(self) -> None:
        super().forget_compiled_functions()
        for member in self.members:
            member.forget_compiled_functions()

    def call(self, inputs, training=None, return_diagnostics: bool = False):
        """Reconstruction ``[B, H, W]`` of every sample by its task's member; with
        ``return_diagnostics`` also the members' ``[T, B]`` diagnostics, per sample its member's."""
        task_index = _checked_index(
            self.measurement.measure(inputs).task_index, self.num_tasks, "task_index", "num_tasks"
        )
        recon, diagnostics = None, None
        for index, member in enumerate(self.members):
            member_recon, member_diagnostics = member(inputs, training=training, return_diagnostics=True)
            mine = tf.equal(task_index, index)
            if recon is None:
                recon, diagnostics = member_recon, member_diagnostics
                continue
            recon = tf.where(mine[:, None, None], member_recon, recon)
            diagnostics = {
                name: tf.where(mine[None, :], value, diagnostics[name])
                for name, value in member_diagnostics.items()
            }
        return (recon, diagnostics) if return_diagnostics else recon

    def get_config(self):
        config = super().get_config()
        config["members"] = [keras.saving.serialize_keras_object(member) for member in self.members]
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
