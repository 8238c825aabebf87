"""Encrypted blob store on a real folder: at-rest encryption, tampering, rotation, streaming."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from pathlib import Path

import pytest

from storage.blobs import (
    BlobCorrupted,
    BlobNotFound,
    BlobStore,
    EncryptedFileBlobStore,
    InMemoryBlobStore,
    KeyMissing,
    Keyring,
    KeyringError,
    stream_sha256,
)

SECRET = b"DNI 12345678Z - Joan Garcia Puig - Carrer Major 12 - " * 400


def key_b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


# Random-looking test keys (a repeated byte is refused as a weak key).
K1, K2, K3, K5 = (key_b64(hashlib.sha256(bytes([n])).digest()) for n in (1, 2, 3, 5))


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.parse(f"k1:{K1}")


@pytest.fixture
def store(tmp_path: Path, keyring: Keyring) -> EncryptedFileBlobStore:
    return EncryptedFileBlobStore(tmp_path / "blobs", keyring)


def all_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


async def test_round_trip_and_addressing(store: EncryptedFileBlobStore) -> None:
    assert isinstance(store, BlobStore)
    sha = await store.put(SECRET)
    assert sha == hashlib.sha256(SECRET).hexdigest()
    assert await store.exists(sha)
    assert await store.get(sha) == SECRET
    assert await store.put(SECRET) == sha  # idempotent
    assert len(all_files(store.root)) == 1
    assert await store.delete(sha) is True
    assert not await store.exists(sha)
    assert await store.delete(sha) is False
    with pytest.raises(BlobNotFound):
        await store.get(sha)


async def test_empty_blob(store: EncryptedFileBlobStore) -> None:
    sha = await store.put(b"")
    assert await store.get(sha) == b""


async def test_no_plaintext_on_disk(store: EncryptedFileBlobStore) -> None:
    sha = await store.put(SECRET)
    raw = store.path_for(sha).read_bytes()
    assert raw.startswith(b"VTB1")
    assert b"12345678Z" not in raw and b"Joan Garcia" not in raw
    assert SECRET[:16] not in raw
    assert len(raw) < len(SECRET) + 200
    mode = stat.S_IMODE(store.path_for(sha).stat().st_mode)
    assert mode == 0o600
    assert not list((store.root / ".tmp").iterdir())  # nothing left half-written


async def test_flipping_one_byte_fails_authentication(store: EncryptedFileBlobStore) -> None:
    sha = await store.put(SECRET)
    path = store.path_for(sha)
    original = path.read_bytes()
    for position in (len(original) - 1, len(original) // 2, 30, 70):  # body, key wrap...
        tampered = bytearray(original)
        tampered[position] ^= 0x01
        path.write_bytes(bytes(tampered))
        with pytest.raises(BlobCorrupted):
            await store.get(sha)
    path.write_bytes(original)
    assert await store.get(sha) == SECRET


async def test_blob_copied_under_another_address_fails(store: EncryptedFileBlobStore) -> None:
    sha_a = await store.put(b"document A")
    sha_b = await store.put(b"document B")
    store.path_for(sha_b).write_bytes(store.path_for(sha_a).read_bytes())
    with pytest.raises(BlobCorrupted):
        await store.get(sha_b)


async def test_truncation_at_a_chunk_boundary_fails(tmp_path: Path, keyring: Keyring) -> None:
    store = EncryptedFileBlobStore(tmp_path, keyring, chunk_size=1024)
    data = os.urandom(4096)
    sha = await store.put(data)
    path = store.path_for(sha)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) - (1024 + 16)])  # drop the whole last chunk
    with pytest.raises(BlobCorrupted):
        await store.get(sha)


async def test_wrong_master_key_is_refused(store: EncryptedFileBlobStore, tmp_path: Path) -> None:
    sha = await store.put(SECRET)
    impostor = EncryptedFileBlobStore(store.root, Keyring.parse(f"k1:{K2}"))
    with pytest.raises(BlobCorrupted):
        await impostor.get(sha)
    stranger = EncryptedFileBlobStore(store.root, Keyring.generate("k9"))
    with pytest.raises(KeyMissing):
        await stranger.get(sha)


async def test_key_rotation(tmp_path: Path) -> None:
    old = Keyring.parse(f"k1:{K1}")
    store = EncryptedFileBlobStore(tmp_path, old)
    shas = [await store.put(f"document {i}".encode()) for i in range(5)]
    assert store.key_usage() == {"k1": 5}

    # 1. add the new key as current; old blobs still readable, new ones use k2
    rotated = Keyring.parse(f"k2:{K2}\nk1:{K1}")
    store = EncryptedFileBlobStore(tmp_path, rotated)
    assert rotated.current_id == "k2"
    newer = await store.put(b"written after rotation")
    assert store.key_id_of(newer) == "k2"
    assert await store.get(shas[0]) == b"document 0"

    # 2. rewrap: only headers change
    before = store.path_for(shas[0]).read_bytes()
    report = await store.rewrap()
    assert (report.rewrapped, report.already_current) == (5, 1)
    after = store.path_for(shas[0]).read_bytes()
    body = len(b"document 0") + 16  # one sealed chunk
    assert after[-body:] == before[-body:]  # ciphertext untouched
    assert after[:-body] != before[:-body]  # header re-wrapped
    assert store.key_usage() == {"k2": 6}
    assert (await store.rewrap()).rewrapped == 0

    # 3. retire the old key: everything still readable with k2 alone
    only_new = EncryptedFileBlobStore(tmp_path, Keyring.parse(f"k2:{K2}"))
    for i, sha in enumerate(shas):
        assert await only_new.get(sha) == f"document {i}".encode()
    with pytest.raises(KeyMissing):
        await EncryptedFileBlobStore(tmp_path, old).get(shas[0])


async def test_large_file_streams_in_chunks(tmp_path: Path, keyring: Keyring) -> None:
    store = EncryptedFileBlobStore(tmp_path / "blobs", keyring, chunk_size=64 * 1024)
    source = tmp_path / "recording.mp4"
    source.write_bytes(os.urandom(4_000_000))
    expected = stream_sha256(source)
    assert expected == hashlib.sha256(source.read_bytes()).hexdigest()

    sha = await store.put_file(source)
    assert sha == expected
    chunks = [chunk async for chunk in store.open_decrypted(sha)]
    assert len(chunks) > 1 and max(map(len, chunks)) == 64 * 1024
    assert hashlib.sha256(b"".join(chunks)).hexdigest() == sha

    dest = tmp_path / "out" / "recording.mp4"
    await store.get_to_path(sha, dest)
    assert stream_sha256(dest) == sha
    # A blob put as bytes and one put from a file are the same format.
    assert await store.get(sha) == source.read_bytes()


async def test_tampered_blob_never_reaches_the_destination(
    store: EncryptedFileBlobStore, tmp_path: Path
) -> None:
    sha = await store.put(SECRET)
    path = store.path_for(sha)
    raw = bytearray(path.read_bytes())
    raw[-5] ^= 0xFF
    path.write_bytes(bytes(raw))
    dest = tmp_path / "restored.bin"
    with pytest.raises(BlobCorrupted):
        await store.get_to_path(sha, dest)
    assert not dest.exists() and not list(tmp_path.glob(".restored.bin*"))
    with pytest.raises(BlobCorrupted):
        _ = [chunk async for chunk in store.open_decrypted(sha)]


async def test_failed_put_leaves_nothing(store: EncryptedFileBlobStore, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        await store.put_file(tmp_path / "missing.bin")
    assert all_files(store.root) == []


async def test_bad_addresses_are_refused(store: EncryptedFileBlobStore) -> None:
    for address in ("../../etc/passwd", "A" * 64, "abc", ""):
        with pytest.raises(ValueError):
            await store.get(address)


# ------------------------------------------------------------------ keyring


def test_keyring_from_env_wins_over_file(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "master.keys"
    env = f"kA:{K5}"
    keyring = Keyring.from_env_or_file(env, key_file, create_if_missing=True)
    assert keyring.current_id == "kA"
    assert not key_file.exists()


def test_keyring_file_created_with_private_permissions(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "master.keys"
    created = Keyring.from_env_or_file(None, key_file, create_if_missing=True)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    again = Keyring.from_env_or_file("", key_file, create_if_missing=False)
    assert again.current_id == created.current_id
    assert again.current() == created.current()


def test_keyring_errors_never_show_keys(tmp_path: Path) -> None:
    with pytest.raises(KeyringError):
        Keyring.from_env_or_file(None, tmp_path / "absent.keys", create_if_missing=False)
    secret_but_short = key_b64(b"\x07" * 16)
    with pytest.raises(KeyringError) as caught:
        Keyring.parse(f"k1:{secret_but_short}")
    assert secret_but_short not in str(caught.value)
    with pytest.raises(KeyringError):
        Keyring.parse("k1:not base64!!")
    keyring = Keyring.parse(K3)  # id derived from the key
    assert keyring.current_id.startswith("k")
    assert K3 not in repr(keyring)


def test_keyring_management() -> None:
    keyring = Keyring.generate("k1")
    kid = keyring.add(Keyring.generate_key(), key_id="k2", make_current=True)
    assert keyring.current_id == kid == "k2"
    with pytest.raises(KeyringError):
        keyring.remove("k2")
    keyring.remove("k1")
    assert keyring.ids == ("k2",)
    reparsed = Keyring.parse(keyring.to_text())
    assert reparsed.current() == keyring.current()


# ------------------------------------------------------------------ in memory


async def test_in_memory_store_behaves_the_same(tmp_path: Path) -> None:
    store = InMemoryBlobStore()
    assert isinstance(store, BlobStore)
    sha = await store.put(SECRET)
    assert await store.get(sha) == SECRET and len(store) == 1
    assert b"".join([c async for c in store.open_decrypted(sha)]) == SECRET
    await store.get_to_path(sha, tmp_path / "x.bin")
    assert (tmp_path / "x.bin").read_bytes() == SECRET
    assert await store.put_file(tmp_path / "x.bin") == sha
    assert await store.delete(sha) and not await store.exists(sha)
    with pytest.raises(BlobNotFound):
        await store.get(sha)
