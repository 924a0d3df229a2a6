"""A run's ``metrics.jsonl``: one JSON record per line, so a reader survives a writer killed mid-line.

Its small JSON files (``model.json``, ``run.json``, ``restarts.json``) are written whole
or not at all, through ``write_json_atomically``.

Each record is appended with a single ``write`` of the whole line; a line that still ends
up torn (a kill or a full disk during that write) is skipped with a warning when read,
and dropped when a resumed run cuts the file back to its restored update.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any


def read_records(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The file's records, skipping (with a warning) lines that are not a JSON object; [] when it does not exist."""
    path = Path(path)
    if not path.is_file():
        return []
    records, torn = [], []
    for number, line in enumerate(path.read_bytes().decode(errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if isinstance(record, dict) and isinstance(record.get("step"), int):
            records.append(record)
        else:
            torn.append(number)
    if torn:
        print(f"warning: {path}: skipped unreadable line(s) {torn} (a write that was cut short)", file=sys.stderr)
    return records


def write_json_atomically(path: str | os.PathLike, data: Any) -> None:
    """``data`` as indented JSON at ``path``, through a temporary file, so a kill leaves the old file or the new one."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def write_bytes_atomically(path: str | os.PathLike, data: bytes) -> None:
    """``data`` at ``path`` through a temporary file beside it: a kill or failure leaves the old file or the new."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def append_record(path: str | os.PathLike, record: dict[str, Any]) -> None:
    data = (json.dumps(record) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def keep_records_until(path: str | os.PathLike, step: int) -> None:
    """Rewrite the file (atomically) with the readable records of updates up to ``step``."""
    path = Path(path)
    kept = [r for r in read_records(path) if r["step"] <= step]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in kept))
    os.replace(tmp, path)
