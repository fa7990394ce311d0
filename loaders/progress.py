"""Progress reporting for long work, without tying the work to a terminal.

Generators and loaders report stages and counts to a :class:`Progress`; the command
line shows them as rich progress bars, tests and the app pass :class:`Silent`.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def stage(self, name: str, total: int | None = None) -> None:
        """A new stage begins; ``total`` units of work if known."""

    def advance(self, amount: int = 1) -> None:
        """``amount`` more units of the current stage are done."""


class Silent:
    """Progress that goes nowhere."""

    def stage(self, name: str, total: int | None = None) -> None:
        return None

    def advance(self, amount: int = 1) -> None:
        return None
