"""modelreg: a static, Git-backed AI model registry."""

__version__ = "0.1.0"
