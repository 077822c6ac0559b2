"""Shared test helpers: where the read-only shared data lives, and small builders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path | None:
    """The project's read-only shared/ folder (beside the repository), if present."""
    candidates = [os.environ.get("ARMSWATCH_SHARED"), REPO.parent / "shared"]
    for candidate in candidates:
        if candidate and Path(candidate, "DESIGN.md").is_file():
            return Path(candidate)
    return None


def shared_path(*parts: str) -> Path:
    """A path under shared/, or skip the test with the reason."""
    root = shared_dir()
    if root is None:
        pytest.skip("shared/ is not beside the repository (set ARMSWATCH_SHARED to its path)")
    path = root.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent from shared/")
    return path
