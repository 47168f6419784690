"""Atomic writes: an output path either holds a complete file or folder, or does not exist.

Temporary files and folders are made with the modes a plain open()/mkdir() would give under the
process umask (mkstemp/mkdtemp alone give 0600/0700, unreadable to colleagues on a shared disk).
Each finished file gets a content checksum beside it, each finished folder a manifest (`amda.manifest`).
"""

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from amda import manifest
from amda.errors import AmdaError

_BUILDING = set()  # folders being filled inside replacing_dir: their manifest covers the files written in them


def write_atomic(path, write, checksum=True):
    """Call `write(tmp_path)` to fill a temporary sibling of `path`, then rename it into place, with its sidecar
    checksum (`amda.manifest`; the old sidecar goes first, so a kill between leaves a file unverified, not damaged)
    unless `checksum` is false (a checkpoint: work in progress) or a folder being built covers it."""
    path = Path(path)
    tmp = _temporary_file(path)
    side = manifest.sidecar_of(path)
    side_tmp = None
    try:
        write(tmp)
        if checksum and not manifest.is_manifest(path) and not _BUILDING.intersection(path.absolute().parents):
            side_tmp = _temporary_file(side)
            Path(side_tmp).write_text(manifest.format_manifest({path.name: manifest.sha256_file(tmp)}))
            side.unlink(missing_ok=True)
        os.replace(tmp, path)
        if side_tmp is not None:
            os.replace(side_tmp, side)
    except BaseException:
        for left in (tmp, side_tmp):
            if left is not None and os.path.exists(left):
                os.unlink(left)
        raise


def _temporary_file(path):
    """An empty temporary sibling of `path` with the mode a plain open() gives under the umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


@contextlib.contextmanager
def replacing_dir(path):
    """Yield an empty temporary sibling of folder `path` to fill; when the block ends without an
    error, its manifest (`amda.manifest.FOLDER_MANIFEST`) is written and it replaces `path` (an old
    `path` is moved aside first, then removed), else it is removed. A reader sees the old folder or
    the new one, never a half-written one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    old = None
    _BUILDING.add(tmp.absolute())
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        yield tmp
        listing = manifest.format_manifest(manifest.folder_entries(tmp))
        write_text_atomic(listing, tmp / manifest.FOLDER_MANIFEST)
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, old / "previous")
        os.replace(tmp, path)
    finally:
        _BUILDING.discard(tmp.absolute())
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


def write_text_atomic(text, path, checksum=True):
    def write(tmp):
        with open(tmp, "w") as fh:
            fh.write(text)

    write_atomic(path, write, checksum)


def _json_default(obj):
    # numpy scalars and arrays
    if hasattr(obj, "item") and getattr(obj, "ndim", 0) == 0:
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _verified_input(path, what):
    """The input file as a Path and how messages name it, once it exists and its checksum (where it has one)
    holds; a one-line AmdaError otherwise."""
    path = Path(path)
    where = f"{what}: {path}" if what else str(path)
    if not path.is_file():
        raise AmdaError(f"{where}: file does not exist")
    manifest.verified(path)
    return path, where


def read_parquet(path, columns=(), what=None, only=False):
    """A parquet file as a DataFrame: the one reader of parquet inputs. A one-line AmdaError names `what` (the
    flag or role, if given) and the file when it is missing, unreadable or lacks one of `columns`; `only`: read
    just those columns."""
    import pandas as pd
    import pyarrow.parquet as pq

    path, where = _verified_input(path, what)
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


def read_json(path, what=None):
    """A JSON object file, its checksum verified first where it has one; a one-line AmdaError names `what` (the
    flag or role, if given) and the file when it is missing, not JSON or not an object."""
    path, where = _verified_input(path, what)
    try:
        record = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise AmdaError(f"{where}: not valid JSON ({err})") from None
    if not isinstance(record, dict):
        raise AmdaError(f"{where}: must hold a JSON object")
    return record
