"""The package version (one place; ``neurograph.__version__``)."""

__version__ = "0.1.0"
