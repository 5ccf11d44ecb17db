"""The ``graphir`` command line (click).

Exit codes (``specs/cli.md``): 0 success; 1 verification or check found a problem;
2 bad input or usage (unreadable or unsupported model, unknown suffix, missing
device); 3 internal error (a bug: please report it with ``--debug``).  Errors are
one line on stderr; ``--debug`` adds the traceback.  Every output file is written
to a temporary file beside it and moved into place only when the command succeeds.

``--import MODULE`` (repeatable, on every verb that reads model files) imports the
user's module before anything is loaded, so that the Keras classes it registers with
``keras.saving.register_keras_serializable`` load.  It is the only place where graphir
imports code it was not shipped with; model files never execute code.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import os
import sys
import tempfile
import traceback
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator

import click

from graphir.diagnostics import ShapeCheckError
from graphir.errors import BadInputError, GraphIRError, ModuleImportError, VerificationFailed
from graphir.limits import Limits, parse_size, using_limits

__all__ = ["main", "cli"]

OUTPUT_SUFFIXES = (".onnx", ".keras", ".gir")
INPUT_SUFFIXES = (".keras", ".gir")
DEVICE_CHOICE = click.Choice(["auto", "cpu", "gpu"])


def _quiet_tensorflow() -> None:
    # The CLI owns the process: keep TF's C++ start-up chatter off stderr so that an
    # error is one line.  Library users keep their own settings.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@contextlib.contextmanager
def _native_stderr_captured() -> Iterator[Path]:
    """Send file descriptor 2 to a temporary file for the duration (C++ log lines that
    TensorFlow and CUDA stubs print before logging is configured bypass Python)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.NamedTemporaryFile(prefix="graphir-stderr-", suffix=".log", delete=False) as f:
        path = Path(f.name)
    try:
        fd = os.open(path, os.O_WRONLY)
        os.dup2(fd, 2)
        os.close(fd)
        yield path
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def _prepare_tensorflow(debug: bool) -> None:
    """Import TensorFlow and probe its devices once, keeping its start-up chatter off stderr
    (shown with ``--debug``), so that an error stays one line."""
    if "tensorflow" in sys.modules:
        return
    with _native_stderr_captured() as log:
        try:
            import tensorflow as tf

            tf.config.list_physical_devices("GPU")
        finally:
            chatter = log.read_text(errors="replace")
            log.unlink()
    if debug and chatter:
        click.echo(chatter.rstrip("\n"), err=True)


def _import_user_modules(names: tuple[str, ...]) -> None:
    """Import the modules given with ``--import``, in order, with ``importlib.import_module``.

    Where a module is found: the current working directory is put first on ``sys.path``
    (unless it is already there), as ``python -m`` does; then ``PYTHONPATH`` and the
    installed packages, as usual.  Dotted names (``my_pkg.layers``) import packages.
    The current directory is added only when ``--import`` is given.

    Raises:
        ModuleImportError: a name is not a module name (a file path, say), or importing
            it raised; the message names the module and the exception's first line.
    """
    if not names:
        return
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    for name in names:
        if name.endswith(".py") or "/" in name or os.sep in name:
            raise ModuleImportError(name, f"give a module name, e.g. {Path(name).stem!r}, "
                                          "not a file")
        if not all(part.isidentifier() for part in name.split(".")):
            raise ModuleImportError(name, "not a Python module name")
        try:
            importlib.import_module(name)
        except (Exception, SystemExit) as e:  # the user's code may raise anything: report it
            lines = str(e).strip().splitlines()
            raise ModuleImportError(name, f"{type(e).__name__}: {lines[0]}" if lines
                                    else type(e).__name__) from e


def _fail(message: str, code: int) -> None:
    click.echo(f"graphir: error: {message}", err=True)
    sys.exit(code)


