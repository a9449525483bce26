"""One torch thread for the small matrices of these experiments."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread, restoring the previous count after.

    The matrices here are tiny (32 x 501, a 40-40 network); on a shared CPU a second thread
    costs more in synchronisation than it gives (a closed-form meta-step measured 15x slower
    with two threads than with one on this machine).
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
