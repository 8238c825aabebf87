"""Evidence bundles: export, verify, tampering, and `sha256sum -c` on the extracted zip."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from domain.evidence import (
    EventKind,
    EvidenceRecord,
    canonical_json,
    next_record,
    record_to_dict,
)
from storage.evidence_bundle import BundleError, export_bundle, verify_bundle
from tests.evidence_kit import anchors, sealed

FIXTURE_VIDEO = (
    Path(__file__).resolve().parents[1]
    / "fixtures/jibri/vt-7tq3xkz2m4pwa5hcd6rnfy2ejb"
    / "vt-7tq3xkz2m4pwa5hcd6rnfy2ejb_2025-03-14-10-00-05.mp4"
)
REF = "VT-2025-000123"
T0 = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 120, 40)).save(buf, "JPEG")
    return buf.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def evidence() -> tuple[list[EvidenceRecord], dict[str, Path | bytes]]:
    jpeg = _jpeg()
    video_sha = sha(FIXTURE_VIDEO.read_bytes())
    files: dict[str, Path | bytes] = {sha(jpeg): jpeg, sha(PDF): PDF, video_sha: FIXTURE_VIDEO}
    plan: list[tuple[EventKind, dict[str, object]]] = [
        (EventKind.BOOKED, {"procedure": "padro_alta"}),
        (EventKind.REMINDED, {"channel": "telegram"}),
        (EventKind.SESSION_STARTED, {"room": "vt-7tq3xkz2m4pwa5hcd6rnfy2ejb"}),
        (EventKind.RECORDING_STARTED, {}),
        (EventKind.IDENTITY_VALIDATED, {"doc_type": "dni", "number": "****678Z"}),
        (EventKind.DOCUMENT_RECEIVED, {"sha256": sha(jpeg), "name": "padró.jpg"}),
        (EventKind.DATA_FILLED, {"fields": {"address": "Carrer Major, 1"}}),
        (EventKind.SUMMARY_SENT, {"text_sha256": sha(b"summary")}),
        (EventKind.CITIZEN_AGREED, {}),
        (EventKind.RECEIPT_ISSUED, {"sha256": sha(PDF)}),
        (EventKind.SESSION_ENDED, {}),
        (EventKind.RECORDING_INGESTED, {"sha256": video_sha, "size": 7548}),
    ]
    records: list[EvidenceRecord] = []
    prev = None
    for i, (kind, data) in enumerate(plan):
        prev = next_record(
            prev,
            appointment_ref=REF,
            kind=kind,
            at=T0 + timedelta(minutes=i),
            actor="system",
            data=data,
        )
        records.append(prev)
    return sealed(records, T0 + timedelta(minutes=len(plan))), files


@pytest.fixture
def bundle(tmp_path: Path, evidence: tuple[list[EvidenceRecord], dict[str, Path | bytes]]) -> Path:
    records, files = evidence
    out = tmp_path / "out" / "bundle.zip"
    export_bundle(records, files, out, anchors=anchors())
    return out


def rewrite(src: Path, dst: Path, change: Callable[[str, bytes], bytes | None]) -> Path:
    """Copy a zip, letting ``change`` alter (or drop, with None) each entry's content."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = change(info.filename, zin.read(info))
            if data is not None:
                zout.writestr(info, data)
    return dst


def edit_lines(data: bytes, edit: Callable[[list[bytes]], object]) -> bytes:
    lines = data.splitlines()
    edit(lines)
    return b"".join(line + b"\n" for line in lines)


def test_export_then_verify(bundle: Path, evidence: tuple[list[EvidenceRecord], dict]) -> None:
    records, files = evidence
    check = verify_bundle(bundle)
    assert check.ok, check.first_problem
    assert check.first_problem is None
    assert (check.appointment_ref, check.records, check.files) == (REF, 13, 3)
    assert check.last_hash == records[-1].hash
    assert verify_bundle(bundle, expected_last_hash=records[-1].hash).ok

    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
        events = zf.read("events.jsonl").decode()
        readme = zf.read("README.txt").decode()
        for name in names:
            if name.startswith("files/"):
                assert zf.getinfo(name).compress_type == zipfile.ZIP_STORED
    assert {"manifest.json", "events.jsonl", "SHA256SUMS", "README.txt"} <= names
    assert manifest["appointment"] == REF
    assert manifest["record_count"] == 13
    assert manifest["last_hash"] == records[-1].hash
    assert {f["sha256"] for f in manifest["files"]} == set(files)
    by_sha = {f["sha256"]: f for f in manifest["files"]}
    video_sha = sha(FIXTURE_VIDEO.read_bytes())
    assert by_sha[video_sha]["path"] == f"files/{video_sha}.mp4"
    assert by_sha[video_sha]["size"] == FIXTURE_VIDEO.stat().st_size
    assert by_sha[video_sha]["referenced_by"] == [12]
    assert by_sha[sha(PDF)]["path"].endswith(".pdf")
    assert any(f["path"].endswith(".jpg") for f in manifest["files"])
    lines = events.splitlines()
    assert len(lines) == 13
    for line, rec in zip(lines, records, strict=True):
        assert line.encode() == canonical_json(record_to_dict(rec))
    assert "sha256sum -c SHA256SUMS" in readme
    assert "videotramit evidence verify bundle.zip" in readme
    assert records[-1].hash in readme


