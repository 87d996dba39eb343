"""Encryption at rest and keyed look-up hashes: keys separate from the web secret, context bound."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.exceptions import InvalidTag
from django.test import override_settings

from gongzhi.core import crypto

ID = "410102198001011234"


@pytest.fixture
def fresh_keys():
    """The keys are cached per process; clear the caches around a test that swaps them."""
    crypto._aead.cache_clear()
    crypto._lookup_key.cache_clear()
    yield
    crypto._aead.cache_clear()
    crypto._lookup_key.cache_clear()


def test_round_trip():
    token = crypto.encrypt(ID, context="person.id_number")
    assert ID not in token
    assert crypto.decrypt(token, context="person.id_number") == ID


def test_round_trip_of_chinese_text():
    assert crypto.decrypt(crypto.encrypt("低保户", context="x"), context="x") == "低保户"


def test_each_encryption_uses_a_fresh_nonce():
    assert crypto.encrypt(ID, context="c") != crypto.encrypt(ID, context="c")


def test_the_context_is_bound_to_the_ciphertext():
    token = crypto.encrypt(ID, context="person.id_number")
    with pytest.raises(InvalidTag):
        crypto.decrypt(token, context="person.phone")


def test_a_tampered_ciphertext_is_refused():
    blob = bytearray(base64.b64decode(crypto.encrypt(ID, context="c")))
    blob[-1] ^= 1
    with pytest.raises(InvalidTag):
        crypto.decrypt(base64.b64encode(bytes(blob)).decode(), context="c")


def test_an_unknown_version_is_refused():
    blob = b"\x02" + base64.b64decode(crypto.encrypt(ID, context="c"))[1:]
    with pytest.raises(ValueError, match="version"):
        crypto.decrypt(base64.b64encode(blob).decode(), context="c")


def test_another_data_key_cannot_decrypt(fresh_keys):
    token = crypto.encrypt(ID, context="c")
    crypto._aead.cache_clear()
    with override_settings(GONGZHI_DATA_KEY=base64.b64encode(os.urandom(32)).decode()), pytest.raises(InvalidTag):
        crypto.decrypt(token, context="c")


def test_lookup_hash_is_deterministic_and_context_separated():
    a = crypto.lookup_hash(ID, context="person.id_number")
    assert a == crypto.lookup_hash(ID, context="person.id_number")
    assert len(a) == 64 and ID not in a
    assert a != crypto.lookup_hash(ID, context="person.phone")
    assert a != crypto.lookup_hash("410102198001011242", context="person.id_number")


def test_lookup_hash_is_keyed(fresh_keys):
    a = crypto.lookup_hash(ID, context="person.id_number")
    crypto._lookup_key.cache_clear()
    with override_settings(GONGZHI_LOOKUP_KEY=base64.b64encode(os.urandom(32)).decode()):
        assert crypto.lookup_hash(ID, context="person.id_number") != a


def test_the_personal_data_keys_are_not_the_web_secret():
    from django.conf import settings

    assert settings.GONGZHI_DATA_KEY != settings.SECRET_KEY
    assert settings.GONGZHI_LOOKUP_KEY != settings.GONGZHI_DATA_KEY
    assert len(base64.b64decode(settings.GONGZHI_DATA_KEY)) == 32


def test_secrets_are_generated_once_and_kept(tmp_path):
    from gongzhi.core.secrets import load_or_create_secrets

    path = tmp_path / "secrets.json"
    first = load_or_create_secrets(path)
    assert load_or_create_secrets(path) == first
    assert oct(path.stat().st_mode & 0o777) == "0o600"