def _handle_errors(fn: Callable) -> Callable:
    """Map graphir errors to exit codes and one-line messages (traceback with --debug);
    import the ``--import`` modules (the ``imports`` parameter) before the command runs."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        root = click.get_current_context().find_root().params
        debug = root.get("debug", False)
        budget = root.get("memory_budget")
        limits = Limits.default() if budget is None else Limits.default().evolve(
            memory_budget=budget)
        imports = kwargs.pop("imports", ())
        shapes = kwargs.pop("input_shapes", ())
        dtypes = kwargs.pop("input_dtypes", ())
        try:
            with using_limits(limits), _warnings_captured(debug):
                shapes = _parse_input_shapes(shapes)
                dtypes = _parse_input_dtypes(dtypes)
                if imports or _needs_tensorflow(kwargs):
                    _prepare_tensorflow(debug)
                _import_user_modules(imports)
                if not shapes and not dtypes:
                    return fn(*args, **kwargs)
                from graphir.backends.keras.lower import (default_input_dtypes,
                                                          default_input_shapes)

                with default_input_shapes(shapes), default_input_dtypes(dtypes):
                    return fn(*args, **kwargs)
        except (VerificationFailed, ShapeCheckError) as e:
            if debug:
                traceback.print_exc()
            if kwargs.get("as_json"):
                _emit_json({"passed": False, "error": str(e).splitlines()[0],
                            "diagnostics": [d.to_json() for d in getattr(e, "diagnostics", ())]})
            _fail(str(e).splitlines()[0], 1)
        except (BadInputError, GraphIRError) as e:
            if kwargs.get("as_json"):
                _emit_json({"passed": False, "error": str(e).splitlines()[0]})
            if debug:
                traceback.print_exc()
            first, *rest = str(e).splitlines()
            click.echo(f"graphir: error: {first}", err=True)
            if rest and debug:
                click.echo("\n".join(rest), err=True)
            sys.exit(2)
        except click.exceptions.Exit:
            raise
        except (KeyboardInterrupt, click.ClickException, SystemExit):
            raise
        except MemoryError:  # an input larger than the budget foresaw: bad input, not a bug
            if debug:
                traceback.print_exc()
            _fail("out of memory (give a smaller --memory-budget so that such inputs are "
                  "refused before loading)", 2)
        except Exception as e:  # an internal error: one line unless --debug
            if debug:
                traceback.print_exc()
            _fail(f"internal error: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
                  " (rerun with --debug for the traceback)", 3)

    return wrapper


@contextlib.contextmanager
def _warnings_captured(debug: bool) -> Iterator[None]:
    """Capture the Python warnings libraries raise during a command (Keras' "Skipping
    variable loading..." on a broken file, say), so that an error stays one line; with
    ``--debug`` they are printed afterwards."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            if debug:
                for w in caught:
                    click.echo(f"warning: {w.category.__name__}: {w.message}", err=True)


def _needs_tensorflow(params: dict) -> bool:
    """True when a command's files involve Keras (a .keras path) or it runs the demo."""
    paths = [v for v in params.values() if isinstance(v, Path)]
    paths += [p for v in params.values() if isinstance(v, tuple) for p in v if isinstance(p, Path)]
    return "models" in params or any(p.suffix == ".keras" for p in paths)


def _emit_json(data: dict) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, allow_nan=False))


#: options that take several space-separated values (click takes one per flag)
_VARIADIC = {"--outputs", "--inputs", "--map"}
_MODEL_SUFFIXES = (".keras", ".gir", ".onnx")


def _expand_variadic(argv: list[str]) -> list[str]:
    """``--outputs a b -o x`` -> ``--outputs a --outputs b -o x``: a variadic option takes
    the following words up to the next option or a model file name."""
    out: list[str] = []
    current = None
    for tok in argv:
        if tok in _VARIADIC:
            current = tok
            out.append(tok)
            continue
        if current and not tok.startswith("-") and not tok.endswith(_MODEL_SUFFIXES):
            if out[-1] != current:
                out.append(current)
            out.append(tok)
            continue
        current = None
        out.append(tok)
    return out


