"""Content-addressed blob storage, encrypted at rest.

Blobs (document photos, PDFs, receipts, call recordings) are addressed by the SHA-256 of
their plaintext. :class:`BlobStore` is the small interface the rest of the service uses, so
an object store can replace the local folder; :class:`EncryptedFileBlobStore` is the local
implementation and :class:`InMemoryBlobStore` the one for unit tests.

On-disk format (one file per blob, ``<root>/<sha[:2]>/<sha>``), all integers big-endian::

    magic      4  b"VTB1"
    version    1  1
    flags      1  0 (reserved)
    chunk_size 4  plaintext bytes per chunk (1 MiB)
    kid_len    1  length of the master key id
    kid        n  master key id (ASCII)
    wrap_nonce 12 nonce used to wrap the data key
    wrapped    48 AES-256-GCM(master key, data key) incl. 16-byte tag,
                  AAD = magic|version|kid|sha256-address
    chunks        AES-256-GCM(data key, chunk) incl. 16-byte tag each; nonce =
                  8-byte chunk index | 3 zero bytes | 1 if last chunk else 0

Every file has its own random 256-bit data key, so counter nonces never repeat; the
"last chunk" flag in the nonce makes truncation at a chunk boundary fail authentication,
and binding the address into the key wrap makes a blob copied under another name fail
too. The plaintext's SHA-256 is checked again after decryption. Any failure raises
:class:`BlobCorrupted`. Rotating the master key rewrites only the header
(:meth:`EncryptedFileBlobStore.rewrap`). Files are written to ``<root>/.tmp`` and renamed
into place, so a crash never leaves a half-written blob under its address.

IT rotates the master key with ``videotramit keys`` (bot/keys_ops.py), which re-wraps the
blobs and re-seals the database's values together.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import os
import re
import secrets
import struct
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "BlobCorrupted",
    "BlobError",
    "BlobNotFound",
    "BlobStore",
    "EncryptedFileBlobStore",
    "InMemoryBlobStore",
    "KeyMissing",
    "Keyring",
    "KeyringError",
    "RewrapReport",
    "stream_sha256",
]

_log = logging.getLogger(__name__)

MAGIC = b"VTB1"
VERSION = 1
CHUNK_SIZE = 1024 * 1024
_TAG = 16
_KEY_LEN = 32
_WRAPPED_LEN = _KEY_LEN + _TAG
_FIXED = struct.Struct(">4sBBIB")  # magic, version, flags, chunk_size, kid_len
_SHA_RE = re.compile(r"[0-9a-f]{64}")
_KID_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


# ------------------------------------------------------------------------ errors


class BlobError(Exception):
    """Base class for blob storage errors."""


class BlobNotFound(BlobError, KeyError):
    """No blob with that address."""


class BlobCorrupted(BlobError):
    """The stored blob failed authentication or its content does not match its address."""


class KeyringError(BlobError):
    """The master keys are missing or malformed (the message never contains a key)."""


class KeyMissing(KeyringError):
    """A blob was encrypted under a master key id the keyring does not hold."""


# ------------------------------------------------------------------------ helpers


def _check_address(sha256: str) -> str:
    if not isinstance(sha256, str) or not _SHA_RE.fullmatch(sha256):
        raise ValueError("a blob address is 64 lowercase hex characters")
    return sha256


def stream_sha256(path: Path, *, chunk_size: int = CHUNK_SIZE) -> str:
    """Hex SHA-256 of a file, read in chunks (for recordings of hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def _chunk_nonce(index: int, last: bool) -> bytes:
    return struct.pack(">Q3xB", index, 1 if last else 0)


def _wrap_aad(kid: str, sha256: str) -> bytes:
    return MAGIC + bytes([VERSION]) + kid.encode("ascii") + bytes.fromhex(sha256)


# ------------------------------------------------------------------------ keyring


def _key_id_for(key: bytes) -> str:
    """A stable, non-secret id derived from a key (used when none is given)."""
    return "k" + hashlib.sha256(b"videotramit master key id\x00" + key).hexdigest()[:12]


def _decode_key(text: str) -> bytes:
    text = text.strip()
    try:
        padded = text + "=" * (-len(text) % 4)
        key = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError("a master key is not valid base64") from None
    if len(key) != _KEY_LEN:
        raise KeyringError("a master key must be 32 bytes (256 bits), base64-encoded")
    return key


def _weak(key: bytes) -> bool:
    """A key nobody generated at random: all one byte, or a run like 00 01 02..."""
    steps = {(b - a) % 256 for a, b in zip(key, key[1:], strict=False)}
    return len(set(key)) <= 2 or len(steps) == 1


class Keyring:
    """Master keys by id; one is current (used for new blobs), the others only decrypt.

    Text form (environment variable or key file): entries ``[id:]base64key`` separated by
    commas or new lines; ``#`` starts a comment; **the first entry is the current key**.
    Without an id, one is derived from the key. ``repr()`` never shows keys.
    """

    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise KeyringError("no master key")
        self._keys: dict[str, bytes] = {}
        for kid, key in keys:
            if not _KID_RE.fullmatch(kid):
                raise KeyringError(f"bad master key id {kid!r}")
            if len(key) != _KEY_LEN:
                raise KeyringError(f"master key {kid} must be 32 bytes")
            if _weak(key):
                raise KeyringError(
                    f"master key {kid} is not random (one byte repeated, or a counting"
                    " pattern); make one with `openssl rand -base64 32`"
                )
            if kid in self._keys:
                raise KeyringError(f"duplicate master key id {kid}")
            self._keys[kid] = bytes(key)
        self._current = keys[0][0]

    # -- construction --------------------------------------------------------------

    @staticmethod
    def generate_key() -> bytes:
        return secrets.token_bytes(_KEY_LEN)

    @classmethod
    def generate(cls, key_id: str | None = None) -> Keyring:
        key = cls.generate_key()
        return cls([(key_id or _key_id_for(key), key)])

    @classmethod
    def parse(cls, text: str) -> Keyring:
        entries: list[tuple[str, bytes]] = []
        for raw in re.split(r"[,\n]", text):
            item = raw.split("#", 1)[0].strip()
            if not item:
                continue
            if ":" in item:
                kid, _, encoded = item.partition(":")
                kid = kid.strip()
                key = _decode_key(encoded)
            else:
                key = _decode_key(item)
                kid = _key_id_for(key)
            entries.append((kid, key))
        return cls(entries)

    @classmethod
    def from_env_or_file(
        cls,
        env_value: str | None,
        key_file: Path | None,
        create_if_missing: bool = False,
    ) -> Keyring:
        """Keys from ``env_value`` if set, else from ``key_file``.

        With ``create_if_missing`` and neither present, a new key is generated and written
        to ``key_file`` (mode 0600, parent folder 0700).
        """
        if env_value is not None and env_value.strip():
            return cls.parse(env_value)
        if key_file is None:
            raise KeyringError("no master key: set the environment variable or a key file")
        if key_file.exists():
            mode = key_file.stat().st_mode & 0o777
            if mode & 0o077:
                raise KeyringError(
                    f"master key file {key_file} can be read by others (mode {mode:o});"
                    f" run: chmod 600 {key_file}"
                )
            return cls.parse(key_file.read_text(encoding="ascii"))
        if not create_if_missing:
            raise KeyringError(f"master key file {key_file} does not exist")
        keyring = cls.generate()
        keyring.write(key_file, exclusive=True)
        _log.info("created master key file %s (key id %s)", key_file, keyring.current_id)
        return keyring

    # -- use -----------------------------------------------------------------------

    @property
    def current_id(self) -> str:
        return self._current

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def current(self) -> tuple[str, bytes]:
        return self._current, self._keys[self._current]

    def get(self, key_id: str) -> bytes:
        try:
            return self._keys[key_id]
        except KeyError:
            raise KeyMissing(f"master key {key_id!r} is not in the keyring") from None

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._keys

    def add(self, key: bytes, *, key_id: str | None = None, make_current: bool = False) -> str:
        kid = key_id or _key_id_for(key)
        if kid in self._keys:
            raise KeyringError(f"duplicate master key id {kid}")
        if not _KID_RE.fullmatch(kid) or len(key) != _KEY_LEN:
            raise KeyringError("bad master key or id")
        self._keys[kid] = bytes(key)
        if make_current:
            self.set_current(kid)
        return kid

    def set_current(self, key_id: str) -> None:
        self.get(key_id)
        self._current = key_id

    def remove(self, key_id: str) -> None:
        if key_id == self._current:
            raise KeyringError("cannot remove the current master key")
        self.get(key_id)
        del self._keys[key_id]

    def to_text(self) -> str:
        """Serialise (current key first). The result is secret."""
        order = [self._current] + [kid for kid in self._keys if kid != self._current]
        lines = ["# videotramit master keys: first entry is the current key. SECRET."]
        lines += [f"{kid}:{base64.b64encode(self._keys[kid]).decode()}" for kid in order]
        return "\n".join(lines) + "\n"

    def write(self, path: Path, *, exclusive: bool = False) -> None:
        """Write the key file atomically with mode 0600."""
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if exclusive and path.exists():
            raise KeyringError(f"{path} already exists")
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".keys-")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(self.to_text())
                handle.flush()
                os.fsync(handle.fileno())
            if exclusive:
                os.link(tmp, path)  # fails if someone created it meanwhile
                os.unlink(tmp)
            else:
                os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def __repr__(self) -> str:
        return f"Keyring(current={self._current!r}, ids={list(self._keys)!r})"


