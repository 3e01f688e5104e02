"""Typed run settings: nested frozen dataclasses, their JSON form and their comparison.

:class:`TrainingConfig` holds what :func:`lda_tf.training.fit.fit` needs (run directory, schedule,
seed, cadences, runtime) and the sections :class:`NetworkConfig`, :class:`OptimizerConfig`,
:class:`lda_tf.training.bilevel.BilevelConfig` and :class:`StairConfig`. What names data, tasks or
measurements lives above this package (``lda_tf.recipes.RunConfig`` extends this class).

Every leaf setting has a *flat name*, unique over the whole configuration: its field name, with
the section's ``prefix`` (``stair_``) in front. Flat names are what :meth:`TrainingConfig.replace`
takes, what the binaries' flags are called (``lda_tf.recipes.flags``) and what argument errors and
:class:`SettingsMismatch` name. Field metadata:

- ``help``: one line for the flag;
- ``min`` (``min_exclusive``): lower bound of a number, checked at construction;
- ``choices``: the allowed values of a string;
- ``compare``: False for ``output_dir`` (a run may be moved);
- ``change``: what a different value on a resume means: ``"extend"`` (may grow: ``epochs``) or
  ``"runtime"`` (logging / runtime only: ``verbose``, cadences, ``distribute``, ...). Every other
  setting changes what is trained; a resume or a reuse with another value is refused.
- ``parse`` / ``format``: a value's text form (tasks: ``radial:10,radial:20``).

Decision: a network setting holds the preset's concrete value (``NetworkConfig()`` spells out the
meta paper's network), so two configurations describe the same network exactly when they are
equal, whether a value came from a preset or an override.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Iterator
from typing import Any

from lda_tf.checks import check_choice
from lda_tf.loa.model import LDA_PAPER_NETWORK, META_PAPER_NETWORK, ULDA_PAPER_NETWORK, UnrolledLOA
from lda_tf.loa.phase import POLICIES
from lda_tf.training.bilevel import BilevelConfig


def setting(default=dataclasses.MISSING, *, help: str = "", **metadata) -> Any:  # noqa: A002
    """A dataclass field with the metadata above."""
    return dataclasses.field(default=default, metadata={"help": help, **metadata})


# ----------------------------------------------------------------------------------- sections
@dataclasses.dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    """The unrolled network: a preset of :class:`UnrolledLOA` and its field values.

    ``meta_paper`` (meta paper section 4; the defaults here) or ``lda_paper`` (LDA paper section 4:
    :func:`lda_paper_network`). The number of task weights comes from the recipe (its tasks)."""

    preset: str = setting(
        "meta_paper", help="UnrolledLOA preset", choices=("meta_paper", "lda_paper", "ulda_paper")
    )
    num_phases: int = setting(META_PAPER_NETWORK["num_phases"], help="Phases T of the network.", min=1)
    policy: str = setting(META_PAPER_NETWORK["policy"], help="Phase policy (SPEC 3).", choices=POLICIES)
    smoothing: str = setting(
        META_PAPER_NETWORK["smoothing"], help="Smoothing of the l2,1 regulariser.", choices=("sqrt", "huber")
    )
    num_layers: int = setting(META_PAPER_NETWORK["num_layers"], help="Convolutions l in g.", min=1)
    num_filters: int = setting(META_PAPER_NETWORK["num_filters"], help="Kernels d per convolution.", min=1)
    relu_delta: float = setting(
        META_PAPER_NETWORK["relu_delta"], help="Smoothed-ReLU delta of eq. (19).", min=0
    )
    kernel_scale: float = setting(1.0, help="g's kernels start at Xavier times this.", min_exclusive=0)
    recompute_phases: bool = setting(
        False,
        help="Recompute each phase in the backward pass: memory flat in the phase count, also in "
        "the bilevel step (there about 2x its time; benchmarks/README.md).",
        change="runtime",
    )
    loop_phases: bool = setting(
        False,
        help="Run the phases as one tf.while_loop (one phase in the graph: at many phases a shorter "
        "first step; steps 15-31 % slower; benchmarks/README.md). Not with recompute_phases.",
        change="runtime",
    )

    def __post_init__(self):
        if self.recompute_phases and self.loop_phases:
            raise ValueError(
                "arguments `recompute_phases` and `loop_phases` cannot both be true (the U-LDA preset "
                "turns recomputation on: add --norecompute_phases)"
            )

    def apply_runtime(self, network: UnrolledLOA) -> None:
        """Set this run's runtime settings (``recompute_phases``, ``loop_phases``) on a network
        loaded from another run (an ``init_model``), whose own were that run's."""
        network.recompute_phases = self.recompute_phases
        network.loop_phases = self.loop_phases

    def build(self, measurement, num_tasks: int, **extra) -> UnrolledLOA:
        """``UnrolledLOA.<preset>(measurement, num_tasks=..., **fields, **extra)`` (``extra``: what
        a recipe sets, e.g. U-LDA's ``num_domains``)."""
        fields = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        preset = getattr(UnrolledLOA, fields.pop("preset"))
        return preset(measurement, num_tasks=num_tasks, **fields, **extra)


