"""The engine's errors: each one's message is a sentence a user can act on."""


class LearnScopeError(Exception):
    """Base class: str(error) names the cause and says what to do."""


class ConfigError(LearnScopeError, ValueError):
    """A config field has a value the engine cannot use (CLI exit code 2)."""


class DataError(LearnScopeError):
    """A data set could not be found, downloaded or decoded."""


class ExportError(LearnScopeError):
    """An export could not be made: a missing optional package, a folder that cannot be
    written, a run without weights (CLI exit code 1; the window shows it in a banner)."""
