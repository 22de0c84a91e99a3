"""The layers of the package, bottom to top, as data: which files make each layer and which
layers each may import. ``tests/test_layers.py`` reads every import in ``minivae/`` and fails,
naming the files, on an import circle or on an import this table does not allow;
docs/architecture.md draws it.

A file belongs to the layer of the first rule its path (relative to the repository) matches,
in ``RULES`` order. The model families are every folder no other rule claims, so a new
family is a new folder and nothing here; its training run (``run_config.py``) and task
metrics (``tasks.py``) sit in the tasks layer, above training.
"""

# Bottom to top: layer -> the layers below it that it may import (its own layer always).
MAY_IMPORT = {
    "base": [],
    "ops": ["base"],
    "blocks": ["base", "ops"],
    "families": ["base", "ops", "blocks"],
    "remedies": ["base", "ops"],
    "training": ["base", "ops", "blocks", "remedies"],
    "tasks": ["base", "ops", "blocks", "families", "remedies", "training"],
    "registry": ["base", "ops", "blocks", "families", "remedies", "training", "tasks"],
    "apps": ["base", "ops", "blocks", "families", "remedies", "training", "tasks", "registry"],
}

# Layers whose folders may not import each other: one model family knows nothing of another.
SEALED = {"families"}

# (glob pattern, layer): the first that matches a file's path decides its layer.
RULES = [
    ("minivae/__init__.py", "apps"),
    ("minivae/__main__.py", "apps"),
    ("minivae/api.py", "apps"),
    ("minivae/cli/*", "apps"),
    ("minivae/benchmarks/*", "apps"),
    ("minivae/gradcheck/*", "apps"),
    ("minivae/export/*", "apps"),
    ("minivae/assignments/*", "apps"),
    ("minivae/registry.py", "registry"),
    ("minivae/loading.py", "registry"),
    ("minivae/*/run_config.py", "tasks"),
    ("minivae/*/tasks.py", "tasks"),
    ("minivae/training/*", "training"),
    ("minivae/remedies/*", "remedies"),
    ("minivae/evaluation.py", "training"),
    ("minivae/generation.py", "training"),
    ("minivae/blocks/*", "blocks"),
    ("minivae/ops/*", "ops"),
    ("minivae/data/*", "base"),
    ("minivae/backend.py", "base"),
    ("minivae/threads.py", "base"),
    ("minivae/progress.py", "base"),
    ("minivae/config_dict.py", "base"),
    ("minivae/files.py", "base"),
    ("minivae/interface.py", "base"),
    ("minivae/layers.py", "base"),
    ("minivae/text_metrics.py", "base"),
    ("minivae/generation_metrics.py", "base"),
    ("minivae/*/*", "families"),  # every other folder is a model family
]
