"""A progress bar when tqdm is installed and wanted; nothing otherwise."""

from __future__ import annotations

import sys
from typing import Any


class Progress:
    """``wanted``: True shows a bar (if tqdm is installed), False never, None when
    standard error is a terminal."""

    def __init__(self, wanted: bool | None, *, total: int | None, unit: str, description: str) -> None:
        self._bar: Any = None
        if wanted is False or (wanted is None and not sys.stderr.isatty()):
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return
        scale = unit == "B"
        self._bar = tqdm(total=total, unit=unit, unit_scale=scale, unit_divisor=1024 if scale else 1000, desc=description)

    def total(self, total: int) -> None:
        if self._bar is not None and self._bar.total != total:
            self._bar.total = total
            self._bar.refresh()

    def add(self, amount: int) -> None:
        if self._bar is not None:
            self._bar.update(amount)

    def to(self, value: int) -> None:
        if self._bar is not None and value > self._bar.n:
            self._bar.update(value - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
