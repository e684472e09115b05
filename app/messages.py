"""Sentences for the window about how a run ended and what the engine left out or could not
use, as the CLI reports them on its terminal (core.cli.main.Progress)."""

from __future__ import annotations

NAMED = 3  # skipped files named in the banner; the count covers them all


def skipped_files(count: int, names: tuple[str, ...]) -> tuple[str, str]:
    """Return (title, sentence) for the banner when an image folder had files that are not
    readable images: how many, and the first few by name."""
    shown = ", ".join(names[:NAMED])
    more = count - min(len(names), NAMED)
    if shown and more > 0:
        shown += f" and {more:,} more"
    one = count == 1
    sentence = (f"{count:,} file{'' if one else 's'} in the image folder {'is' if one else 'are'} "
                f"not {'a readable image' if one else 'readable images'} and {'was' if one else 'were'} "
                f"skipped{': ' + shown if shown else ''}. Training uses the other images; "
                "delete or replace the file" + ("" if one else "s") + " to stop this warning.")
    return f"{'A file was' if one else 'Some files were'} left out.", sentence


BANNERS = {"diverged": ("warning", "Training diverged."), "memory": ("error", "Out of memory."),
           "data": ("error", "Could not load the data."), "config": ("error", "Invalid settings."),
           "internal": ("error", "Training failed.")}


def run_outcome(result) -> tuple[str, tuple[str, str] | None]:
    """Return the training line's sentence for how a run ended (core.engine.train.FitResult: its
    message and last epoch's accuracies), and the banner's (kind, title) when it ended badly."""
    last, tail = result.last, ""
    if last is not None:
        held = last.held()
        tail = (f"   ·   train {last.train.accuracy:.2f} %"
                + (f", test {held.accuracy:.2f} %" if held else ""))
    if result.status == "done":
        return f"✔ {result.message}{tail}", None
    if result.status == "stopped":
        return f"■ {result.message}{tail}", None
    kind, title = BANNERS.get("diverged" if result.status == "diverged" else result.error_kind,
                              BANNERS["internal"])
    return f"{title}{tail}", (kind, title)


def run_summary(run) -> str:
    """The training line's sentence for a finished run opened from its folder (core.store.reader.Run):
    how it ended and its final accuracies, as run_outcome says it when the run ends here."""
    s = run.summary
    status = s.get("status") or "unknown"
    mark = {"done": "✔", "stopped": "■"}.get(status, "⚠")
    parts = [f"{mark} Finished run ({status})"]
    for split in ("train", "test"):
        acc = (s.get(split) or {}).get("accuracy") if isinstance(s.get(split), dict) else None
        if isinstance(acc, (int, float)):
            parts.append(f"{split} {acc:.2f} %")
    return parts[0] + ("   ·   " + ", ".join(parts[1:]) if parts[1:] else "")