class _Group(click.Group):
    """The root group: expands variadic options before click parses them, and reports
    usage errors as one ``graphir: error:`` line (exit 2) like every other error,
    without click's Usage block (``-h`` shows it)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, _expand_variadic(list(args)))

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except _NO_ARGS_IS_HELP as e:  # bare ``graphir``: the help
            click.echo(e.ctx.get_help() if e.ctx else e.format_message())
            sys.exit(0)
        except click.ClickException as e:
            _fail(_usage_message(e), e.exit_code)
        except click.exceptions.Abort:
            _fail("aborted", 1)
        sys.exit(code if isinstance(code, int) else 0)


#: click >= 8.2 raises it for a bare ``graphir`` (older versions print the help themselves)
_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


def _usage_message(e: click.ClickException) -> str:
    """One line for a click error: ``"convert: Missing argument 'DST'."`` (the command,
    when there is one, then click's message with its whitespace folded)."""
    message = " ".join(e.format_message().split())
    ctx = getattr(e, "ctx", None)
    if ctx is not None and ctx.parent is not None:
        return f"{ctx.info_name}: {message}"
    return message


def _parse_budget(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_size(value)
    except ValueError as e:
        raise click.BadParameter(str(e), ctx=ctx, param=param) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks and captured library warnings.")
@click.option("--memory-budget", "memory_budget", metavar="SIZE", envvar="GRAPHIR_MEMORY_BUDGET",
              callback=_parse_budget, default=None,
              help="The most bytes of weights an input file may declare, e.g. 4G (default: a "
                   "quarter of physical memory; env GRAPHIR_MEMORY_BUDGET). Larger files are "
                   "refused before memory is spent (specs/security.md).")
@click.version_option(package_name="graphir")
def cli(debug: bool, memory_budget: int | None) -> None:
    """graphir: lower Keras models to a typed graph IR, emit Keras/ONNX, verify TF vs onnxruntime."""
    _quiet_tensorflow()

def _parse_input_shapes(pairs: tuple[str, ...]) -> dict[str, tuple[int | None, ...]]:
    """``--input-shape NAME=D0,D1,...`` values as ``{name: shape}`` (``?`` or ``None``
    keeps a dim unknown).

    Raises:
        click.UsageError: a value is not ``NAME=`` and comma-separated sizes, a size is not
            a positive int, or a name is given twice.
    """
    shapes: dict[str, tuple[int | None, ...]] = {}
    for pair in pairs:
        name, sep, dims = pair.partition("=")
        if not sep or not name or not dims:
            raise click.UsageError(f"--input-shape {pair!r}: expected NAME=D0,D1,...")
        shape: list[int | None] = []
        for d in dims.split(","):
            d = d.strip()
            if d in ("?", "None", "none"):
                shape.append(None)
            elif d.isdigit() and int(d) > 0:
                shape.append(int(d))
            else:
                raise click.UsageError(f"--input-shape {pair!r}: {d!r} is not a positive "
                                       f"size (or ? for an unknown one)")
        if name in shapes:
            raise click.UsageError(f"--input-shape {name!r} given twice")
        shapes[name] = tuple(shape)
    return shapes


def _parse_input_dtypes(pairs: tuple[str, ...]) -> dict[str, str]:
    """``--input-dtype NAME=DTYPE`` values as ``{name: dtype}``.

    Raises:
        click.UsageError: a value is not ``NAME=DTYPE``, the dtype is not an IR dtype, or
            a name is given twice.
    """
    from graphir.dtypes import DType

    dtypes: dict[str, str] = {}
    for pair in pairs:
        name, sep, dtype = pair.partition("=")
        if not sep or not name or not dtype:
            raise click.UsageError(f"--input-dtype {pair!r}: expected NAME=DTYPE")
        try:
            dtypes_value = DType.from_any(dtype.strip()).value
        except (TypeError, ValueError):
            raise click.UsageError(f"--input-dtype {pair!r}: {dtype!r} is not a dtype "
                                   f"(int32, int64, float32, ...)") from None
        if name in dtypes:
            raise click.UsageError(f"--input-dtype {name!r} given twice")
        dtypes[name] = dtypes_value
    return dtypes


def _input_options(fn: Callable) -> Callable:
    """``--input-shape`` and ``--input-dtype`` on a command that lowers Keras models."""
    return _INPUT_SHAPE(_INPUT_DTYPE(fn))


_INPUT_DTYPE = click.option(
    "--input-dtype", "input_dtypes", multiple=True, metavar="NAME=DTYPE",
    help="The dtype of a Keras model's input (repeatable), e.g. --input-dtype tokens=int64: "
         "a subclassed model's input dtypes are not recorded by Keras (like tf2onnx's "
         "input signature); a functional model's input takes it and is cast to its own.")

_INPUT_SHAPE = click.option(
    "--input-shape", "input_shapes", multiple=True, metavar="NAME=D0,D1,...",
    help="Fix the sizes of a Keras model's input (repeatable; ? keeps a size unknown), "
         "e.g. --input-shape token_ids=1,128: layers that read ops.shape(x), such as "
         "keras_hub's, trace only with static sizes; the outputs then take exactly these.")

_IMPORT = click.option(
    "--import", "imports", multiple=True, metavar="MODULE",
    help="Import this Python module first (repeatable), so that the Keras classes it "
         "registers load. Runs your code; found on sys.path with the current directory "
         "first, as `python -m` does.")


@cli.command()
@click.argument("src", type=click.Path(path_type=Path))
@_IMPORT
@_input_options
@_handle_errors
def inspect(src: Path) -> None:
    """Print the text IR of SRC (.keras, .gir or .onnx)."""
    from graphir.backends.convert import lower_file

    graph, _ = lower_file(src)
    click.echo(str(graph))


#: exit code of a verification whose reference is insensitive to its input (a failed
#: precondition: nothing was proven, but nothing was found wrong either)
EXIT_INSENSITIVE = 4
MAX_BATCH = 4096
MAX_SEED = 2**32 - 1


def _nonneg_float(ctx: click.Context, param: click.Parameter, value: float | None):
    """A finite number >= 0, else a usage error (exit 2) before any work."""
    import math

    if value is not None and not (math.isfinite(value) and value >= 0):
        raise click.BadParameter(f"must be a finite number >= 0, got {value}")
    return value


def _parse_tols(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]):
    """``NAME=RTOL,ATOL`` (repeatable) -> {name: (rtol, atol)}; a usage error if malformed."""
    from graphir.tolerance import parse_tolerance

    out = {}
    for text in values:
        try:
            name, rtol, atol = parse_tolerance(text)
        except ValueError as e:
            raise click.BadParameter(str(e)) from None
        out[name] = (rtol, atol)
    return out


def _parse_ranges(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]):
    """``NAME=LO,HI`` (repeatable) -> {name: (lo, hi)}; a usage error if malformed."""
    import math

    out = {}
    for text in values:
        name, sep, rest = text.rpartition("=")
        parts = rest.split(",")
        try:
            lo, hi = (float(p) for p in parts) if len(parts) == 2 else (None, None)
        except ValueError:
            lo = hi = None
        if not sep or not name or lo is None or not (math.isfinite(lo) and math.isfinite(hi)
                                                     and lo < hi):
            raise click.BadParameter(f"expected NAME=LO,HI with finite LO < HI, got {text!r}")
        out[name] = (lo, hi)
    return out