def lda_paper_network(**overrides) -> NetworkConfig:
    """The LDA paper's network (section 4): l=4, d=32, relu_delta=0.01, 15 phases, huber, lda."""
    return NetworkConfig(**{"preset": "lda_paper", **LDA_PAPER_NETWORK, **overrides})


def ulda_paper_network(**overrides) -> NetworkConfig:
    """U-LDA's network (002, 4.3, 5.1): l=4, d=16, relu_delta=1e-3, 15 phases, huber, elda."""
    network = {k: v for k, v in ULDA_PAPER_NETWORK.items() if k != "eps0"}
    return NetworkConfig(**{"preset": "ulda_paper", **network, **overrides})


@dataclasses.dataclass(frozen=True, kw_only=True)
class OptimizerConfig:
    """Adam learning rates of the two optimisers of :class:`LOATrainer`."""

    learning_rate: float = setting(1e-3, help="Adam learning rate for theta.", min=0)
    omega_learning_rate: float = setting(1e-3, help="Adam learning rate for the task weights omega.", min=0)


@dataclasses.dataclass(frozen=True, kw_only=True)
class StairConfig:
    """Warm-start phase growth (:class:`lda_tf.training.callbacks.StairTraining`) up to the
    network's ``num_phases``."""

    initial_phases: int = setting(help="Stair training: phases to start with (off if unset).", min=1)
    phases_per_stage: int = setting(1, help="Stair training: phases added per stage.", min=1)
    epochs_per_stage: int | None = setting(100, help="Stair training: epochs per stage.", min=1)
    first_stage_epochs: int | None = setting(
        None, help="Stair training: epochs of the first stage (default: as the others).", min=1
    )
    patience: int | None = setting(
        None, help="Stair training: also grow after this many epochs without improvement.", min=1
    )
    lr_factor: float = setting(
        1.0,
        help="Stair training: learning rate times this per completed stage (1: constant; "
        "docs/convergence.md measured 1e-3 collapsing at the first growth, 3e-4 not).",
        min_exclusive=0,
    )


# Help of Algorithm 2's constants (BilevelConfig is the trainer's own dataclass, without metadata).
BILEVEL_HELP = {
    "lambda0": ("Initial penalty weight lambda of (17).", 0),
    "nu_lambda": ("lambda growth per epoch (>= 1).", 1),
    "delta0": ("Initial delta of Algorithm 2.", 0),
    "nu_delta": ("delta decay per epoch, in (0, 1).", 0),
    "delta_tol": ("Training stops when delta <= delta_tol.", 0),
    "theta_steps": ("K: theta steps per round of Algorithm 2.", 1),
    "max_rounds": ("Cap of Algorithm 2's inner while loop per batch.", 1),
    "omega_step_updates_theta": ("The omega step also steps theta (the TF1 release).", False),
}


