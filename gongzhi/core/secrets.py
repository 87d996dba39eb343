"""Secrets generated once and kept: the web secret and the personal-data keys are separate."""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def load_or_create_secrets(path: Path) -> dict[str, str]:
    """Read the deployment's secrets file, creating it (mode 600) on first start."""
    if path.exists():
        return json.loads(path.read_text())
    data = {"secret_key": secrets.token_urlsafe(50), "data_key": _key(), "lookup_key": _key()}
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker won the race; use its keys
        return json.loads(path.read_text())
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    return data
