"""A task = one (mask type, sampling ratio, seed) (SPEC 4-5): the same mask for its training and
testing, since the mask is made deterministically from these and the image shape. ``part`` 1 or
2 picks one of the two AUG sub-masks of a Cartesian mask (U-LDA 5.1,
:func:`lda_tf.mri.masks.aug_submasks`); 0 (default) the mask itself."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from lda_tf.checks import check_choice
from lda_tf.mri.masks import MASK_TYPES, CartesianMask, aug_submasks, make_mask


@dataclasses.dataclass(frozen=True)
class Task:
    mask_type: str
    ratio: float
    seed: int = 0
    part: int = 0

    def __post_init__(self):
        check_choice(self.mask_type, sorted(MASK_TYPES), "mask_type")
        check_choice(self.part, (0, 1, 2), "part")
        if self.part and not self.mask_type.startswith("cartesian"):
            raise ValueError(
                f"argument `tasks`: AUG sub-masks (part {self.part}) need Cartesian masks; got {self}"
            )
        if self.seed < 0:
            raise ValueError(f"argument `tasks`: the seed of {self} must be >= 0; got {self.seed}")
        if not 0 < self.ratio <= 1:
            raise ValueError(f"task sampling ratio must be in (0, 1]; got {self.ratio}")

    @property
    def name(self) -> str:
        """E.g. ``radial_10`` for radial masks at 10 %."""
        return (
            f"{self.mask_type}_{self.ratio * 100:g}"
            + (f"_seed{self.seed}" if self.seed else "")
            + (f"_aug{self.part}" if self.part else "")
        )

    def __str__(self) -> str:
        """The task as :func:`parse_tasks` reads it: ``radial:10``, ``cartesian:30:1``."""
        seed = f":{self.seed}" if self.seed or self.part else ""
        return f"{self.mask_type}:{self.ratio * 100:.15g}{seed}" + (f":aug{self.part}" if self.part else "")

    def with_part(self, part: int) -> Task:
        return dataclasses.replace(self, part=part)

    def mask(self, shape: tuple[int, int]) -> np.ndarray:
        return _cached_mask(self, tuple(int(size) for size in shape))


@functools.lru_cache(maxsize=64)
def _cached_mask(task: Task, shape: tuple[int, int]) -> np.ndarray:
    mask = make_mask(task.mask_type, shape, task.ratio, task.seed)
    if task.part:
        pattern: CartesianMask = MASK_TYPES[task.mask_type](task.ratio, task.seed)
        mask = aug_submasks(mask, pattern.center_lines(shape[1]), task.seed)[task.part - 1]
    mask.setflags(write=False)
    return mask


def parse_tasks(spec: str) -> list[Task]:
    """``"radial:10,radial:20,cartesian:30:1"`` -> tasks (type : percent [: seed [: aug1|aug2]])."""
    tasks = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        fields = item.split(":")
        if len(fields) not in (2, 3, 4) or (len(fields) == 4 and fields[3] not in ("aug1", "aug2")):
            raise ValueError(f"task {item!r} must be TYPE:PERCENT or TYPE:PERCENT:SEED, e.g. radial:10")
        try:
            percent, seed = float(fields[1]), int(fields[2]) if len(fields) >= 3 else 0
        except ValueError as error:
            raise ValueError(f"task {item!r}: percent must be a number and seed an integer") from error
        tasks.append(Task(fields[0], percent / 100.0, seed, int(fields[3][-1]) if len(fields) == 4 else 0))
    if not tasks:
        raise ValueError("no tasks given; e.g. radial:10,radial:20,radial:30,radial:40")
    return tasks


def format_tasks(tasks) -> str:
    """The inverse of :func:`parse_tasks`."""
    return ",".join(str(task) for task in tasks)


# The meta paper's meta-training tasks (section 5.2), as flags and configs spell them.
META_TRAINING_TASK_SPEC = "radial:10,radial:20,radial:30,radial:40"
META_TRAINING_TASKS = parse_tasks(META_TRAINING_TASK_SPEC)
