"""Credential encryption: what goes in comes out, only with the right key, and the key file is
private to its owner."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st

from storage.crypto import (
    KEY_FILE_NAME,
    CryptoError,
    Vault,
    generate_key,
    load_or_create_key_file,
    write_key_file,
)

KEY = generate_key()
OTHER_KEY = generate_key()
CREDENTIALS = {"token": "123456:AAE-secret", "chat": "@nexus_channel"}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@given(st.dictionaries(st.text(), st.text()))
def test_vault_round_trip(data: dict[str, str]) -> None:
    vault = Vault(KEY)
    token = vault.encrypt(data)
    assert vault.decrypt(token) == data
    for value in data.values():
        if len(value) >= 4:
            assert value not in token  # stored encrypted, not merely encoded


def test_each_encryption_is_fresh() -> None:
    vault = Vault(KEY)
    assert vault.encrypt(CREDENTIALS) != vault.encrypt(CREDENTIALS)


def test_wrong_key_is_a_crypto_error_that_does_not_reveal_keys() -> None:
    token = Vault(KEY).encrypt(CREDENTIALS)
    with pytest.raises(CryptoError) as caught:
        Vault(OTHER_KEY).decrypt(token)
    message = str(caught.value)
    assert "rotate-key" in message
    assert KEY not in message and OTHER_KEY not in message
    assert CREDENTIALS["token"] not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.parametrize(
    "bad_key",
    ["garbage", KEY[:-2], "ü" * 44, "", "   "],
    ids=["word", "truncated", "non-ascii", "empty", "blank"],
)
def test_malformed_key_is_a_crypto_error_that_does_not_echo_it(bad_key: str) -> None:
    with pytest.raises(CryptoError, match="nexus keygen") as caught:
        Vault(bad_key)
    if bad_key.strip():
        assert bad_key not in str(caught.value)


def test_vault_needs_a_key() -> None:
    with pytest.raises(CryptoError):
        Vault()


def test_tampered_token_is_a_crypto_error() -> None:
    token = Vault(KEY).encrypt(CREDENTIALS)
    tampered = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    with pytest.raises(CryptoError):
        Vault(KEY).decrypt(tampered)


def test_non_object_payload_is_a_crypto_error() -> None:
    token = Fernet(KEY.encode()).encrypt(b"[1, 2]").decode()
    with pytest.raises(CryptoError, match="JSON object"):
        Vault(KEY).decrypt(token)


def test_several_keys_decrypt_and_the_first_encrypts() -> None:
    old_token = Vault(OTHER_KEY).encrypt(CREDENTIALS)
    both = Vault(KEY, OTHER_KEY)
    assert both.decrypt(old_token) == CREDENTIALS

    new_token = both.encrypt(CREDENTIALS)
    assert Vault(KEY).decrypt(new_token) == CREDENTIALS
    with pytest.raises(CryptoError):
        Vault(OTHER_KEY).decrypt(new_token)


def test_rotate_moves_a_token_to_the_first_key() -> None:
    old_token = Vault(OTHER_KEY).encrypt(CREDENTIALS)
    rotated = Vault(KEY, OTHER_KEY).rotate(old_token)
    assert Vault(KEY).decrypt(rotated) == CREDENTIALS
    with pytest.raises(CryptoError):
        Vault(OTHER_KEY).decrypt(rotated)
    with pytest.raises(CryptoError):
        Vault(generate_key()).rotate(old_token)


def test_key_file_is_created_once_private_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"  # does not exist yet
    key, created = load_or_create_key_file(data_dir)
    path = data_dir / KEY_FILE_NAME
    assert created
    assert mode(path) == 0o600
    assert path.read_text().strip() == key
    token = Vault(key).encrypt(CREDENTIALS)

    again, created_again = load_or_create_key_file(data_dir)
    assert (again, created_again) == (key, False)
    assert Vault(again).decrypt(token) == CREDENTIALS
    assert sorted(p.name for p in data_dir.iterdir()) == [KEY_FILE_NAME]  # no temp file left


def test_key_file_is_private_even_with_a_permissive_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        load_or_create_key_file(tmp_path)
        write_key_file(tmp_path / "other.key", KEY)
    finally:
        os.umask(previous)
    assert mode(tmp_path / KEY_FILE_NAME) == 0o600
    assert mode(tmp_path / "other.key") == 0o600


def test_write_key_file_replaces_a_world_readable_file(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE_NAME
    path.write_text(OTHER_KEY)
    path.chmod(0o644)
    write_key_file(path, KEY)
    assert mode(path) == 0o600
    assert load_or_create_key_file(tmp_path) == (KEY, False)


def test_corrupt_key_file_is_a_crypto_error_not_a_new_key(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE_NAME
    path.write_text("not a key\n")
    with pytest.raises(CryptoError):
        load_or_create_key_file(tmp_path)
    assert path.read_text() == "not a key\n"  # never silently replaced: that would lose data


def start_together(data_dir: Path, starters: int) -> tuple[list[str], list[BaseException]]:
    """`load_or_create_key_file` from several threads released at the same instant."""
    barrier = threading.Barrier(starters)
    keys: list[str] = []
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            keys.append(load_or_create_key_file(data_dir)[0])
        except BaseException as exc:  # collected: a crash at start is a failure too
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(starters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return keys, errors


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    """`nexus run` and `nexus worker` started at once on a fresh data dir (docker compose up):
    every one of them must use the key that ends up on disk, or the credentials one of them
    encrypts can never be read again."""
    for attempt in range(5):
        data_dir = tmp_path / str(attempt)
        keys, errors = start_together(data_dir, starters=8)
        assert errors == []
        on_disk = (data_dir / KEY_FILE_NAME).read_text().strip()
        assert set(keys) == {on_disk}
        assert mode(data_dir / KEY_FILE_NAME) == 0o600
