"""The package version, recorded in every dataset's manifest."""

__version__ = "0.2.1"
