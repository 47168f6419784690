"""Name the file in Snakemake's error for a broken or empty `--configfile`.

Snakemake reads the files given with `--configfile` on its command line, before any workflow code runs, and
reports a broken or empty one without naming it ("Config file is not valid JSON or YAML", "Config file must
be given as JSON or YAML with keys at top level"; snakemake/snakemake#2439). `make setup` puts a one-line
`.pth` file into the venv that runs this file at interpreter start, as the top-level module
`amda_snakemake_configfile`: it finds the file without importing the `amda` package, so a second checkout
sharing the venv still imports its own `amda` (nothing of the package is imported until an error). It wraps
`snakemake.common.configfile.load_configfile` once Snakemake imports that module, so the error names the file
and what is wrong with it (`amda.config.load_yaml`), on one line. Run from Snakemake's command line, that line
is `error: config file ...` on stderr and the exit status 2, as for every other config error of the workflow;
called through Snakemake's Python API, it is a WorkflowError (with no stack line of this file under Snakemake's
message). Nothing else about Snakemake changes.
"""

import importlib.abc
import importlib.machinery
import sys

MODULE = "snakemake.common.configfile"


def _from_the_command_line():
    """Whether Snakemake's command line (`snakemake.cli`) is on the call stack, rather than its Python API."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals.get("__name__") == "snakemake.cli":
            return True
        frame = frame.f_back
    return False


def naming_the_file(load_configfile):
    """`load_configfile` whose error names the file and the problem (line number included), on one line; a
    missing file gets one too (Snakemake lets its FileNotFoundError through as a traceback)."""

    def load(configpath):
        from snakemake_interface_common.exceptions import WorkflowError

        try:
            return load_configfile(configpath)
        except (WorkflowError, OSError) as err:
            from amda.config import load_yaml
            from amda.errors import AmdaError

            try:
                load_yaml(configpath)
                message = f"{configpath}: {err}"
            except AmdaError as named:
                message = str(named)
            message = " ".join(message.split())
            message = message if message.startswith("config file") else f"config file {message}"
            if _from_the_command_line():
                print(f"error: {message}", file=sys.stderr)
                raise SystemExit(2) from None
            # Snakemake prints the frames of a WorkflowError's traceback that lie outside Snakemake, up to the
            # innermost Snakemake frame: carrying the traceback of Snakemake's own error (innermost frame in
            # Snakemake) leaves none of this file's.
            raise WorkflowError(message).with_traceback(err.__traceback__) from None

    load.__wrapped__ = load_configfile
    return load


class _WrapOnImport(importlib.abc.MetaPathFinder):
    """Finds Snakemake's config-file module as usual and wraps its loader: after executing the module,
    replace `load_configfile` (importers that bind it by name then get the wrapped one)."""

    def find_spec(self, name, path, target=None):
        if name != MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            module.load_configfile = naming_the_file(module.load_configfile)

        spec.loader.exec_module = exec_module
        return spec


def install():
    if MODULE in sys.modules:  # imported already: wrap in place
        module = sys.modules[MODULE]
        if not hasattr(module.load_configfile, "__wrapped__"):
            module.load_configfile = naming_the_file(module.load_configfile)
    elif not any(type(finder).__name__ == _WrapOnImport.__name__ for finder in sys.meta_path):  # one per process
        sys.meta_path.insert(0, _WrapOnImport())


install()
