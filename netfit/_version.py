"""The one place the version number is written (read by pyproject.toml and netfit.__version__)."""
__version__ = "0.1.0"
