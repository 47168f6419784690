"""Content checksums beside finished artifacts, so that a file damaged after it was written (cut short by a full
disk, overwritten, truncated by hand) is named by its reader instead of being used or crashing downstream.

`amda.io` writes them, so no writer can forget: a file `x` written atomically gets a sidecar `x.sha256`; a folder
built by `replacing_dir` gets `MANIFEST.sha256` listing every file in it (the files written inside it get no
sidecar of their own). Both are in `sha256sum` format, so `sha256sum -c` in their folder checks them by hand.
Checkpoints are work in progress (an attack's is appended to) and are written without one. A file with no
manifest (written before manifests existed) is accepted unverified, silently: readers verify what one covers.
"""

import hashlib
from pathlib import Path

from amda.errors import AmdaError

SIDECAR_SUFFIX = ".sha256"
FOLDER_MANIFEST = "MANIFEST.sha256"
_CHUNK = 1 << 20


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sidecar_of(path):
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def is_manifest(path):
    name = Path(path).name
    return name == FOLDER_MANIFEST or name.endswith(SIDECAR_SUFFIX)


def format_manifest(entries):
    """`sha256sum` lines of {relative name: sha256}."""
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(entries.items()))


def folder_entries(folder):
    """{relative POSIX name: sha256} of every file under `folder`, manifests left out."""
    folder = Path(folder)
    return {
        path.relative_to(folder).as_posix(): sha256_file(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not is_manifest(path)
    }


def read_manifest(path):
    """{relative name: sha256} of a manifest; AmdaError naming it when a line is not `sha256sum` format."""
    entries = {}
    try:
        text = Path(path).read_text()
    except UnicodeDecodeError:
        raise AmdaError(f"{path} is damaged (not text): {rebuild_hint(path)}") from None
    for number, line in enumerate(text.splitlines(), 1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or not name or any(c not in "0123456789abcdef" for c in digest):
            raise AmdaError(f"{path} is damaged (line {number} is not '<sha256>  <name>'): {rebuild_hint(path)}")
        entries[name] = digest
    return entries


def covering_manifest(path):
    """(manifest, the name it lists `path` under) for a file or folder: its sidecar, else the nearest
    `MANIFEST.sha256` in it or above it; None when there is none. A sidecar whose file is gone covers nothing:
    Snakemake removes the outputs of a failed job (and those of a forced one) and leaves their sidecars."""
    path = Path(path)
    if sidecar_of(path).is_file() and path.exists():
        return sidecar_of(path), path.name
    for folder in [path, *path.parents] if path.is_dir() else path.parents:
        if (folder / FOLDER_MANIFEST).is_file():
            return folder / FOLDER_MANIFEST, path.relative_to(folder).as_posix()
    return None


def unit_of(manifest):
    """What is rebuilt as a whole when a file that `manifest` covers is damaged: the sidecar's file or the folder."""
    manifest = Path(manifest)
    if manifest.name == FOLDER_MANIFEST:
        return manifest.parent
    return manifest.with_name(manifest.name.removesuffix(SIDECAR_SUFFIX))


def rebuild_hint(manifest):
    return f"remove {unit_of(manifest)} and rerun snakemake, which rebuilds it for any target that needs it"


def check_entry(path, manifest, digest):
    """One line saying what is wrong with `path` against `digest` from `manifest`, or None when it matches."""
    path = Path(path)
    if not path.is_file():
        return f"{path} is missing (listed in {manifest}): {rebuild_hint(manifest)}"
    if sha256_file(path) != digest:
        return f"{path} is damaged (its sha256 differs from {manifest}): {rebuild_hint(manifest)}"
    return None


def verified(path):
    """`path` (a file, or a folder inside a folder artifact), checked against its manifest; AmdaError with one
    line naming the damaged or missing file and how to rebuild it. Returns `path`."""
    found = covering_manifest(path)
    if found is None:
        return path
    manifest, name = found
    entries = read_manifest(manifest)
    prefix = "" if name == "." else name + "/"
    listed = {n: d for n, d in entries.items() if n == name or n.startswith(prefix)}
    for entry, digest in listed.items():
        problem = check_entry(manifest.parent / entry, manifest, digest)
        if problem:
            raise AmdaError(problem)
    return path


def _listed_digest(path):
    found = covering_manifest(path)
    return None if found is None else read_manifest(found[0]).get(found[1])


def content_digests(root):
    """[[name, sha256]] of `root` (a file) or of every file under it (a folder, names relative to it), for keying
    reuse on content: the checksum a manifest lists (its reader verified the file), else the file hashed."""
    root = Path(root)
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file() and not is_manifest(p))
    return [[path.relative_to(root).as_posix(), _listed_digest(path) or sha256_file(path)] for path in files]