# ------------------------------------------------------------------------ interface


@runtime_checkable
class BlobStore(Protocol):
    """Content-addressed storage of immutable blobs."""

    async def put(self, data: bytes) -> str:
        """Store ``data``; return its hex SHA-256 (storing twice is harmless)."""
        ...

    async def put_file(self, path: Path) -> str:
        """Store a file's content without loading it all in memory."""
        ...

    async def get(self, sha256: str) -> bytes:
        """The plaintext; raises BlobNotFound or BlobCorrupted."""
        ...

    def open_decrypted(self, sha256: str) -> AsyncIterator[bytes]:
        """Yield the plaintext in chunks (authenticated chunk by chunk; a mismatch of
        the whole content with its address raises BlobCorrupted at the end)."""
        ...

    async def get_to_path(self, sha256: str, dest: Path) -> None:
        """Write the plaintext to ``dest`` atomically; ``dest`` only appears if intact."""
        ...

    async def exists(self, sha256: str) -> bool: ...

    async def delete(self, sha256: str) -> bool:
        """Remove a blob; False if it was not there."""
        ...


# ------------------------------------------------------------------------ in memory


class InMemoryBlobStore:
    """A :class:`BlobStore` in a dict (unit tests; not encrypted)."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}

    def __len__(self) -> int:
        return len(self._blobs)

    async def put(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        self._blobs[sha] = bytes(data)
        return sha

    async def put_file(self, path: Path) -> str:
        data = await asyncio.to_thread(path.read_bytes)
        return await self.put(data)

    async def get(self, sha256: str) -> bytes:
        try:
            return self._blobs[_check_address(sha256)]
        except KeyError:
            raise BlobNotFound(sha256) from None

    async def open_decrypted(self, sha256: str) -> AsyncIterator[bytes]:
        data = await self.get(sha256)
        for start in range(0, len(data), CHUNK_SIZE):
            yield data[start : start + CHUNK_SIZE]

    async def get_to_path(self, sha256: str, dest: Path) -> None:
        data = await self.get(sha256)
        await asyncio.to_thread(_atomic_write_bytes, dest, data)

    async def exists(self, sha256: str) -> bool:
        return _check_address(sha256) in self._blobs

    async def delete(self, sha256: str) -> bool:
        return self._blobs.pop(_check_address(sha256), None) is not None


def _atomic_write_bytes(dest: Path, data: bytes) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# ------------------------------------------------------------------------ encrypted files


@dataclass(frozen=True)
class _Header:
    kid: str
    chunk_size: int
    wrap_nonce: bytes
    wrapped: bytes
    length: int  # bytes in the header

    def pack(self) -> bytes:
        kid = self.kid.encode("ascii")
        return (
            _FIXED.pack(MAGIC, VERSION, 0, self.chunk_size, len(kid))
            + kid
            + self.wrap_nonce
            + self.wrapped
        )


def _header_length(kid: str) -> int:
    return _FIXED.size + len(kid) + 12 + _WRAPPED_LEN


def _read_header(handle: BinaryIO) -> _Header:
    fixed = handle.read(_FIXED.size)
    if len(fixed) != _FIXED.size:
        raise BlobCorrupted("truncated header")
    magic, version, _flags, chunk_size, kid_len = _FIXED.unpack(fixed)
    if magic != MAGIC or version != VERSION or chunk_size <= 0 or kid_len == 0:
        raise BlobCorrupted("not a blob of a known format")
    rest = handle.read(kid_len + 12 + _WRAPPED_LEN)
    if len(rest) != kid_len + 12 + _WRAPPED_LEN:
        raise BlobCorrupted("truncated header")
    try:
        kid = rest[:kid_len].decode("ascii")
    except UnicodeDecodeError:
        raise BlobCorrupted("bad key id") from None
    return _Header(
        kid=kid,
        chunk_size=chunk_size,
        wrap_nonce=rest[kid_len : kid_len + 12],
        wrapped=rest[kid_len + 12 :],
        length=_FIXED.size + kid_len + 12 + _WRAPPED_LEN,
    )


@dataclass(frozen=True)
class RewrapReport:
    rewrapped: int
    already_current: int


class _Encryptor:
    """Encrypts a stream of chunks under a fresh data key."""

    def __init__(self) -> None:
        self.dek = AESGCM.generate_key(bit_length=256)
        self._aead = AESGCM(self.dek)
        self.index = 0

    def chunk(self, plaintext: bytes, last: bool) -> bytes:
        out = self._aead.encrypt(_chunk_nonce(self.index, last), plaintext, None)
        self.index += 1
        return out


def _wrap(kid: str, master: bytes, dek: bytes, sha256: str) -> tuple[bytes, bytes]:
    nonce = secrets.token_bytes(12)
    return nonce, AESGCM(master).encrypt(nonce, dek, _wrap_aad(kid, sha256))


def _unwrap(keyring: Keyring, header: _Header, sha256: str) -> bytes:
    master = keyring.get(header.kid)
    try:
        return AESGCM(master).decrypt(
            header.wrap_nonce, header.wrapped, _wrap_aad(header.kid, sha256)
        )
    except InvalidTag:
        raise BlobCorrupted(f"blob {sha256[:12]}…: data key does not authenticate") from None


class EncryptedFileBlobStore:
    """A :class:`BlobStore` in a local folder, AES-256-GCM encrypted (see module doc)."""

    def __init__(self, root: Path, keyring: Keyring, *, chunk_size: int = CHUNK_SIZE) -> None:
        self.root = Path(root)
        self.keyring = keyring
        self.chunk_size = chunk_size
        self._tmp = self.root / ".tmp"

    def __repr__(self) -> str:
        return f"EncryptedFileBlobStore({str(self.root)!r}, {self.keyring!r})"

    # -- paths ---------------------------------------------------------------------

    def path_for(self, sha256: str) -> Path:
        """Where a blob lives (its bytes there are ciphertext)."""
        sha = _check_address(sha256)
        return self.root / sha[:2] / sha

    def _prepare(self) -> None:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._tmp.mkdir(mode=0o700, exist_ok=True)

    def _temp(self) -> tuple[BinaryIO, Path]:
        self._prepare()
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix="blob-")
        os.fchmod(fd, 0o600)
        return os.fdopen(fd, "w+b"), Path(name)

    def _commit(self, handle: BinaryIO, tmp: Path, sha256: str) -> None:
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        final = self.path_for(sha256)
        final.parent.mkdir(mode=0o700, exist_ok=True)
        os.replace(tmp, final)

    # -- writing -------------------------------------------------------------------

    def _write_chunks(self, chunks: Iterator[bytes], sha256: str | None) -> str:
        """Encrypt ``chunks`` (plaintext, each of chunk_size except the last) to a temp
        file, hashing as it goes; then write the header and rename into place."""
        kid, master = self.keyring.current()
        handle, tmp = self._temp()
        try:
            header_len = _header_length(kid)
            handle.write(b"\x00" * header_len)
            enc = _Encryptor()
            digest = hashlib.sha256()
            pending = next(chunks, b"")
            for following in chunks:
                digest.update(pending)
                handle.write(enc.chunk(pending, last=False))
                pending = following
            digest.update(pending)
            handle.write(enc.chunk(pending, last=True))
            address = digest.hexdigest()
            if sha256 is not None and address != sha256:
                raise BlobError("content changed while it was being stored")
            nonce, wrapped = _wrap(kid, master, enc.dek, address)
            header = _Header(kid, self.chunk_size, nonce, wrapped, header_len).pack()
            handle.seek(0)
            handle.write(header)
            if self.path_for(address).exists():
                handle.close()
                tmp.unlink()
                return address
            self._commit(handle, tmp, address)
            return address
        except BaseException:
            if not handle.closed:
                handle.close()
            if tmp.exists():
                tmp.unlink()
            raise

    def _put_sync(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        if self.path_for(sha).exists():
            return sha
        view = memoryview(data)
        size = self.chunk_size
        chunks = (bytes(view[i : i + size]) for i in range(0, len(data), size))
        return self._write_chunks(chunks, sha)

    def _put_file_sync(self, path: Path) -> str:
        with open(path, "rb") as source:
            chunks = iter(lambda: source.read(self.chunk_size), b"")
            return self._write_chunks(chunks, None)

    async def put(self, data: bytes) -> str:
        return await asyncio.to_thread(self._put_sync, bytes(data))

    async def put_file(self, path: Path) -> str:
        return await asyncio.to_thread(self._put_file_sync, Path(path))

    # -- reading -------------------------------------------------------------------

    def _open(self, sha256: str) -> BinaryIO:
        try:
            return open(self.path_for(sha256), "rb")
        except FileNotFoundError:
            raise BlobNotFound(sha256) from None

    def _iter_plain(self, handle: BinaryIO, sha256: str) -> Iterator[bytes]:
        """Decrypt chunk by chunk, verifying each; checks the address at the end."""
        header = _read_header(handle)
        aead = AESGCM(_unwrap(self.keyring, header, sha256))
        body = os.fstat(handle.fileno()).st_size - header.length
        step = header.chunk_size + _TAG
        if body < _TAG:
            raise BlobCorrupted(f"blob {sha256[:12]}…: truncated")
        count = max(1, -(-body // step))
        digest = hashlib.sha256()
        for index in range(count):
            sealed = handle.read(step)
            last = index == count - 1
            if len(sealed) < _TAG or (not last and len(sealed) != step):
                raise BlobCorrupted(f"blob {sha256[:12]}…: truncated")
            try:
                plain = aead.decrypt(_chunk_nonce(index, last), sealed, None)
            except InvalidTag:
                raise BlobCorrupted(f"blob {sha256[:12]}…: chunk {index} altered") from None
            digest.update(plain)
            yield plain
        if digest.hexdigest() != sha256:
            raise BlobCorrupted(f"blob {sha256[:12]}…: content does not match its address")

    def _get_sync(self, sha256: str) -> bytes:
        with self._open(sha256) as handle:
            return b"".join(self._iter_plain(handle, sha256))

    async def get(self, sha256: str) -> bytes:
        return await asyncio.to_thread(self._get_sync, sha256)

    async def open_decrypted(self, sha256: str) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(self._open, sha256)
        try:
            plain = self._iter_plain(handle, sha256)
            sentinel = object()
            while True:
                chunk = await asyncio.to_thread(next, plain, sentinel)
                if chunk is sentinel:
                    return
                assert isinstance(chunk, bytes)
                yield chunk
        finally:
            handle.close()

    def _get_to_path_sync(self, sha256: str, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
        try:
            with os.fdopen(fd, "wb") as out, self._open(sha256) as handle:
                for chunk in self._iter_plain(handle, sha256):
                    out.write(chunk)
            os.replace(tmp, dest)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    async def get_to_path(self, sha256: str, dest: Path) -> None:
        await asyncio.to_thread(self._get_to_path_sync, sha256, Path(dest))

    async def exists(self, sha256: str) -> bool:
        return await asyncio.to_thread(self.path_for(sha256).is_file)

    def _delete_sync(self, sha256: str) -> bool:
        try:
            self.path_for(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    async def delete(self, sha256: str) -> bool:
        return await asyncio.to_thread(self._delete_sync, sha256)

    # -- key rotation --------------------------------------------------------------

    def addresses(self) -> Iterator[str]:
        """Addresses of all stored blobs."""
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if len(folder.name) != 2 or not folder.is_dir():
                continue
            for entry in sorted(folder.iterdir()):
                if _SHA_RE.fullmatch(entry.name) and entry.name.startswith(folder.name):
                    yield entry.name

    def key_id_of(self, sha256: str) -> str:
        with self._open(sha256) as handle:
            return _read_header(handle).kid

    def key_usage(self) -> dict[str, int]:
        """How many blobs each master key id protects (to know when one can go)."""
        return dict(Counter(self.key_id_of(sha) for sha in self.addresses()))

    def _rewrap_one(self, sha256: str) -> bool:
        kid, master = self.keyring.current()
        with self._open(sha256) as source:
            header = _read_header(source)
            if header.kid == kid:
                return False
            dek = _unwrap(self.keyring, header, sha256)
            nonce, wrapped = _wrap(kid, master, dek, sha256)
            new_header = _Header(kid, header.chunk_size, nonce, wrapped, _header_length(kid))
            handle, tmp = self._temp()
            try:
                handle.write(new_header.pack())
                while block := source.read(1024 * 1024):
                    handle.write(block)
                self._commit(handle, tmp, sha256)
            except BaseException:
                if not handle.closed:
                    handle.close()
                if tmp.exists():
                    tmp.unlink()
                raise
        return True

    def rewrap_sync(self, *, from_key_id: str | None = None) -> RewrapReport:
        """Re-wrap data keys under the current master key. Only headers change."""
        done = skipped = 0
        for sha in list(self.addresses()):
            if from_key_id is not None and self.key_id_of(sha) != from_key_id:
                skipped += 1
                continue
            if self._rewrap_one(sha):
                done += 1
            else:
                skipped += 1
        _log.info("rewrapped %d blobs to key %s", done, self.keyring.current_id)
        return RewrapReport(rewrapped=done, already_current=skipped)

    async def rewrap(self, *, from_key_id: str | None = None) -> RewrapReport:
        """Re-wrap every blob (or only those under ``from_key_id``) to the current key."""
        return await asyncio.to_thread(self.rewrap_sync, from_key_id=from_key_id)
