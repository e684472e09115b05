import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path, monkeypatch):
    """Every test gets its own runs folder and cache: nothing touches the user's files."""
    monkeypatch.setenv("LEARNSCOPE_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("LEARNSCOPE_CACHE", str(tmp_path / "cache"))
