"""Encryption of personal data at rest (AES-256-GCM) and keyed hashes for look-up (HMAC-SHA256).

The keys come from settings.GONGZHI_DATA_KEY / GONGZHI_LOOKUP_KEY, never from SECRET_KEY, so rotating the web
secret does not lose data and a database dump alone reveals no ID number.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

_VERSION = b"\x01"


@cache
def _aead() -> AESGCM:
    return AESGCM(base64.b64decode(settings.GONGZHI_DATA_KEY))


@cache
def _lookup_key() -> bytes:
    return base64.b64decode(settings.GONGZHI_LOOKUP_KEY)


def encrypt(plaintext: str, *, context: str) -> str:
    """Encrypt text; `context` (e.g. "person.id_number") is bound as associated data."""
    nonce = os.urandom(12)
    sealed = _aead().encrypt(nonce, plaintext.encode(), context.encode())
    return base64.b64encode(_VERSION + nonce + sealed).decode()


def decrypt(token: str, *, context: str) -> str:
    blob = base64.b64decode(token)
    if blob[:1] != _VERSION:
        raise ValueError("unknown ciphertext version")
    return _aead().decrypt(blob[1:13], blob[13:], context.encode()).decode()


def lookup_hash(value: str, *, context: str) -> str:
    """Deterministic keyed hash, so an exact value can be found without storing it in clear."""
    return hmac.new(_lookup_key(), f"{context}:{value}".encode(), hashlib.sha256).hexdigest()


def mac(data: bytes) -> str:
    return hmac.new(_lookup_key(), data, hashlib.sha256).hexdigest()
