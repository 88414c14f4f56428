"""Where the tests find the repository's files: the checkout, its shipped policies and packs, its docs and the corpora."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The checkout (the folder holding ``pyproject.toml``)."""
POLICIES = ROOT / "policies"
PACKS = POLICIES / "packs"
SHELL_PACK = PACKS / "shell.yaml"
DOCS = ROOT / "docs"
DATA = ROOT / "tests" / "data"
"""The shell corpora (``shell_public.jsonl``, ``shell_oneliners.jsonl``)."""
TLDR = Path("/work/shared/corpus/tldr_commands.jsonl")
"""The tldr-pages commands corpus of this machine (outside the checkout; the tests that read it skip without it)."""