# ----------------------------------------------------------------------------------- the run
@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainingConfig:
    """What :func:`lda_tf.training.fit.fit` needs; defaults are the meta paper's (SPEC 4)."""

    output_dir: str = setting(
        help="Run directory (config.json, checkpoints/, logs/, history.csv, model.keras).", compare=False
    )
    epochs: int = setting(100, help="Epochs.", min=1, change="extend")
    steps_per_epoch: int | None = setting(
        None, help="Batches per epoch (default: one pass over the training images).", min=1
    )
    seed: int = setting(0, help="Seed of initialisation and data order.", min=0)
    deterministic: bool = setting(
        True,
        help="Bit-reproducible results: TensorFlow's op determinism and the sum-reordering graph "
        "rewrite off (lda_tf/determinism.py); --nodeterministic for speed.",
        change="runtime",
    )
    network: NetworkConfig | None = setting(NetworkConfig(), help="the network (None: the recipe's own)")
    optimizer: OptimizerConfig = setting(OptimizerConfig())
    bilevel: BilevelConfig | None = setting(None, help="Algorithm 2's constants (meta training)")
    stair: StairConfig | None = setting(None, help="warm-start phase growth (off if None)", prefix="stair_")
    checkpoint_every: int = setting(1, help="Epochs between checkpoints.", min=1, change="runtime")
    validation_every: int = setting(1, help="Epochs between validation passes.", min=1, change="runtime")
    image_every: int = setting(10, help="Epochs between TensorBoard images.", min=1, change="runtime")
    max_consecutive_skips: int = setting(
        10, help="Stop after this many non-finite steps in a row.", min=1, change="runtime"
    )
    distribute: str = setting(
        "none",
        help="mirrored: tf.distribute.MirroredStrategy over all GPUs; multi_worker: "
        "tf.distribute.MultiWorkerMirroredStrategy over the hosts TF_CONFIG names (README).",
        choices=("none", "mirrored", "multi_worker"),
        change="runtime",
    )
    # XLA for the train / test steps: "auto" is Keras's rule (on with a GPU and no distribution
    # strategy, off on CPU-only machines, where it measured 2.3x slower: benchmarks/README.md).
    # Keras also keeps XLA off while op determinism is on (deterministic, the default), with a
    # warning, whatever this says.
    jit_compile: str = setting(
        "auto",
        help="XLA for the training step; auto: on with a GPU (Keras's rule), "
        "off on CPU (measured slower there). Keras keeps it off under --deterministic (the default).",
        choices=("auto", "true", "false"),
        change="runtime",
    )
    # How the training gradients are computed (lda_tf.training.adjoint; docs/training.md): the same
    # gradients either way, so a runtime setting.
    gradient: str = setting(
        "tape",
        help="Training gradients: tape (autodiff through the network) or adjoint (multiplier "
        "recursion over the phases, recomputing each: memory of the phase states and one phase).",
        choices=("tape", "adjoint"),
        change="runtime",
    )
    # TensorFlow's older constant folding of function graphs (after Grappler): off saves 15-22 % of
    # the first bilevel step and 30 % of the process's peak at the paper's size, same values
    # (lda_tf/runtime.py).
    function_constant_folding: bool = setting(
        False,
        help="TensorFlow's classic constant folding of function graphs (off: a shorter first step and "
        "a lower memory peak, the same results; lda_tf/runtime.py).",
        change="runtime",
    )
    # Grappler's passes that change nothing in these graphs (the MLIR pipelines, layout and memory
    # optimisers on CPU, a second round): skipped, the first bilevel step 26-27 % shorter at the
    # paper's size, same values (lda_tf/runtime.py).
    all_grappler_passes: bool = setting(
        False,
        help="Run all of Grappler's default passes, also those that change nothing in these graphs (off: "
        "a shorter first step, the same results; lda_tf/runtime.py).",
        change="runtime",
    )
    overwrite: bool = setting(
        False, help="Replace an existing run directory instead of resuming it.", change="runtime"
    )
    verbose: int = setting(
        1,
        help="Keras progress output: 0 silent, 1 progress bar, 2 one line per epoch.",
        choices=(0, 1, 2),
        change="runtime",
    )

    def __post_init__(self):
        for leaf in leaves(self):
            leaf.check()

    # ------------------------------------------------------------------------ JSON
    def to_dict(self) -> dict:
        """A JSON-ready dict (nested like the dataclasses); :meth:`from_dict` inverts it."""
        return to_json(self)

    @classmethod
    def from_dict(cls, data: dict):
        return from_json(cls, data)

    # ------------------------------------------------------------------------ overrides
    def replace(self, **changes):
        """A copy with settings changed by flat name (``epochs=3, num_phases=1, stair_patience=5``).
        A section that is ``None`` is created from its defaults when one of its settings is given."""
        return replace_flat(self, changes)