def test_export_is_deterministic(
    tmp_path: Path, evidence: tuple[list[EvidenceRecord], dict]
) -> None:
    records, files = evidence
    a, b = tmp_path / "a.zip", tmp_path / "b.zip"
    export_bundle(records, files, a)
    export_bundle(records, files, b)
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="sha256sum not installed")
def test_sha256sum_checks_the_extracted_bundle(bundle: Path, tmp_path: Path) -> None:
    folder = tmp_path / "extracted"
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(folder)
    result = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # 3 files + manifest, events, README, the council's key, the seal's statement and signature
    assert result.stdout.count(": OK") == 3 + 3 + 3

    video = next(folder.glob("files/*.mp4"))
    video.write_bytes(video.read_bytes()[:-1] + b"\x00")
    result = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0
    assert "FAILED" in result.stdout


def test_tampered_file_detected(bundle: Path, tmp_path: Path) -> None:
    video_sha = sha(FIXTURE_VIDEO.read_bytes())

    def flip(name: str, data: bytes) -> bytes:
        if name == f"files/{video_sha}.mp4":
            return data[:100] + bytes([data[100] ^ 1]) + data[101:]
        return data

    check = verify_bundle(rewrite(bundle, tmp_path / "t.zip", flip))
    assert not check.ok
    assert check.first_problem == f"file {video_sha}: content altered"


