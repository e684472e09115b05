"""Sentences for the window about what the engine left out or could not use, as the CLI
reports them on its terminal (core.__main__.Progress)."""

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
