"""LearnScope's engine, without Qt: what the window, the command line and the tests share.

Its parts, from the bottom up (an import-linter layers contract in pyproject.toml keeps the order):

- `files`: the rules for a user's files: read only regular files under a size limit, write
  atomically, names that become paths, folder locks;
- `data`: the data sets (embedded and on disk), their loading and preprocessing;
- `nets`: the MLP and the CNN, their layer table and receptive fields, what a layer shows;
- `experiment`: an experiment's config, its schema, the presets, the optimisers and schedules
  it can name, comparing two of them;
- `engine`: the Trainer and what it trains with (losses, precision, devices, memory checks,
  per-step metrics, Part 1's hand-written backward); it writes nothing itself;
- `store`: the run folders: the writers attached to a Trainer, reading a run back, restoring
  its network;
- `study`, `report`, `export`: matched runs and the practical's ladder; the lab report; a run
  taken elsewhere (CSV, a PyTorch script, TensorBoard, ONNX);
- `cli`: `python -m core`.

Here: the engine's errors, which every part raises; each one's message is a sentence a user
can act on.
"""


class LearnScopeError(Exception):
    """Base class: str(error) names the cause and says what to do."""


class ConfigError(LearnScopeError, ValueError):
    """A config field has a value the engine cannot use (CLI exit code 2)."""


class DataError(LearnScopeError):
    """A data set could not be found, downloaded or decoded."""


class ExportError(LearnScopeError):
    """An export could not be made: a missing optional package, a folder that cannot be
    written, a run without weights (CLI exit code 1; the window shows it in a banner)."""
