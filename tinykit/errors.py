"""Errors a user can fix. The CLI prints them as one line and exits with status 2."""


class TinykitError(Exception):
    """Bad input or an unmet precondition: the message says what is wrong and what to do."""


class MissingDependencyError(TinykitError):
    """An optional package is not installed; the message names it."""

    def __init__(self, package: str, purpose: str):
        super().__init__(f"{purpose} needs the package '{package}': pip install {package}")
