"""The graphir error hierarchy.

Every error graphir raises on purpose derives from :class:`GraphIRError`.  Each one
carries *where* (file, node, input index) and *what* (expected vs actual) as
attributes, and its ``str()`` is a single line fit for a CLI's stderr (the
invariant and shape errors may append a short excerpt of the IR after it).

The CLI maps :class:`BadInputError` subclasses to exit code 2 and
:class:`VerificationFailed` to exit code 1 (see ``specs/cli.md``).
"""

from __future__ import annotations

__all__ = [
    "BadInputError",
    "DeviceUnavailableError",
    "EmissionError",
    "GraphIRError",
    "GraphInvariantError",
    "IRFormatError",
    "ModelFileError",
    "ModuleImportError",
    "OutputPathError",
    "ReferenceRunError",
    "ResourceLimitError",
    "UnsafeModelError",
    "UnsupportedLayerError",
    "UnsupportedOpError",
    "VerificationFailed",
]


class GraphIRError(Exception):
    """Base class of every error graphir raises deliberately.

    Attributes:
        where: a short human-readable location ("file model.keras, node conv1"), or None.
    """

    def __init__(self, message: str, *, where: str | None = None):
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}" if where else message)


class BadInputError(GraphIRError):
    """The user's input (a file, a model, an argument) cannot be processed (CLI exit 2)."""


class GraphInvariantError(BadInputError):
    """A graph breaks an IR invariant (see ``specs/ir.md``).

    Attributes:
        node: name of the offending node, or None when the error is graph-level.
        invariant: short id of the broken invariant, e.g. ``"defined-before-use"``.
        excerpt: a few lines of the text IR around the offending node (may be empty).
    """

    def __init__(self, message: str, *, node: str | None = None, invariant: str,
                 excerpt: str = "", where: str | None = None):
        self.node = node
        self.invariant = invariant
        self.excerpt = excerpt
        loc = where or (f"node {node!r}" if node else None)
        full = f"[{invariant}] {message}"
        super().__init__(full, where=loc)

    def __str__(self) -> str:  # one line, then the excerpt when there is one
        head = super().__str__()
        return f"{head}\n{self.excerpt}" if self.excerpt else head


class UnsupportedLayerError(BadInputError):
    """A Keras layer has no converter in the op set; it is never approximated.

    Attributes:
        layer_class: the Keras class name, e.g. ``"GroupNormalization"``.
        layer_name: the layer's name in the model.
        model_file: the model file the layer came from, or None for an in-memory model.
        detail: why, in words (the message's parenthesis), or ``""``.
    """

    def __init__(self, layer_class: str, layer_name: str, *, model_file: str | None = None,
                 detail: str = ""):
        self.detail = detail
        self.layer_class = layer_class
        self.layer_name = layer_name
        self.model_file = model_file
        where = f"file {model_file}" if model_file else None
        msg = f"layer {layer_name!r} of class {layer_class} is not supported by graphir"
        if detail:
            msg += f" ({detail})"
        super().__init__(msg, where=where)


class UnsupportedOpError(GraphIRError):
    """A backend cannot emit an IR op (or an attribute value of it)."""


class ModelFileError(BadInputError):
    """A model file is missing, unreadable, of an unknown kind, or refused by its loader."""


class ModuleImportError(BadInputError):
    """A module named with the CLI's ``--import MODULE`` could not be imported (CLI exit 2).

    ``--import`` is the one place where graphir runs code the user did not type on the
    command line: the user's own module, so that the Keras classes it registers load.

    Attributes:
        module: the module name as given, e.g. ``"my_layers"``.
        cause: why it failed, ``"TypeName: first line of the message"``.
    """

    def __init__(self, module: str, cause: str):
        self.module = module
        self.cause = cause
        super().__init__(f"import failed: {cause}",
                         where=f"--import {module}")


class InputShapeError(BadInputError):
    """An ``input_shapes`` entry (``from_keras(..., input_shapes=)``, the CLI's
    ``--input-shape NAME=D0,D1,...``) names no model input, has the wrong rank, or
    contradicts a size the model fixes (CLI exit 2)."""


class IRFormatError(BadInputError):
    """A ``.gir`` file is malformed or of an unsupported format version."""


class UnsafeModelError(ModelFileError):
    """A model file is refused before anything in it is loaded, because loading it could
    run code, read other files or URLs, or write outside graphir's temporary folder
    (``specs/security.md``): an unknown module or class, a ``Lambda``, serialized code,
    a ``TFSMLayer``, a vocabulary path, a zip member named ``../x`` or a symlink...

    Attributes:
        file: the model file.
        entry: where in it, e.g. ``"config.json: layers[3] (class 'Lambda')"`` or
            ``"zip member '../evil.py'"``.
        reason: what is wrong, one line.
    """

    def __init__(self, file: str, entry: str, reason: str):
        self.file = file
        self.entry = entry
        self.reason = reason
        super().__init__(f"{entry}: {reason}", where=f"file {file}")


class ResourceLimitError(ModelFileError):
    """A file declares more than a limit of :class:`graphir.limits.Limits` allows (bytes
    of weights, archive size, compression ratio, nesting depth, object count), or more
    than it stores; refused before the memory or disk is spent.

    Attributes:
        file: the model file.
        entry: where in it (a zip member, a weight, a layer, a tensor).
        declared: what the file declares (bytes, depth or count).
        limit: the bound it exceeds (the budget, or the bytes actually stored).
    """

    def __init__(self, file: str, entry: str, reason: str, *, declared: int, limit: int):
        self.file = file
        self.entry = entry
        self.declared = declared
        self.limit = limit
        super().__init__(f"{entry}: {reason}", where=f"file {file}")


class OutputPathError(BadInputError, OSError):
    """An output file cannot be written: its folder is missing or read-only, the path is
    a directory, or the disk is full.  The previous file at the path, if any, is intact
    and no temporary file is left behind.  Also an ``OSError``, so that callers catching
    I/O errors keep working.

    Attributes:
        path: the destination as given.
        reason: what went wrong, e.g. ``"folder 'out' does not exist"``.
    """

    def __init__(self, path: str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(reason, where=f"file {path}")


class DeviceUnavailableError(BadInputError):
    """The requested device (e.g. ``gpu``) is not available to a runtime."""


class ReferenceRunError(BadInputError):
    """The original (reference) model failed on the verification inputs, so nothing
    could be compared (CLI exit 2: the model given cannot run on inputs of these
    shapes; graphir's output played no part).

    Attributes:
        model: the model's name or file.
        input_shapes: input name -> the concrete shape that was fed.
        cause: the runtime's error, ``"TypeName: first line"``.
    """

    def __init__(self, model: str, input_shapes: dict[str, tuple[int, ...]], cause: str):
        self.model = model
        self.input_shapes = dict(input_shapes)
        self.cause = cause
        shapes = ", ".join(f"{k} {list(v)}" for k, v in self.input_shapes.items())
        super().__init__(f"the reference run of the original model failed on seeded inputs of "
                         f"shape {shapes}: {cause}", where=f"model {model}")


class EmissionError(GraphIRError):
    """Emitting a backend artifact failed (e.g. the ONNX checker rejected the model)."""


class VerificationFailed(GraphIRError):
    """Cross-runtime verification found outputs outside tolerance (CLI exit 1).

    Attributes:
        report: the :class:`graphir.report.VerificationReport` that failed.
    """

    def __init__(self, message: str, *, report=None):
        self.report = report
        super().__init__(message)
