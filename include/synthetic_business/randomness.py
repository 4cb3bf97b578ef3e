"""Independent, reproducible random streams: one per component (and per chunk), all derived from the seed.

Separate streams keep each table stable when another component changes how many numbers it draws.
"""

from __future__ import annotations

import numpy as np

_COMPONENTS = (
    "accounts",
    "company_names",
    "contacts",
    "consents",
    "billing",
    "usage",
    "support",
    "nps",
)


def stream(seed: int, component: str, *index: int) -> np.random.Generator:
    """A PCG64 generator for ``component`` (and chunk ``index``) of the business generated from ``seed``."""
    entropy = [seed, _COMPONENTS.index(component), *index]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))
