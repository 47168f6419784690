"""Atomic writes: an output path either holds a complete file or folder, or does not exist.

Temporary files and folders are made with the modes a plain open()/mkdir() would give under the
process umask (mkstemp/mkdtemp alone give 0600/0700, unreadable to colleagues on a shared disk).
"""

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from amda.errors import AmdaError


def write_atomic(path, write):
    """Call `write(tmp_path)` to fill a temporary sibling of `path`, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def replacing_dir(path):
    """Yield an empty temporary sibling of folder `path` to fill; when the block ends without an
    error it replaces `path` (an old `path` is moved aside first, then removed), else it is removed.
    A reader sees the old folder or the new one, never a half-written one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    old = None
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        yield tmp
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, old / "previous")
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def remove_with_empty_parents(path):
    """Remove a finished checkpoint (file or folder) and the folders it leaves empty above it, up to
    (not including) the nearest folder named `checkpoints`; without one, only `path` goes."""
    path = Path(path)
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()
    roots = [p for p in path.parents if p.name == "checkpoints"]
    folder = path.parent
    while roots and folder != roots[0]:
        with contextlib.suppress(OSError):  # not empty: another checkpoint still lives here
            folder.rmdir()
        if folder.exists():
            break
        folder = folder.parent


def write_json_atomic(obj, path):
    """Write `obj` as indented, key-sorted JSON to `path` atomically."""

    def write(tmp):
        with open(tmp, "w") as fh:
            json.dump(obj, fh, indent=2, sort_keys=True, default=_json_default)
            fh.write("\n")

    write_atomic(path, write)


def write_parquet_atomic(df, path):
    """Write a DataFrame to parquet atomically (no index)."""
    write_atomic(path, lambda tmp: df.to_parquet(tmp, index=False))


def write_text_atomic(text, path):
    def write(tmp):
        with open(tmp, "w") as fh:
            fh.write(text)

    write_atomic(path, write)


def _json_default(obj):
    # numpy scalars and arrays
    if hasattr(obj, "item") and getattr(obj, "ndim", 0) == 0:
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def read_parquet(path, columns=(), what=None, only=False):
    """A parquet file as a DataFrame: the one reader of parquet inputs. A one-line AmdaError names `what` (the
    flag or role, if given) and the file when it is missing, unreadable or lacks one of `columns`; `only`: read
    just those columns."""
    import pandas as pd
    import pyarrow.parquet as pq

    path = Path(path)
    where = f"{what}: {path}" if what else str(path)
    if not path.is_file():
        raise AmdaError(f"{where}: file does not exist")
    try:
        names = pq.read_schema(path).names
        missing = [c for c in columns if c not in names]
        if missing:
            raise AmdaError(f"{where}: missing column(s) {', '.join(missing)} (has {', '.join(names)})")
        return pd.read_parquet(path, columns=list(columns) if only else None)
    except AmdaError:
        raise
    except Exception as err:  # pyarrow raises several types for a corrupt file
        raise AmdaError(f"{where}: not a readable parquet file ({str(err).splitlines()[0]})") from None
