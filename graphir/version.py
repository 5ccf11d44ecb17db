"""The version of graphir, in its own module so that any module (the ONNX emitter's
``producer_version``, the CLI's ``--version``) can read it without importing the
package facade."""

__all__ = ["__version__"]

#: the package version (PEP 440), kept equal to ``[project] version`` in pyproject.toml
__version__ = "0.1.0"