# ----------------------------------------------------------------------------------- leaves
@dataclasses.dataclass(frozen=True)
class Leaf:
    """One setting of a configuration: its flat name, path of field names, type, metadata, value."""

    name: str
    path: tuple[str, ...]
    type: Any
    metadata: typing.Mapping
    value: Any = None

    def check(self) -> None:
        """Bounds, choices and finiteness of ``value``; errors name the setting."""
        value, meta = self.value, self.metadata
        if value is None:
            return
        if "choices" in meta:
            check_choice(value, meta["choices"], self.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"argument `{self.name}` must be a finite number; got {value}")
        if "min" in meta and value < meta["min"]:
            raise ValueError(f"argument `{self.name}` must be >= {meta['min']}; got {value}")
        if "min_exclusive" in meta and value <= meta["min_exclusive"]:
            raise ValueError(f"argument `{self.name}` must be > {meta['min_exclusive']}; got {value}")

    @property
    def help(self) -> str:
        return self.metadata.get("help", "")


def _hints(cls) -> dict:
    return typing.get_type_hints(cls)


def _dataclass_of(annotation) -> type | None:
    """The dataclass of a section annotation (``X`` or ``X | None``), else None."""
    options = typing.get_args(annotation) if _is_union(annotation) else (annotation,)
    found = [option for option in options if dataclasses.is_dataclass(option)]
    return found[0] if len(found) == 1 else None


def _is_union(annotation) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def section_fields(cls) -> Iterator[tuple[dataclasses.Field, Any]]:
    hints = _hints(cls)
    for field in dataclasses.fields(cls):
        yield field, hints[field.name]


def _section(annotation, value) -> type | None:
    """The section class of a field: its value's dataclass, else the annotation's (``X | None``)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return type(value)
    return _dataclass_of(annotation)


def leaves(config, prefix: str = "", path: tuple[str, ...] = ()) -> Iterator[Leaf]:
    """Every setting of ``config`` (a dataclass instance or class); a section that is ``None``
    contributes its class's fields, with their defaults as values."""
    instance = not isinstance(config, type)
    for field, annotation in section_fields(type(config) if instance else config):
        value = getattr(config, field.name) if instance else field.default
        section = _section(annotation, value)
        if section is not None:
            inner = value if dataclasses.is_dataclass(value) else section
            yield from leaves(inner, prefix + field.metadata.get("prefix", ""), path + (field.name,))
            continue
        metadata = dict(field.metadata)
        if path[-1:] == ("bilevel",):
            help_text, lower = BILEVEL_HELP[field.name]
            metadata.update(help=help_text, min=lower)
        value = None if value is dataclasses.MISSING else value
        yield Leaf(prefix + field.name, path + (field.name,), annotation, metadata, value)


def replace_flat(config, changes: dict):
    """``config`` with settings changed by flat name (see :meth:`TrainingConfig.replace`)."""
    by_name = {leaf.name: leaf for leaf in leaves(config)}
    unknown = sorted(set(changes) - set(by_name))
    if unknown:
        raise ValueError(f"unknown settings {unknown}; known: {sorted(by_name)}")
    nested: dict = {}
    for name, value in changes.items():
        parse = by_name[name].metadata.get("parse")
        if parse is not None and isinstance(value, str):
            value = parse(value)
        target = nested
        for part in by_name[name].path[:-1]:
            target = target.setdefault(part, {})
        target[by_name[name].path[-1]] = value
    return _apply(config, nested)