def test_tampered_file_compressed_entry_detected(bundle: Path, tmp_path: Path) -> None:
    pdf_sha = sha(PDF)
    src = tmp_path / "t.zip"
    with zipfile.ZipFile(bundle) as zin, zipfile.ZipFile(src, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == f"files/{pdf_sha}.pdf":
                info.compress_type = zipfile.ZIP_DEFLATED  # not stored: the slow path
                data = data.replace(b"trailer", b"Trailer")
            zout.writestr(info, data)
    assert verify_bundle(src).first_problem == f"file {pdf_sha}: content altered"


def test_tampered_record_line_detected(bundle: Path, tmp_path: Path) -> None:
    def change(name: str, data: bytes) -> bytes:
        if name != "events.jsonl":
            return data

        def edit(lines: list[bytes]) -> None:
            raw = json.loads(lines[6])
            raw["data"] = {"fields": {"address": "Carrer Fals, 99"}}
            lines[6] = canonical_json(raw)

        return edit_lines(data, edit)

    check = verify_bundle(rewrite(bundle, tmp_path / "t.zip", change))
    assert check.first_problem == "record 7: hash mismatch"


def test_swapped_record_lines_detected(bundle: Path, tmp_path: Path) -> None:
    def change(name: str, data: bytes) -> bytes:
        if name != "events.jsonl":
            return data

        def edit(lines: list[bytes]) -> None:
            lines[3], lines[4] = lines[4], lines[3]

        return edit_lines(data, edit)

    check = verify_bundle(rewrite(bundle, tmp_path / "t.zip", change))
    assert check.first_problem == "records 4 and 5 out of order"


def test_removed_record_line_detected(bundle: Path, tmp_path: Path) -> None:
    def change(name: str, data: bytes) -> bytes:
        if name != "events.jsonl":
            return data
        return edit_lines(data, lambda lines: lines.pop(4))

    check = verify_bundle(rewrite(bundle, tmp_path / "t.zip", change))
    assert check.first_problem == "record 5 missing"


def test_removed_last_record_detected_by_manifest(bundle: Path, tmp_path: Path) -> None:
    def change(name: str, data: bytes) -> bytes:
        if name != "events.jsonl":
            return data
        return edit_lines(data, lambda lines: lines.pop())

    check = verify_bundle(rewrite(bundle, tmp_path / "t.zip", change))
    assert check.first_problem == "manifest.json: 13 records listed, 12 found"


def test_removed_file_detected(bundle: Path, tmp_path: Path) -> None:
    pdf_sha = sha(PDF)

    def drop(name: str, data: bytes) -> bytes | None:
        return None if name == f"files/{pdf_sha}.pdf" else data

    check = verify_bundle(rewrite(bundle, tmp_path / "t.zip", drop))
    assert check.first_problem == f"file {pdf_sha}: missing from the bundle"


def test_extra_file_detected(bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.zip"
    shutil.copy(bundle, out)
    with zipfile.ZipFile(out, "a") as zf:
        zf.writestr("files/" + "a" * 64 + ".bin", b"planted")
    check = verify_bundle(out)
    assert check.first_problem == f"files/{'a' * 64}.bin: not listed in manifest.json"


def test_readme_change_detected(bundle: Path, tmp_path: Path) -> None:
    def change(name: str, data: bytes) -> bytes:
        return data.replace(b"EVIDENCE", b"EVIDENCIA") if name == "README.txt" else data

    check = verify_bundle(rewrite(bundle, tmp_path / "t.zip", change))
    assert check.first_problem == "README.txt: does not match SHA256SUMS"


def test_manifest_change_detected(bundle: Path, tmp_path: Path) -> None:
    def change(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["appointment"] = "VT-OTHER"
        return json.dumps(manifest).encode()

    check = verify_bundle(rewrite(bundle, tmp_path / "t.zip", change))
    assert check.first_problem == "manifest.json: appointment does not match the events"


def test_duplicate_entry_detected(bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.zip"
    shutil.copy(bundle, out)
    with zipfile.ZipFile(out, "a") as zf, pytest.warns(UserWarning):
        zf.writestr("events.jsonl", b"")
    assert verify_bundle(out).first_problem == "zip: entry events.jsonl appears twice"


def test_expected_last_hash_anchor(bundle: Path) -> None:
    check = verify_bundle(bundle, expected_last_hash="0" * 64)
    assert check.first_problem == "last hash differs from the one on record"


def test_not_a_zip(tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"hello")
    assert verify_bundle(junk).first_problem == "not a readable zip file"
    assert verify_bundle(tmp_path / "missing.zip").first_problem == "not a readable zip file"


def test_missing_events(bundle: Path, tmp_path: Path) -> None:
    out = rewrite(bundle, tmp_path / "t.zip", lambda n, d: None if n == "events.jsonl" else d)
    assert verify_bundle(out).first_problem == "missing events.jsonl"


def test_export_refuses_a_broken_chain(
    tmp_path: Path, evidence: tuple[list[EvidenceRecord], dict]
) -> None:
    records, files = evidence
    broken = records[:3] + records[4:]
    out = tmp_path / "b.zip"
    with pytest.raises(BundleError, match="record 4 missing"):
        export_bundle(broken, files, out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(BundleError):
        export_bundle([], files, out)


def test_export_refuses_a_file_not_matching_its_hash(
    tmp_path: Path, evidence: tuple[list[EvidenceRecord], dict]
) -> None:
    records, _ = evidence
    out = tmp_path / "b.zip"
    with pytest.raises(BundleError, match="does not match its hash"):
        export_bundle(records, {sha(b"one"): b"two"}, out)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(BundleError):
        export_bundle(records, {"NOT-A-HASH": b"x"}, out)


def test_large_file_streamed(tmp_path: Path, evidence: tuple[list[EvidenceRecord], dict]) -> None:
    records, _ = evidence
    big = tmp_path / "recording.mp4"
    block = hashlib.sha256(b"seed").digest() * 32768  # 1 MiB
    with open(big, "wb") as fh:
        for i in range(5):
            fh.write(bytes([i]) + block[1:])
    digest = hashlib.sha256(big.read_bytes()).hexdigest()
    out = tmp_path / "big.zip"
    manifest = export_bundle(records, {digest: big}, out, anchors=anchors())
    assert manifest["files"][0]["size"] == 5 * 1024 * 1024
    assert manifest["files"][0]["path"] == f"files/{digest}.mp4"
    assert verify_bundle(out).ok


@pytest.mark.parametrize(
    ("lang", "word"),
    [("ca", "Obteniu la clau"), ("es", "Obtenga la clave"), ("en", "Get the council")],
)
def test_readme_languages(
    tmp_path: Path, evidence: tuple[list[EvidenceRecord], dict], lang: str, word: str
) -> None:
    records, files = evidence
    out = tmp_path / f"{lang}.zip"
    export_bundle(records, files, out, note_language=lang, anchors=anchors())
    with zipfile.ZipFile(out) as zf:
        assert word in zf.read("README.txt").decode()
    assert verify_bundle(out).ok


def test_an_exported_bundle_is_readable_by_its_owner_only(bundle: Path) -> None:
    import stat

    assert stat.S_IMODE(bundle.stat().st_mode) == 0o600