def _verify_options(fn: Callable) -> Callable:
    """The options ``verify`` and ``convert --verify`` share (``specs/verification.md``)."""
    options = [
        click.option("--device", type=DEVICE_CHOICE, default="auto", show_default=True,
                     help="auto: GPU where present; gpu without one is an error."),
        click.option("--batch", type=click.IntRange(1, MAX_BATCH), default=2,
                     show_default=True, help="Rows of the primary seeded inputs."),
        click.option("--seed", type=click.IntRange(0, MAX_SEED), default=0, show_default=True,
                     help="Seed of the inputs (the second draw uses SEED+1, the extra "
                          "shape SEED+2)."),
        click.option("--rtol", type=float, default=None, callback=_nonneg_float,
                     help="Override the relative tolerance of every output."),
        click.option("--atol", type=float, default=None, callback=_nonneg_float,
                     help="Override the absolute tolerance of every output (absolute, "
                          "as numpy.isclose: the scale term is dropped)."),
        click.option("--tol", "tols", multiple=True, callback=_parse_tols,
                     metavar="NAME=RTOL,ATOL", help="Tolerance of one output (repeatable)."),
        click.option("--nan-equal", is_flag=True,
                     help="NaN at the same positions compares equal."),
        click.option("--inputs", "inputs_file", type=click.Path(path_type=Path), default=None,
                     metavar="FILE.npz", help="Primary inputs: arrays by input name."),
        click.option("--input-range", "input_ranges", multiple=True, callback=_parse_ranges,
                     metavar="NAME=LO,HI", help="Draw this input uniformly in [LO, HI)."),
        click.option("--single-shape", is_flag=True,
                     help="Skip the extra batch size / free-dim size case."),
        click.option("--no-sensitivity-check", "no_sensitivity", is_flag=True,
                     help="Do not check that the reference reacts to its input."),
        click.option("--save", "save_dir", type=click.Path(path_type=Path), default=None,
                     metavar="DIR", help="Keep the inputs, every run's outputs and the "
                                         "report in DIR."),
        click.option("--localize/--no-localize", "localize", default=None,
                     help="Search the first divergent node of the ONNX model even when "
                          "everything passed (default: only on a failure)."),
        click.option("--localize-budget", type=float, default=60.0, show_default=True,
                     callback=_nonneg_float, metavar="SECONDS",
                     help="Time the first-divergence search may take."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _verify_kwargs(params: dict) -> dict:
    """The keyword arguments of :func:`graphir.backends.verification.verify` (and of
    ``convert_file``'s ``verify_options``) from the shared CLI options."""
    return {"device": params["device"], "batch": params["batch"], "seed": params["seed"],
            "rtol": params["rtol"], "atol": params["atol"], "tolerances": params["tols"],
            "nan_equal": params["nan_equal"], "input_ranges": params["input_ranges"],
            "inputs": params["inputs_file"], "several_shapes": not params["single_shape"],
            "sensitivity": not params["no_sensitivity"], "save_dir": params["save_dir"],
            "localize": {None: "auto", True: "always", False: "never"}[params["localize"]],
            "localize_budget": params["localize_budget"]}


def _check_inputs_file(path: Path | None) -> None:
    if path is not None and not path.is_file():
        raise BadInputError("no such file", where=f"--inputs {path}")


def _verification_exit(status: str, message: str) -> None:
    """Exit 1 for a failed comparison, :data:`EXIT_INSENSITIVE` for an insensitive or
    ill-conditioned reference (failed preconditions), nothing (return) for a pass."""
    if status == "failed":
        _fail(message, 1)
    if status in ("insensitive", "ill-conditioned"):
        _fail(message, EXIT_INSENSITIVE)


@cli.command()
@click.argument("src", type=click.Path(path_type=Path))
@click.argument("dst", type=click.Path(path_type=Path))
@click.option("--verify", "do_verify", is_flag=True,
              help="Run the original and the written model on seeded inputs and compare; "
                   "on a mismatch nothing is written (exit 1).")
@_verify_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report on stdout.")
@_IMPORT
@_input_options
@_handle_errors
def convert(src: Path, dst: Path, do_verify: bool, as_json: bool, **params: Any) -> None:
    """Convert SRC (.keras, .gir or .onnx) to DST; DST's suffix picks .onnx, .keras or .gir."""
    from graphir.backends.convert import convert_file

    if dst.suffix not in OUTPUT_SUFFIXES:
        raise BadInputError(f"unsupported output suffix {dst.suffix!r} (expected "
                            f"{', '.join(OUTPUT_SUFFIXES)})", where=f"file {dst}")
    _check_inputs_file(params["inputs_file"])
    options = _verify_kwargs(params)
    device = options.pop("device")
    result = convert_file(src, dst, verify=do_verify, device=device, verify_options=options)
    if as_json:
        _emit_json(result)
    else:
        from graphir.app.console import print_convert

        print_convert(result)
    if not result["passed"]:
        status = result.get("status", "failed")
        _verification_exit(status if status != "passed" else "failed",
                           result.get("error", "verification failed"))


@cli.command()
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--onnx", "other", type=click.Path(path_type=Path), default=None,
              metavar="OTHER", help="Compare SRC with this model (.onnx in onnxruntime, or "
                                    ".gir in the reference interpreter) instead of with "
                                    "graphir's emission of SRC.")
@_verify_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report on stdout.")
@_IMPORT
@_input_options
@_handle_errors
def verify(src: Path, other: Path | None, as_json: bool, **params: Any) -> None:
    """Verify SRC across runtimes.

    SRC .keras alone: TF vs its emitted Keras and ONNX models.  With --onnx OTHER: SRC
    (.keras in TF, .onnx in onnxruntime, .gir in the reference interpreter) vs OTHER,
    inputs and outputs matched by name (tf2onnx / Keras export names and NCHW layouts
    mapped; by position with a warning).  SRC .gir alone: interpreter vs emitted ONNX.
    SRC .onnx alone: onnxruntime on it vs graphir's import of it emitted as Keras (TF)
    and as ONNX (onnxruntime) and run in the reference interpreter.

    Exit 0: every comparison passed and the reference reacts to its input; 1: a
    comparison failed; 4: a failed precondition, the comparison proves nothing (an
    output of the reference is insensitive to its input, or the reference is
    ill-conditioned: its own float32 rounding explains every failed comparison);
    2: bad input or usage.
    """
    from graphir.backends.file_verification import verify_files

    _check_inputs_file(params["inputs_file"])
    options = _verify_kwargs(params)
    report = verify_files(src, other, **options)
    if as_json:
        _emit_json(report.to_json())
    else:
        from graphir.app.console import print_report

        print_report(report)
    failed = sum(1 for c in report.comparisons if not c.passed)
    messages = {
        "failed": f"verification failed: {failed} of {len(report.comparisons)} comparisons "
                  "outside tolerance",
        "insensitive": "the reference is insensitive to its input (outputs "
                       f"{', '.join(report.insensitive)}): the comparison proves nothing",
        "ill-conditioned": f"the reference is ill-conditioned: the {failed} failed "
                           "comparisons are within what its own float32 rounding explains "
                           "(float64 twin): the comparison proves nothing"}
    _verification_exit(report.status, messages.get(report.status, ""))


@cli.command()
@click.option("--model", "models", multiple=True, type=click.Choice(["MobileNetV2", "ResNet50"]),
              help="Run only these models (default: both).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Keep the .keras/.onnx/.gir files in this folder (default: a temporary one).")
@click.option("--device", type=DEVICE_CHOICE, default="auto", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report on stdout.")
@_handle_errors
def demo(models: tuple[str, ...], out_dir: Path | None, device: str, as_json: bool) -> None:
    """The main job on built-in examples: MobileNetV2 and ResNet50 (weights=None, seeded)."""
    from graphir.backends.demo import run_demo

    reports = run_demo(models or ("MobileNetV2", "ResNet50"), out_dir=out_dir, device=device,
                       progress=not as_json)
    passed = all(r.passed for r in reports)
    if as_json:
        _emit_json({"passed": passed, "device": reports[0].device if reports else None,
                    "models": [r.to_json() for r in reports],
                    "comparisons": [c for r in reports for c in r.to_json()["comparisons"]]})
    else:
        from graphir.app.console import print_demo

        print_demo(reports)
    if not passed:
        _fail("verification failed for " + ", ".join(r.model for r in reports if not r.passed), 1)


_OUT = click.option("-o", "--output", "out", type=click.Path(path_type=Path), required=True,
                    help="The output file: .keras, .onnx or .gir (written atomically).")
_JSON = click.option("--json", "as_json", is_flag=True, help="Print a JSON report on stdout.")


def _load_graph(src: Path):
    from graphir.backends.convert import lower_file

    return lower_file(src)[0]


def _finish(graph, out: Path, sources: tuple[Path, ...], as_json: bool, extra: dict | None = None,
            message: str = "") -> None:
    """Write ``graph`` to ``out`` and report (the shared tail of the pass commands)."""
    from graphir.backends.convert import write_graph

    if any(out.resolve() == s.resolve() for s in sources):
        raise BadInputError("the output would overwrite a source", where=f"file {out}")
    stats = write_graph(graph, out)
    result = {"passed": True, "written": True, "sources": [str(s) for s in sources],
              "output": str(out), "format": out.suffix[1:], "device": None, "comparisons": [],
              "stats": stats, **(extra or {})}
    if as_json:
        _emit_json(result)
    else:
        click.echo(f"wrote {out}: {stats['nodes']} nodes, {stats['parameters']:,} parameters"
                   + (f"; {message}" if message else ""))


@cli.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@_OUT
@click.option("--mode", type=click.Choice(["chain", "concat", "average", "sum", "outputs"]),
              required=True, help="How the models are combined (see specs/passes.md).")
@click.option("--shared-input", is_flag=True, help="All models read one set of inputs.")
@click.option("--name", default="merged", show_default=True, help="Name of the merged model.")
@_JSON
@_IMPORT
@_input_options
@_handle_errors
def merge(sources: tuple[Path, ...], out: Path, mode: str, shared_input: bool, name: str,
          as_json: bool) -> None:
    """Merge SOURCES (.keras/.gir/.onnx) into one model; name collisions are scoped away."""
    from graphir.passes import gc_paused, merge as merge_graphs

    graphs = [_load_graph(s) for s in sources]
    with gc_paused():  # pass work allocates no cycles: the collector would only slow it
        merged = merge_graphs(graphs, mode=mode, shared_input=shared_input, name=name)
    _finish(merged, out, sources, as_json,
            {"mode": mode, "inputs": [v.name for v in merged.inputs],
             "outputs": list(merged.outputs)},
            f"mode {mode}, inputs {', '.join(v.name for v in merged.inputs)}")


def _parse_map(pairs: tuple[str, ...]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old or not new:
            raise BadInputError(f"--map takes OLD=NEW, got {pair!r}")
        mapping[old] = new
    return mapping


@cli.command()
@click.argument("src", type=click.Path(path_type=Path))
@_OUT
@click.option("--prefix", default=None, help="Put every name under this scope.")
@click.option("--map", "pairs", multiple=True, metavar="OLD=NEW",
              help="Rename a layer/value/scope (repeatable; renames its weights too).")
@_JSON
@_IMPORT
@_input_options
@_handle_errors
def rename(src: Path, out: Path, prefix: str | None, pairs: tuple[str, ...], as_json: bool) -> None:
    """Rename the layers of SRC with a prefix scope or an explicit mapping."""
    from graphir.passes import gc_paused, rename as rename_graph, run_pass

    if (prefix is None) == (not pairs):
        raise BadInputError("give exactly one of --prefix or --map")
    graph = _load_graph(src)
    with gc_paused():
        renamed = run_pass(rename_graph, graph, prefix=prefix, mapping=_parse_map(pairs) or None)
    _finish(renamed, out, (src,), as_json, {"inputs": [v.name for v in renamed.inputs],
                                            "outputs": list(renamed.outputs)})


@cli.command()
@click.argument("src", type=click.Path(path_type=Path))
@_OUT
@click.option("--outputs", "outputs", multiple=True, required=True, metavar="NAME",
              help="Layer or value names that become the outputs.")
@click.option("--inputs", "inputs", multiple=True, metavar="NAME",
              help="Values where the graph is cut; they become inputs.")
@_JSON
@_IMPORT
@_input_options
@_handle_errors
def extract(src: Path, out: Path, outputs: tuple[str, ...], inputs: tuple[str, ...],
            as_json: bool) -> None:
    """Extract the subgraph of SRC between --inputs and --outputs, with its weights."""
    from graphir.passes import extract as extract_graph, gc_paused, run_pass

    graph = _load_graph(src)
    with gc_paused():
        sub = run_pass(extract_graph, graph, outputs=list(outputs), inputs=list(inputs) or None)
    _finish(sub, out, (src,), as_json, {"inputs": [v.name for v in sub.inputs],
                                        "outputs": list(sub.outputs)})


@cli.command()
@click.argument("src", type=click.Path(path_type=Path))
@_OUT
@_JSON
@_IMPORT
@_input_options
@_handle_errors
def dedupe(src: Path, out: Path, as_json: bool) -> None:
    """Store identical weights once and compute common subexpressions once."""
    from graphir.passes import dedupe_with_report, gc_paused, run_pass

    reports = []

    def _dedupe(g):
        result, report = dedupe_with_report(g)
        reports.append(report)
        return result

    _dedupe.__name__ = "dedupe"
    graph = _load_graph(src)
    with gc_paused():
        result = run_pass(_dedupe, graph)
    report = reports[0]
    _finish(result, out, (src,), as_json, {"dedupe": report.to_json()},
            f"merged {len(report.weights)} weights ({report.bytes_saved:,} bytes) and "
            f"{len(report.nodes)} nodes")


@cli.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@_JSON
@_IMPORT
@_input_options
@_handle_errors
def check(sources: tuple[Path, ...], as_json: bool) -> None:
    """Check the shapes and dtypes of SOURCES; exit 1 with every diagnostic on an error."""
    from graphir.backends.convert import check_file
    from graphir.passes import gc_paused

    files, passed = [], True
    for src in sources:
        with gc_paused():  # lowering and check of one file; cycles are collected after it
            _, diagnostics = check_file(src)
        ok = not any(d.severity == "error" for d in diagnostics)
        passed = passed and ok
        files.append({"file": str(src), "passed": ok,
                      "diagnostics": [d.to_json() for d in diagnostics]})
        if not as_json:
            for d in diagnostics:
                click.echo(f"{src}: {d}")
            click.echo(f"{src}: {'ok' if ok else 'FAILED'} ({len(diagnostics)} diagnostics)")
    if as_json:
        _emit_json({"passed": passed, "device": None, "comparisons": [], "files": files,
                    "diagnostics": [d for f in files for d in f["diagnostics"]]})
    if not passed:
        failed = [f["file"] for f in files if not f["passed"]]
        _fail(f"shape check failed for {', '.join(failed)}", 1)


def main() -> None:
    """Entry point of the ``graphir`` console script (usage errors: one line, exit 2)."""
    cli.main(prog_name="graphir")


if __name__ == "__main__":  # pragma: no cover
    main()
