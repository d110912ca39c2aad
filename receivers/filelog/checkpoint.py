"""Read positions on disk: one JSON file in the receiver's storage directory, replaced atomically.

Each entry is a file's fingerprint (its first bytes, base64) and the offset
up to which its records were accepted downstream; the path is informative
only, since files are recognised by fingerprint after renames.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from dataclasses import dataclass

_VERSION = 1


@dataclass(slots=True)
class Position:
    fingerprint: bytes
    offset: int
    skipping: bool = False
    path: str = ""


#: The file's name in the directory the storage extension gives the receiver.
FILE_NAME = "positions.json"


def load(path: str) -> list[Position]:
    """Raises ``ValueError`` naming the file when it cannot be read as a checkpoint."""
    try:
        with open(path, "rb") as f:
            doc = json.load(f)
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read checkpoint {path}: {exc}") from None
    try:
        return [Position(base64.b64decode(e["fingerprint"]), int(e["offset"]), bool(e.get("skipping")),
                         str(e.get("path", ""))) for e in doc["files"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"cannot read checkpoint {path}: bad entry ({exc})") from None


def save(path: str, positions: list[Position]) -> None:
    """Write to a temporary file, fsync, rename: a crash leaves the old or the new checkpoint, whole."""
    doc = {"version": _VERSION, "files": [
        {"fingerprint": base64.b64encode(p.fingerprint).decode(), "offset": p.offset, "skipping": p.skipping,
         "path": p.path} for p in positions]}
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".filelog-", dir=directory)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
