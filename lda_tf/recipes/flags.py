"""absl flags generated from :class:`lda_tf.recipes.RunConfig`: one flag per setting a recipe reads,
named by the setting's flat name, with its type, its preset's default and its help; and the
configuration the parsed flags describe.

A training binary is::

    define_flags(meta_config)          # at module top
    main = training_main(meta_config)  # app.run(main)

Types: ``bool`` -> DEFINE_bool, a string with ``choices`` -> DEFINE_enum, ``int`` / ``float`` (or
None) -> DEFINE_integer / DEFINE_float, ``HEIGHT,WIDTH`` pairs -> DEFINE_list, settings with a
``parse`` (tasks) -> DEFINE_string. Bounds, finiteness (``nan``, ``inf``) and the rest are checked
when the configuration is built, by the dataclasses themselves; their errors name the setting,
which :func:`lda_tf.cli.user_errors_exit` reports as the flag (``error: --epochs must be >= 1``,
exit 2). The stair settings apply only with ``--stair_initial_phases``.
"""

from __future__ import annotations

import typing
from collections.abc import Callable

from absl import flags

from lda_tf.cli import user_errors_exit
from lda_tf.recipes import RECIPES, train
from lda_tf.recipes.config import RunConfig
from lda_tf.training.config import Leaf, leaves

FLAGS = flags.FLAGS
Preset = Callable[..., RunConfig]
OPTIONAL_SECTIONS = (
    "network",
    "stair",
    "bilevel",
    "task_correlation",
    "cnn",
)  # flags only for recipes that use them
NOT_FLAGS = frozenset({"recipe", "preset"})  # the binary and its preset fix these


def flag_leaves(preset: Preset) -> list[Leaf]:
    """The settings ``preset``'s recipe reads, with the preset's values as defaults."""
    base = preset(output_dir="")
    recipe = RECIPES[base.recipe]
    return [
        leaf
        for leaf in leaves(base)
        if leaf.name not in NOT_FLAGS | recipe.unused
        and not (leaf.path[0] in OPTIONAL_SECTIONS and leaf.path[0] not in recipe.sections)
    ]


def _flag_default(leaf: Leaf):
    if leaf.value is None:
        return None
    if "format" in leaf.metadata:
        return leaf.metadata["format"](leaf.value)
    if isinstance(leaf.value, tuple):
        return [str(item) for item in leaf.value]
    return leaf.value


def _kind(leaf: Leaf) -> type:
    """The value type of a setting (``int | None`` -> int)."""
    options = [option for option in typing.get_args(leaf.type) if option is not type(None)]
    return options[0] if options else leaf.type


def define_flags(preset: Preset, flag_values: flags.FlagValues = FLAGS) -> None:
    """Define the flags of the binary training ``preset``'s recipe (in ``flag_values``)."""
    recipe = RECIPES[preset(output_dir="").recipe]
    required = ("output_dir", *sorted(recipe.required))
    for leaf in flag_leaves(preset):
        name, help_text, kind = leaf.name, leaf.help or leaf.name, _kind(leaf)
        default = None if name in required else _flag_default(leaf)
        if "parse" in leaf.metadata:
            flags.DEFINE_string(name, default, help_text, flag_values=flag_values)
        elif kind is bool:
            flags.DEFINE_bool(name, default, help_text, flag_values=flag_values)
        elif kind is str and "choices" in leaf.metadata:
            flags.DEFINE_enum(
                name, default, list(leaf.metadata["choices"]), help_text, flag_values=flag_values
            )
        elif kind is str:
            flags.DEFINE_string(name, default, help_text, flag_values=flag_values)
        elif kind is int:
            flags.DEFINE_integer(name, default, help_text, flag_values=flag_values)
        elif kind is float:
            flags.DEFINE_float(name, default, help_text, flag_values=flag_values)
        elif typing.get_origin(kind) is tuple:
            flags.DEFINE_list(name, default, help_text, flag_values=flag_values)
        else:
            raise TypeError(f"no flag type for setting {name} of type {leaf.type}")
    for name in required:
        flags.mark_flag_as_required(name, flag_values=flag_values)


def _value(leaf: Leaf, flag_values: flags.FlagValues):
    value = flag_values[leaf.name].value
    if isinstance(value, list):  # HEIGHT,WIDTH
        try:
            return tuple(int(item) for item in value)
        except ValueError:
            raise ValueError(
                f"argument `{leaf.name}` must be HEIGHT,WIDTH with positive integers; got {','.join(value)}"
            ) from None
    return value


def config_from_flags(preset: Preset, flag_values: flags.FlagValues = FLAGS) -> RunConfig:
    """The configuration the parsed flags describe."""
    settings = {leaf.name: _value(leaf, flag_values) for leaf in flag_leaves(preset)}
    stair = {name for name in settings if name.startswith("stair_")}
    if stair and settings["stair_initial_phases"] is None:
        given = sorted(name for name in stair if flag_values[name].present)
        if given:
            raise ValueError(f"argument `{given[0]}` needs `stair_initial_phases` (stair training is off)")
        settings = {name: value for name, value in settings.items() if name not in stair}
    output_dir = settings.pop("output_dir")
    return preset(output_dir, **settings)


def training_main(preset: Preset) -> Callable[[list[str]], None]:
    """The ``main(argv)`` of the binary training ``preset``: train, print where the model is."""

    @user_errors_exit
    def main(argv):
        del argv
        model = train(config_from_flags(preset))
        print(f"done: {model}")

    return main
