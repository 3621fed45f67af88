"""The command line or Python call that reproduces a run, as text to paste."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["command_line", "api_call"]


def command_line(command: str, arguments: Sequence[object], options: Mapping[str, Any]) -> str:
    """``lepton COMMAND ARG... --option value ...``, quoted for a POSIX shell.

    ``None`` and ``False`` options are left out (the defaults); ``True`` is a bare flag; an option
    ``max_latency_ms`` is written ``--max-latency-ms``.
    """
    words = ["lepton", command, *map(str, arguments)]
    for name, value in options.items():
        if value is None or value is False:
            continue
        flag = "--" + name.replace("_", "-")
        words.extend([flag] if value is True else [flag, str(value)])
    return shlex.join(words)


def api_call(model_args: Mapping[str, Any], train_args: Mapping[str, Any]) -> str:
    """The ``LeptonModel(...).train(...)`` call, with the data loaded from the sources the run read.

    ``model_args`` are the LeptonModel keyword arguments (``None`` values left out); ``train_args``
    holds the ``train`` and ``dev`` sources (``Dataset.source``: a path, a bundled name, a split of one
    such as ``data.csv[train]``, or ``<DataFrame>``-like text for data given in memory), ``label`` and
    ``epochs``.
    """
    train, dev, label = str(train_args.get("train")), train_args.get("dev"), train_args.get("label")
    lines = ["from lepton_ai import LeptonModel, load_data", ""]
    opts = f", label={label!r}" if label else ""
    file, part = _split_of(train)
    if part == "train" and _readable(file) and (dev is None or _split_of(str(dev)) == (file, "dev")):
        lines.append(f"train, dev, test = load_data({file!r}{opts})  # the default seeded split")
        dev = "dev"
    else:
        lines.append(_load_line("train", train, opts))
        if dev is not None:
            lines.append(_load_line("dev", str(dev), opts))
            dev = "dev"
    arguments = ", ".join(f"{k}={v!r}" for k, v in model_args.items() if v is not None)
    call = "train" + (", dev" if dev is not None else "")
    if train_args.get("epochs") is not None:
        call += f", epochs={train_args['epochs']!r}"
    lines.append(f"model = LeptonModel({arguments}).train({call})")
    return "\n".join(lines)


def _split_of(source: str) -> tuple[str, str | None]:
    """``("data.csv", "train")`` for ``"data.csv[train]"``; ``(source, None)`` for anything else."""
    for part in ("train", "dev", "test"):
        if source.endswith(f"[{part}]"):
            return source[: -len(part) - 2], part
    return source, None


def _load_line(name: str, source: str, opts: str) -> str:
    if not _readable(source):  # given in memory (a DataFrame, arrays): no file to point at
        return f"{name} = ...  # {source}, given in memory"
    return f"{name} = load_data({source!r}{opts}, split=None)"


def _readable(source: str) -> bool:
    """Whether ``load_data(source)`` can read it again: a file or folder, or a bundled dataset."""
    from ..data.bundled import BUNDLED

    return source in BUNDLED or Path(source).exists()
