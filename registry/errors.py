"""One exception root; each subclass carries a message that says what to do next.

The CLI catches only ModelregError (exit 1); anything else is a bug and keeps its traceback.
"""


class ModelregError(Exception):
    """A failed operation the user can fix; the message says how."""


class UsageError(ModelregError):
    """The command line asks for something impossible (exit code 2)."""


class ConfigError(ModelregError):
    """registry.yaml is missing a value or holds an invalid one."""


class LayoutError(ModelregError):
    """A path is not where the registry layout expects it."""


class FormatError(ModelregError):
    """A model file cannot be read as the format it claims or appears to be.

    `code` is the stable finding code (e.g. `format.invalid`).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
