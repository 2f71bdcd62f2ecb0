"""Error classes with stable codes (never branch on message text)."""


class ConfigError(Exception):
    """A wrong configuration value; names the environment variable."""

    code = "CONFIG"

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(f"{variable}: {message}")
        self.variable = variable


class InvalidMessage(Exception):
    """A payload that does not follow protocol v1: logged and dropped, never fatal."""

    code = "PROTOCOL"


class TaskFailure(Exception):
    """A handler failed: becomes TASK_OUTCOME_FAILED with this TaskError."""

    def __init__(self, code: str, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


class Aborted(Exception):
    """The attempt was stopped from outside: kind is 'cancel', 'deadline' or 'shutdown'."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
