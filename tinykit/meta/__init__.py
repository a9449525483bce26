"""Meta-learning for 1-D functions (homework question 4) and MAML for any nn.Module.

Modules, each one idea: features (Fourier features, tasks, grids), config (MetaConfig),
analytic (the alias problem by hand), metatrain (the outer SGD loop on feature weights c),
closed_form (min-norm inner learner), gd_inner (differentiable GD inner learner), evaluate
(test curves against n_train_post), classify (logistic variant), maml (MAML for nn.Module),
sine (Finn et al.'s sine waves), plots. Importing this package does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "MetaConfig": "tinykit.meta.config",
    "run_regression": "tinykit.meta.closed_form",
    "min_norm_learner": "tinykit.meta.closed_form",
    "make_gd_learner": "tinykit.meta.gd_inner",
    "run_classification": "tinykit.meta.classify",
    "MAML": "tinykit.meta.maml",
    "SineConfig": "tinykit.meta.sine",
    "run_sine": "tinykit.meta.sine",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tinykit.meta' has no attribute {name!r}")
