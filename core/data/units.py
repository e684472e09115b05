"""Quantities as the messages show them."""

from __future__ import annotations


def gb(n: float) -> str:
    """Return a byte count as text: '40.0 GB', '312 MB'."""
    if n >= 1e9:
        return f"{n / 1e9:,.1f} GB"
    if n >= 1e6:
        return f"{n / 1e6:,.0f} MB"
    return f"{n / 1e3:,.0f} kB" if n >= 1e3 else f"{int(n)} bytes"
