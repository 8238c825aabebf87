"""Evidence bundles: one zip a third party can check without our database.

Layout (all at the root of the zip)::

    manifest.json    appointment, record count, last hash, files (sha256, size, path)
    events.jsonl     one record per line, canonical JSON (see domain.evidence)
    files/<sha256>.<ext>   every file the events refer to, exactly as delivered
    README.txt       plain-language note: what this is and how to check it
    SHA256SUMS       "<sha256>  <path>" for every other entry (``sha256sum -c SHA256SUMS``)

Files are stored uncompressed (photos, PDFs and videos are already compressed), so the
extracted bytes are the bytes hashed, and checking a large recording is as fast as reading
it. The output is deterministic: the same records and files give the same zip.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import struct
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from domain.evidence import (
    EvidenceRecord,
    canonical_json,
    record_from_dict,
    record_to_dict,
    verify_chain,
)
from storage.bundle_note import readme
from storage.bundle_seals import AnchorProblem, Anchors, anchor_entries, check_anchors

__all__ = [
    "BUNDLE_FORMAT",
    "BundleCheck",
    "BundleError",
    "export_bundle",
    "verify_bundle",
]

BUNDLE_FORMAT = "videotramit-evidence-bundle"
BUNDLE_VERSION = 1
MANIFEST = "manifest.json"
EVENTS = "events.jsonl"
SUMS = "SHA256SUMS"
README = "README.txt"
FILES_DIR = "files/"
CHUNK = 1024 * 1024
MAX_SMALL_ENTRY = 64 * 1024 * 1024  # manifest/events/sums/readme are read whole
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_FILE_PATH = re.compile(r"^files/([0-9a-f]{64})\.([a-z0-9]{1,8})$")
_SUM_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")


class BundleError(ValueError):
    """The bundle cannot be written (broken chain, file not matching its hash, …)."""


@dataclass(frozen=True)
class BundleCheck:
    ok: bool
    first_problem: str | None
    appointment_ref: str | None = None
    records: int = 0
    files: int = 0
    last_hash: str | None = None
    key_fingerprint: str = ""
    key_from_bundle: bool = True
    seals: int = 0
    timestamps: tuple[str, ...] = ()
    proofs: int = 0
    notes: tuple[str, ...] = ()


# ---------------------------------------------------------------- export


def _sniff_ext(head: bytes, fallback: str | None) -> str:
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"GIF8"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis"):
            return "heic"
        if brand == b"qt  ":
            return "mov"
        return "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if b"webm" in head else "mkv"
    if fallback and re.fullmatch(r"[a-z0-9]{1,8}", fallback):
        return fallback
    return "bin"


def _zinfo(name: str, when: tuple[int, int, int, int, int, int], stored: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=when)
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _copy_hashing(src: io.BufferedIOBase, dst: IO[bytes]) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    while True:
        n = src.readinto(view)
        if not n:
            break
        chunk = view[:n]
        digest.update(chunk)
        dst.write(chunk)
        size += n
    return digest.hexdigest(), size


def _referenced_by(records: Sequence[EvidenceRecord], sha: str) -> list[int]:
    def mentions(value: Any) -> bool:
        if isinstance(value, str):
            return value == sha
        if isinstance(value, dict):
            return any(mentions(v) for v in value.values())
        if isinstance(value, list):
            return any(mentions(v) for v in value)
        return False

    return [r.seq for r in records if mentions(r.data)]


def export_bundle(
    records: Sequence[EvidenceRecord],
    files: Mapping[str, Path | bytes],
    out_zip: Path,
    *,
    note_language: str = "en",
    created_at: datetime | None = None,
    anchors: Anchors | None = None,
) -> dict[str, Any]:
    """Write the bundle for one appointment's chain and return its manifest.

    ``files`` maps each file's SHA-256 (hex) to its plaintext, as a path (streamed in,
    never loaded whole) or bytes. The chain must verify and every file must hash to its
    key, or :class:`BundleError` is raised and nothing is left at ``out_zip``.
    """
    if not records:
        raise BundleError("no evidence records to export")
    check = verify_chain(records)
    if not check.ok:
        raise BundleError(f"the evidence chain is broken: {check.reason}")
    ref = records[0].appointment_ref
    last = records[-1]
    when = _zip_time(last.at)
    out_zip = Path(out_zip)
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_zip.with_name(out_zip.name + ".part")
    sums: list[tuple[str, str]] = []
    file_entries: list[dict[str, Any]] = []
    try:
        # The bundle holds the citizen's documents: readable by the service's user only.
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        os.chmod(tmp, 0o600)
        with zipfile.ZipFile(tmp, "w", allowZip64=True) as zf:
            for sha in sorted(files):
                if not _HEX64.match(sha):
                    raise BundleError(f"file key {sha!r} is not a lowercase SHA-256 hex digest")
                source = files[sha]
                if isinstance(source, bytes | bytearray | memoryview):
                    data = bytes(source)
                    ext = _sniff_ext(data[:64], None)
                    src: io.BufferedIOBase = io.BytesIO(data)
                    expected_size = len(data)
                else:
                    path = Path(source)
                    with open(path, "rb") as fh:
                        head = fh.read(64)
                    ext = _sniff_ext(head, path.suffix.lower().lstrip(".") or None)
                    src = open(path, "rb")  # noqa: SIM115 - closed below
                    expected_size = path.stat().st_size
                name = f"{FILES_DIR}{sha}.{ext}"
                try:
                    with zf.open(
                        _zinfo(name, when, stored=True), "w", force_zip64=expected_size > 2**31
                    ) as dst:
                        digest, size = _copy_hashing(src, dst)
                finally:
                    src.close()
                if digest != sha:
                    raise BundleError(f"file {sha} does not match its hash (it hashes to {digest})")
                sums.append((digest, name))
                file_entries.append(
                    {
                        "sha256": sha,
                        "size": size,
                        "path": name,
                        "referenced_by": _referenced_by(records, sha),
                    }
                )

            events = b"".join(canonical_json(record_to_dict(r)) + b"\n" for r in records)
            sealed, seal_lines = anchor_entries(records, anchors) if anchors else ([], [])
            manifest: dict[str, Any] = {
                "format": BUNDLE_FORMAT,
                "version": BUNDLE_VERSION,
                "appointment": ref,
                "record_count": len(records),
                "first_at": records[0].at,
                "last_at": last.at,
                "last_hash": last.hash,
                "hash_rule": "hash = sha256(prev_hash + canonical_json(record without hash)); "
                "canonical_json = sorted keys, no spaces, UTF-8; first prev_hash = 64 zeros",
                "files": file_entries,
                "seals": seal_lines,
            }
            if created_at is not None:
                manifest["created_at"] = created_at.isoformat()
            manifest_bytes = json.dumps(manifest, indent=2, ensure_ascii=False).encode() + b"\n"
            note = readme(note_language, ref, len(records), last.hash, seal_lines)
            small = [(MANIFEST, manifest_bytes), (EVENTS, events), (README, note.encode())]
            for name, payload in [*small, *sealed]:
                zf.writestr(_zinfo(name, when, stored=False), payload)
                sums.append((hashlib.sha256(payload).hexdigest(), name))
            sums_text = "".join(f"{h}  {n}\n" for h, n in sorted(sums, key=lambda s: s[1]))
            zf.writestr(_zinfo(SUMS, when, stored=False), sums_text.encode("ascii"))
        os.replace(tmp, out_zip)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return manifest


def _zip_time(at: str) -> tuple[int, int, int, int, int, int]:
    try:
        dt = datetime.strptime(at[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return (1980, 1, 1, 0, 0, 0)
    if dt.year < 1980:
        return (1980, 1, 1, 0, 0, 0)
    return (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second)


# ---------------------------------------------------------------- verify


class _Problem(Exception):
    pass


def _hash_member(zf: zipfile.ZipFile, raw: io.FileIO, info: zipfile.ZipInfo) -> str:
    """SHA-256 of one entry's content, streamed.

    Stored (uncompressed) entries are hashed straight from the archive bytes after checking
    the local header matches the central directory, skipping zipfile's per-read CRC; the
    SHA-256 is the stronger check anyway. Other entries go through zipfile.
    """
    digest = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    if info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & 0x1:
        raw.seek(info.header_offset)
        header = raw.read(_LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size:
            raise _Problem(f"{info.filename}: truncated entry")
        fields = _LOCAL_HEADER.unpack(header)
        sig, flags, method, name_len, extra_len = (fields[i] for i in (0, 2, 3, 9, 10))
        if sig != b"PK\x03\x04" or method != zipfile.ZIP_STORED or flags & 0x1:
            raise _Problem(f"{info.filename}: damaged zip entry")
        if info.compress_size != info.file_size:
            raise _Problem(f"{info.filename}: damaged zip entry")
        name = raw.read(name_len)
        if name.decode("utf-8" if flags & 0x800 else "cp437") != info.filename:
            raise _Problem(f"{info.filename}: damaged zip entry")
        raw.seek(extra_len, os.SEEK_CUR)
        remaining = info.compress_size
        while remaining > 0:
            n = raw.readinto(view[: min(CHUNK, remaining)])
            if not n:
                raise _Problem(f"{info.filename}: truncated entry")
            digest.update(view[:n])
            remaining -= n
        return digest.hexdigest()
    with zf.open(info) as fh:
        while True:
            chunk = fh.read(CHUNK)
            if not chunk:
                break
            digest.update(chunk)
    return digest.hexdigest()


def _read_small(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > MAX_SMALL_ENTRY:
        raise _Problem(f"{info.filename}: too large")
    try:
        return zf.read(info)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _Problem(f"{info.filename}: damaged zip entry") from exc


def _parse_events(data: bytes) -> list[EvidenceRecord]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Problem(f"{EVENTS}: not UTF-8 text") from exc
    records: list[EvidenceRecord] = []
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except ValueError as exc:
            raise _Problem(f"{EVENTS} line {n}: not valid JSON") from exc
        try:
            records.append(record_from_dict(raw))
        except ValueError as exc:
            raise _Problem(f"{EVENTS} line {n}: {exc}") from exc
    return records


def _check_manifest(
    manifest: Any, records: list[EvidenceRecord], expected_last_hash: str | None
) -> list[dict[str, Any]]:
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise _Problem(f"{MANIFEST}: not a videotramit evidence manifest")
    if manifest.get("version") != BUNDLE_VERSION:
        raise _Problem(f"{MANIFEST}: unsupported version {manifest.get('version')!r}")
    ref = records[0].appointment_ref if records else None
    if manifest.get("appointment") != ref:
        raise _Problem(f"{MANIFEST}: appointment does not match the events")
    if manifest.get("record_count") != len(records):
        raise _Problem(
            f"{MANIFEST}: {manifest.get('record_count')!r} records listed, {len(records)} found"
        )
    last = records[-1].hash if records else None
    if manifest.get("last_hash") != last:
        raise _Problem(f"{MANIFEST}: last hash does not match the events")
    if expected_last_hash is not None and last != expected_last_hash:
        raise _Problem("last hash differs from the one on record")
    files = manifest.get("files")
    if not isinstance(files, list):
        raise _Problem(f"{MANIFEST}: files is not a list")
    for entry in files:
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("sha256"), str)
            or not isinstance(entry.get("size"), int)
            or not isinstance(entry.get("path"), str)
        ):
            raise _Problem(f"{MANIFEST}: malformed file entry")
        m = _FILE_PATH.match(entry["path"])
        if not m or m.group(1) != entry["sha256"]:
            raise _Problem(f"{MANIFEST}: file path {entry['path']!r} does not match its sha256")
    return files


def _parse_sums(data: bytes) -> dict[str, str]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Problem(f"{SUMS}: not text") from exc
    sums: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        m = _SUM_LINE.match(line)
        if not m:
            raise _Problem(f"{SUMS} line {n}: not '<sha256>  <path>'")
        if m.group(2) in sums:
            raise _Problem(f"{SUMS}: {m.group(2)} listed twice")
        sums[m.group(2)] = m.group(1)
    return sums


def _verify(
    zip_path: Path,
    expected_last_hash: str | None,
    public_key: bytes | None,
    trusted_tsa: bytes | None,
    head: str | None,
) -> BundleCheck:
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _Problem("not a readable zip file") from exc
    with zf, open(zip_path, "rb", buffering=0) as raw:
        infos: dict[str, zipfile.ZipInfo] = {}
        for info in zf.infolist():
            name = info.filename
            if name.startswith("/") or ".." in name.split("/") or "\\" in name:
                raise _Problem(f"zip: unsafe entry name {name!r}")
            if name in infos:
                raise _Problem(f"zip: entry {name} appears twice")
            if not info.is_dir():
                infos[name] = info
        for required in (EVENTS, MANIFEST, SUMS):
            if required not in infos:
                raise _Problem(f"missing {required}")

        records = _parse_events(_read_small(zf, infos[EVENTS]))
        if not records:
            raise _Problem(f"{EVENTS}: no records")
        chain = verify_chain(records)
        if not chain.ok:
            raise _Problem(chain.reason or "evidence chain broken")

        try:
            manifest = json.loads(_read_small(zf, infos[MANIFEST]).decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise _Problem(f"{MANIFEST}: not valid JSON") from exc
        file_entries = _check_manifest(manifest, records, expected_last_hash)

        computed: dict[str, str] = {}
        listed: set[str] = set()
        for entry in file_entries:
            sha, path = entry["sha256"], entry["path"]
            listed.add(path)
            member = infos.get(path)
            if member is None:
                raise _Problem(f"file {sha}: missing from the bundle")
            if member.file_size != entry["size"]:
                raise _Problem(f"file {sha}: size differs from the manifest")
            try:
                digest = _hash_member(zf, raw, member)
            except (zipfile.BadZipFile, OSError) as exc:
                raise _Problem(f"file {sha}: damaged zip entry") from exc
            if digest != sha:
                raise _Problem(f"file {sha}: content altered")
            computed[path] = digest
        for name in sorted(infos):
            if name.startswith(FILES_DIR) and name not in listed:
                raise _Problem(f"{name}: not listed in {MANIFEST}")

        sums = _parse_sums(_read_small(zf, infos[SUMS]))
        for name in sorted(infos):
            if name != SUMS and name not in sums:
                raise _Problem(f"{name}: not listed in {SUMS}")
        for name, expected in sorted(sums.items()):
            listed_member = infos.get(name)
            if listed_member is None:
                raise _Problem(f"{SUMS}: lists {name}, which is missing")
            actual = computed.get(name)
            if actual is None:
                actual = hashlib.sha256(_read_small(zf, listed_member)).hexdigest()
            if actual != expected:
                raise _Problem(f"{name}: does not match {SUMS}")

        if head is not None and head not in {r.hash for r in records}:
            raise _Problem(f"the head you were given ({head[:16]}…) is not in this chain")

        def read(name: str) -> bytes | None:
            info = infos.get(name)
            return None if info is None else _read_small(zf, info)

        try:
            anchors = check_anchors(records, read, public_key=public_key, trusted_tsa=trusted_tsa)
        except AnchorProblem as exc:
            raise _Problem(str(exc)) from exc
        return BundleCheck(
            ok=True,
            first_problem=None,
            appointment_ref=records[0].appointment_ref,
            records=len(records),
            files=len(file_entries),
            last_hash=records[-1].hash,
            key_fingerprint=anchors.key_fingerprint,
            key_from_bundle=anchors.key_from_bundle,
            seals=anchors.seals,
            timestamps=tuple(anchors.timestamps),
            proofs=anchors.proofs,
            notes=tuple(anchors.notes),
        )


def verify_bundle(
    zip_path: Path | str,
    *,
    expected_last_hash: str | None = None,
    public_key: bytes | None = None,
    trusted_tsa: bytes | None = None,
    head: str | None = None,
) -> BundleCheck:
    """Re-check a bundle: the chain, every file's hash (streamed), the manifest, SHA256SUMS,
    then what an insider cannot recompute: every seal's signature with ``public_key`` (the
    council's published key; without it, the key inside the bundle, which proves only that
    the bundle is consistent), the time-stamps, and the inclusion proofs in the signed
    daily roots. The chain must end with a seal.

    Returns ``BundleCheck(ok=False, first_problem=...)`` naming the first broken thing, e.g.
    ``record 7: hash mismatch``, ``file <sha>: content altered``, ``records 4 and 5 out of
    order``, ``record 31: the council's signature does not verify``. ``expected_last_hash``
    anchors the chain's end; ``head`` (the value the citizen was given) must be one of the
    chain's records.
    """
    try:
        return _verify(Path(zip_path), expected_last_hash, public_key, trusted_tsa, head)
    except _Problem as exc:
        return BundleCheck(ok=False, first_problem=str(exc))
