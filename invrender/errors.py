"""One exception family that the CLI turns into a one-line message and exit code 2."""

from __future__ import annotations


class InvrenderError(Exception):
    """A user-facing error: the message names the file/key and says how to fix it."""

    exit_code = 2


class ConfigError(InvrenderError):
    """A config file is invalid. Carries every problem found, one per line."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class SetupError(InvrenderError):
    """The environment cannot run invrender (no working LLVM, no GPU, ...)."""


class DataError(InvrenderError):
    """Target images, cameras, masks or scene files are missing or inconsistent."""


class RunStopped(InvrenderError):
    """A run cannot go on (non-finite steps, a full disk); its last checkpoint is intact."""

    exit_code = 3
