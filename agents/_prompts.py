"""Prompt templates, shipped as package data."""

from __future__ import annotations

from functools import cache
from importlib import resources

__all__ = ["prompt"]


@cache
def prompt(name: str) -> str:
    """Return the text of ``prompts/<name>.md``."""
    return (resources.files("trifecta.agents") / "prompts" / f"{name}.md").read_text("utf-8")
