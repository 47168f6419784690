"""The code a stage runs, derived from its imports: the stage script and every `amda` module it imports,
transitively, at module level or inside a function, with their packages' `__init__.py`, plus the modules
the records name (a loss or a builder is a dotted path, imported where it runs) and the package data a
module reads. The
rules list these as inputs, so editing any of them reruns the stage; no list is kept by hand."""

import ast
import functools
from pathlib import Path

from amda import records

# Package data and the module that reads it.
DATA_FILES = {
    "amda.paper": ("data/published_results.csv", "data/other_published_results.csv"),
    "amda.config": ("data/config.schema.yaml",),
}
# The modules that import a record's dotted path where it runs, and those paths' modules.
RESOLVED = {
    "amda.losses": sorted({m.loss.partition(":")[0] for m in records.METHODS.values()}),
    "amda.attack.recipes": sorted({a.builder.partition(":")[0] for a in records.ATTACKS.values()}),
}


def other_losses(method):
    """The loss modules of the other methods, which `method`'s training never runs: left out of its code inputs,
    so that adding or editing one method's loss module reruns only that method's models."""
    own = records.METHODS[method].loss.partition(":")[0]
    return tuple(module for module in RESOLVED["amda.losses"] if module not in (own, "amda.losses"))


def _module_file(src, module):
    """src/amda/x/y.py or src/amda/x/y/__init__.py of `module`, or None if it is not a module of the package."""
    base = Path(src, *module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


@functools.cache
def _imported(path):
    """The `amda` modules a file imports anywhere in it (`from amda import x` counts x if it is a module). Cached:
    a workflow's parse asks for each stage's code (39 rules), and the files do not change while it runs."""
    found = set()
    for node in ast.walk(ast.parse(Path(path).read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "amda")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "amda":
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return frozenset(found)


def code_inputs(script, root=".", leave_out=()):
    """`workflow_scripts/<script>` and the package files it runs (paths relative to `root`), sorted after the
    script. `leave_out`: packages whose modules (and what only they import) are not followed, e.g. the attack
    package for a training job that never attacks."""
    root = Path(root)
    src = root / "src"
    todo, seen = list(_imported(root / "workflow_scripts" / script)), set()
    while todo:
        module = todo.pop()
        if module in seen or any(module == p or module.startswith(f"{p}.") for p in leave_out):
            continue
        seen.add(module)
        path = _module_file(src, module)
        if path is None:
            continue
        todo.extend(_imported(path))
        todo.extend(module.rsplit(".", n)[0] for n in range(1, module.count(".") + 1))  # its packages run first
        todo.extend(RESOLVED.get(module, ()))
    files = {_module_file(src, m) for m in seen} - {None}
    files |= {src / "amda" / data for m in seen for data in DATA_FILES.get(m, ())}
    return [f"workflow_scripts/{script}", *sorted(str(f.relative_to(root)) for f in files)]
