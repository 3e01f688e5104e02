"""What a trained model file is, on one screen (issue 18, part 4).

    python -m lda_tf.info runs/demo/runs/meta_t1/model.keras [more.keras ...]

Prints the network's configuration (class, phases, policy, smoothing, ``g``), its measurement,
its parameter count (theta and omega), its learned scalars (step sizes ``alpha_t``, ``tau_t`` and
``eps0``), its tasks with ``sigma(omega_i)`` (eq. (11)) or its U-LDA domain groups, and the run it
came from: the ``config.json`` beside it (tool, package version, git commit, when it was created
and last finished, data, tasks, epochs, seed). A file that is not a model is an ``error: ...``
line and exit status 2.
"""

from __future__ import annotations

import os
import re
import sys
import textwrap
from pathlib import Path

import numpy as np

from lda_tf.outputs import load_model, read_record

WIDTH = 100
# Configuration entries not worth a line: Keras's own, or shown elsewhere.
_SKIP = {"name", "trainable", "dtype", "measurement", "active_phases", "num_tasks", "num_domains"}


def _number(value) -> str:
    return f"{float(value):.4g}"


def _values(value) -> str:
    array = np.asarray(value)
    if array.ndim == 0:
        return _number(array)
    return "[" + ", ".join(_number(item) for item in array.ravel()) + "]"


def _wrapped(label: str, text: str) -> list[str]:
    indent = " " * 13
    return textwrap.wrap(
        text, WIDTH, initial_indent=f"{label:<12} ", subsequent_indent=indent, break_on_hyphens=False
    ) or [f"{label:<12}"]


def _configuration(network) -> str:
    config = network.get_config()
    items = []
    for key, value in config.items():
        if key in _SKIP or value is None:
            continue
        if isinstance(value, dict):  # the phase policy: its name and non-default constants
            value = value.get("name", value)
        items.append(f"{key}={value}")
    return ", ".join(items)


def _learned(network) -> str:
    """``alpha_phase1 .. alpha_phaseT`` gathered into ``alpha_t [..]``; others as they are."""
    grouped: dict[str, list[str]] = {}
    for name, value in network.learned_scalars().items():
        short = name.split("/")[-1]
        match = re.fullmatch(r"(.+)_phase(\d+)", short)
        key = f"{match.group(1)}_t" if match else short
        if match and int(match.group(2)) > network.active_phases:
            continue
        grouped.setdefault(key, []).append(_values(value.numpy() if hasattr(value, "numpy") else value))
    return "; ".join(
        f"{key} {items[0]}" if len(items) == 1 else f"{key} [{', '.join(items)}]"
        for key, items in grouped.items()
    )


def _count(variables) -> int:
    return int(sum(np.prod(variable.shape) for variable in variables))


def _tasks(network, data: dict) -> list[str]:
    if network.num_domains:
        recorded = data.get("domains") or []
        first = network.num_domains - len(recorded)
        names = [
            f"{index}: "
            + (
                _domain_text(recorded[index - first])
                if index >= first
                else "(a source domain of the model it was transferred from)"
            )
            for index in range(network.num_domains)
        ]
        return _wrapped("domains", f"{network.num_domains} domain groups (--domain=i): " + "; ".join(names))
    if not network.num_tasks:
        return _wrapped(
            "tasks", "none: kappa = 1 (one task, the one it was trained on: " + _task_list(data) + ")"
        )
    weights = network.task_weight_values().numpy()
    recorded = [_task_text(task) for task in data.get("tasks") or []]
    names = [
        f"{index} {recorded[index] if index < len(recorded) else '?'} sigma(omega)={_number(weight)}"
        for index, weight in enumerate(weights)
    ]
    return _wrapped("tasks", f"{network.num_tasks} task weights (task_index i): " + "; ".join(names))


def _task_text(task: dict) -> str:
    from lda_tf.data.tasks import Task

    return str(Task(**task))


def _domain_text(domain: dict) -> str:
    return f"{_task_text(domain['task'])} @ {domain.get('dataset_dir')}"


def _task_list(data: dict) -> str:
    return ",".join(_task_text(task) for task in data.get("tasks") or []) or "not recorded"


def _run(path: Path) -> list[str]:
    record = read_record(path.parent)
    if record is None:
        return _wrapped(
            "run", f"no lda_tf config.json beside {path.name} (the model was copied or saved by hand)"
        )
    invocations = record.get("invocations") or []
    finished = [entry["finished_utc"] for entry in invocations if entry.get("finished_utc")]
    commits = sorted({entry.get("git_commit") for entry in invocations} - {None, record.get("git_commit")})
    lines = _wrapped(
        "run",
        f"{path.parent / 'config.json'}: {record['tool']}, lda_tf {record['lda_tf_version']}, git commit "
        f"{record.get('git_commit')}"
        + (f" (later invocations: {', '.join(commits)})" if commits else "")
        + f", created {record.get('created_utc')}, {len(invocations) or 1} invocation(s)"
        + (f", last finished {finished[-1]}" if finished else ""),
    )
    settings = record.get("settings") or {}
    data = settings.get("data") or {}
    described = [f"{key} {settings[key]}" for key in ("epochs", "seed", "distribute") if key in settings]
    if "dataset_dir" in data and data["dataset_dir"] is None:
        described.append("data the embedded sample")
    for key in ("dataset_dir", "crop", "downsample", "noise_snr_db", "batch_size"):
        if data.get(key) is not None:
            described.append(f"{key} {data[key]}")
    if data.get("tasks"):
        described.append(f"tasks {_task_list(data)}")
    lines += _wrapped("trained", ", ".join(described) or "settings not recorded")
    return lines


def describe(path: str | os.PathLike, name: str = "model") -> str:
    """The screen of the module docstring for the model file ``path`` (errors name ``name``)."""
    path = Path(path)
    network = load_model(path, name)
    record = read_record(path.parent) or {}
    data = (record.get("settings") or {}).get("data") or {}
    theta, omega = _count(network.theta_variables), _count(network.omega_variables)
    size = path.stat().st_size
    lines = [f"{path} ({size / 1024:.0f} KiB)"]
    lines += _wrapped(
        "network",
        f"{type(network).__name__}, {network.active_phases} of {network.num_phases} phases active; "
        + _configuration(network),
    )
    lines += _wrapped("measurement", type(network.measurement).__name__)
    lines += _wrapped(
        "parameters",
        f"{theta + omega:,} trainable: theta {theta:,} (g, step sizes, eps0), omega {omega:,} (task weights)",
    )
    lines += _wrapped("learned", _learned(network) or "none")
    lines += _tasks(network, data)
    lines += _run(path)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    paths = sys.argv[1:] if argv is None else argv
    if not paths or any(item in ("-h", "--help") for item in paths):
        print(__doc__.strip().splitlines()[2].strip())
        return 0 if paths else 2
    status = 0
    for index, path in enumerate(paths):
        try:
            print(("\n" if index else "") + describe(path))
        except (FileNotFoundError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            status = 2
    return status


if __name__ == "__main__":
    sys.exit(main())