def _apply(config, nested: dict):
    updates = {}
    for name, value in nested.items():
        if isinstance(value, dict):
            current = getattr(config, name)
            if current is None:
                section = _dataclass_of(_hints(type(config))[name])
                updates[name] = section(**value)
            else:
                updates[name] = _apply(current, value)
        else:
            updates[name] = value
    return dataclasses.replace(config, **updates)


# ----------------------------------------------------------------------------------- JSON form
def to_json(value):
    """Dataclasses as dicts, tuples as lists (recursively)."""
    if dataclasses.is_dataclass(value):
        return {field.name: to_json(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [to_json(item) for item in value]
    return value


def from_json(annotation, data):
    """The value of type ``annotation`` whose :func:`to_json` form is ``data``."""
    if data is None:
        return None
    if _is_union(annotation):
        options = [option for option in typing.get_args(annotation) if option is not type(None)]
        if len(options) > 1:  # a union of sections: the one whose field names the dict has
            for option in options:
                if dataclasses.is_dataclass(option) and set(data) == {
                    f.name for f in dataclasses.fields(option)
                }:
                    return from_json(option, data)
            raise ValueError(f"settings {sorted(data)} match none of {[o.__name__ for o in options]}")
        annotation = options[0]
    if dataclasses.is_dataclass(annotation):
        hints = _hints(annotation)
        names = {field.name for field in dataclasses.fields(annotation)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown {annotation.__name__} settings {unknown}")
        return annotation(**{name: from_json(hints[name], value) for name, value in data.items()})
    if typing.get_origin(annotation) is tuple:
        arguments = typing.get_args(annotation)
        if len(arguments) == 2 and arguments[1] is Ellipsis:
            return tuple(from_json(arguments[0], item) for item in data)
        return tuple(from_json(argument, item) for argument, item in zip(arguments, data))
    if annotation is float and isinstance(data, int):
        return float(data)
    return data


# ----------------------------------------------------------------------------------- comparison
class SettingsMismatch(ValueError):
    """A resume or reuse whose settings change what the existing run trained."""


def display(value) -> str:
    """A setting's value as a user writes it (tasks ``radial:10,radial:20``, crop ``16,18``)."""
    if isinstance(value, tuple):
        return ",".join(str(item) for item in value)
    return str(value)


def differences(old, new) -> tuple[list[tuple[str, Any, Any]], list[tuple[str, Any, Any]]]:
    """``(refused, allowed)``: the settings whose values differ between two configurations, as
    ``(flat name, old, new)``; allowed are those that only extend the run or change runtime."""
    refused, allowed = [], []
    changed_sections = set()
    for field, annotation in section_fields(type(new)):  # a section added, removed or of another kind
        before, after = getattr(old, field.name), getattr(new, field.name)
        if _section(annotation, after) or _section(annotation, before):
            if type(before) is not type(after):
                changed_sections.add(field.name)
                refused.append((field.name, _summary(before), _summary(after)))
    old_leaves = {leaf.name: leaf for leaf in leaves(old)}
    for leaf in leaves(new):
        if leaf.path[0] in changed_sections or leaf.value == old_leaves[leaf.name].value:
            continue
        if not leaf.metadata.get("compare", True):  # where the run is: it may have been moved
            continue
        before, after = old_leaves[leaf.name].value, leaf.value
        change = leaf.metadata.get("change")
        ok = change == "runtime" or (change == "extend" and after >= before)
        (allowed if ok else refused).append((leaf.name, before, after))
    return refused, allowed


def _summary(section) -> str:
    if section is None:
        return "None"
    return f"{type(section).__name__}({', '.join(f'{k}={display(v)}' for k, v in to_json(section).items())})"
