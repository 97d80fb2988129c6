"""The version of mfb, in one place (pyproject.toml reads the same)."""

__version__ = "0.1.0"
