"""The package version, in a module of its own so that checkpoint code can record it without
importing the package it belongs to (pyproject.toml's version is the same)."""
__version__ = "0.1.0"
