"""The one error type a user sees: a problem and its fix, on one line."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or missing set-up; the CLI prints it as one line, without a traceback."""

    def __init__(self, problem: str, fix: str | None = None) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem} Fix: {fix}" if fix else problem)
