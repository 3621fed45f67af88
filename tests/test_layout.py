"""The stage order of ../shared/STYLE.md, enforced over every import, deferred ones included.

A stage imports only from stages to its left. Each module's stage is its first package under
``lepton_ai`` (``lepton_ai.models.families.gbdt`` is in ``models``); the façade and the entry
points sit right of the stages they tie together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "lepton_ai"

# Left to right. Modules on one line are one layer: they may import each other.
LAYERS: list[tuple[str, ...]] = [
    ("errors", "_version", "config", "files", "memory"),
    ("blobs",),       # the cache several nodes share (Redis), under the feature cache and the run's models
    ("data",),
    ("features",),
    ("models",),
    ("search",),
    ("engine",),
    ("compress",),
    ("store",),
    ("report",),
    ("model",),       # LeptonModel, save_model, load_model: the façade over the stages
    ("sklearn",),     # LeptonAI wraps the façade
    ("serve",),       # serves a loaded LeptonModel
    ("deploy",),      # packages a saved model to be served elsewhere (Dockerfile, Kubernetes)
    ("cli",),
    ("__init__", "utils"),   # re-exports
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}

# Inside models/: the contract, then torch machinery, then the families, then what is made from
# them, then the registry that names them all, then the contract checks that run over the registry.
MODELS_ORDER: list[tuple[str, ...]] = [
    ("base", "metrics", "__init__.base"),
    ("neural",),
    ("families",),
    ("derived",),
    ("registry",),
    ("checks",),
    ("__init__",),
]
MODELS_RANK = {name: rank for rank, names in enumerate(MODELS_ORDER) for name in names}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every ``lepton_ai`` module ``path`` imports, at any depth of the file, with its line."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [f"{target}.{a.name}" for a in node.names] if not node.module else [target]
            found += [(node.lineno, n) for n in names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return [(line, name) for line, name in found if name == "lepton_ai" or name.startswith("lepton_ai.")]


def _stage(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def _models_part(module: str) -> str:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 else "__init__"


def _violations() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = _module_name(path)
        for line, target in _imports(path):
            where = f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}"
            src_stage, dst_stage = _stage(source), _stage(target)
            if src_stage not in RANK or dst_stage not in RANK:
                found.append(f"{where}: stage {src_stage if src_stage not in RANK else dst_stage} has no layer")
            elif RANK[dst_stage] > RANK[src_stage]:
                found.append(f"{where}: {src_stage} is left of {dst_stage}")
            elif src_stage == dst_stage == "models":
                src_part, dst_part = _models_part(source), _models_part(target)
                if MODELS_RANK.get(dst_part, 0) > MODELS_RANK.get(src_part, 0):
                    found.append(f"{where}: models/{src_part} is left of models/{dst_part}")
    return found


def test_every_import_points_left() -> None:
    assert _violations() == []


def test_every_stage_folder_has_a_layer() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    assert folders | modules <= set(RANK)
    parts = {p.name for p in (PACKAGE / "models").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    parts |= {p.stem for p in (PACKAGE / "models").glob("*.py")}
    assert parts <= set(MODELS_RANK)


@pytest.mark.parametrize(("source", "target", "ok"), [
    ("lepton_ai.models.families.gbdt", "lepton_ai.store.io", False),
    ("lepton_ai.store.io", "lepton_ai.models.registry", True),
    ("lepton_ai.models.derived.variant", "lepton_ai.models.registry", False),
    ("lepton_ai.models.registry", "lepton_ai.models.derived.variant", True),
])
def test_the_rule_itself(source: str, target: str, ok: bool) -> None:
    """The check can fail: a rightward import is caught, a leftward one passes."""
    src_stage, dst_stage = _stage(source), _stage(target)
    left = RANK[dst_stage] <= RANK[src_stage]
    if left and src_stage == dst_stage == "models":
        left = MODELS_RANK[_models_part(target)] <= MODELS_RANK[_models_part(source)]
    assert left is ok
