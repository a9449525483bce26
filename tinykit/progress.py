"""One progress-bar helper so every long step looks the same (tqdm, on stderr)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any


def progress_bar(it: Iterable[Any], *, desc: str, enabled: bool = True, **kw: Any):
    from tqdm import tqdm

    disable = not enabled or os.environ.get("TINYKIT_NO_PROGRESS") == "1"
    return tqdm(
        it, desc=desc, disable=disable, leave=False, file=sys.stderr, dynamic_ncols=True, **kw
    )
