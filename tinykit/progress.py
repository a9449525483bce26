"""One progress-bar helper so every long step looks the same (tqdm, on stderr)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any


def progress_bar(it: Iterable[Any], *, desc: str, enabled: bool = True, **kw: Any):
    from tqdm import tqdm

    # only on a terminal: in a log file or a pipe the redraws are noise, and an error line
    # printed after them would not start its own line
    disable = not enabled or os.environ.get("TINYKIT_NO_PROGRESS") == "1" or not sys.stderr.isatty()
    return tqdm(
        it, desc=desc, disable=disable, leave=False, file=sys.stderr, dynamic_ncols=True, **kw
    )
