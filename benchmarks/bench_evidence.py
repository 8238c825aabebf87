"""Verifying an evidence bundle vs the ``sha256sum`` binary over the same bytes.

An appointment with 1,000 events and a 100 MB recording, its chain sealed with an Ed25519
key and its seal included in a signed daily root (one of 10,000 seals, so the inclusion
proof has its full length), is exported to a bundle in a temporary directory;
``verify_bundle`` with the public key (what ``videotramit evidence verify BUNDLE.zip --key
K`` runs: chain, files, SHA256SUMS, signatures, inclusion proof) is timed against
``sha256sum`` over the bundle file, in the same run, best of 3 each, warm page cache for
both. Target: ratio <= 1.1.

Prints ``BENCH evidence_verify <s> s ratio=<verify/sha256sum>`` and
``BENCH evidence_export <s> s``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from domain.evidence import EventKind, EvidenceRecord, format_at, next_record
from domain.seals import inclusion_proof, merkle_root, seal_record
from storage.bundle_seals import Anchors, JournalEntry
from storage.evidence_bundle import export_bundle, verify_bundle
from storage.evidence_keys import EvidenceSigner

EVENTS = 1000
VIDEO_BYTES = 100 * 1000 * 1000
ROUNDS = 3


def _make_video(path: Path) -> str:
    digest = hashlib.sha256()
    block = bytearray(os.urandom(1024 * 1024))
    written = 0
    with open(path, "wb") as fh:
        fh.write(b"\x00\x00\x00\x18ftypmp42")  # looks like an MP4 to the exporter
        digest.update(b"\x00\x00\x00\x18ftypmp42")
        written = 12
        i = 0
        while written < VIDEO_BYTES:
            block[0:8] = i.to_bytes(8, "little")  # random-ish, never repeating
            chunk = memoryview(block)[: min(len(block), VIDEO_BYTES - written)]
            fh.write(chunk)
            digest.update(chunk)
            written += len(chunk)
            i += 1
    return digest.hexdigest()


def _chain(video_sha: str) -> list[EvidenceRecord]:
    kinds = [k for k in EventKind if k is not EventKind.CHAIN_SEALED]
    t0 = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
    records: list[EvidenceRecord] = []
    prev = None
    for i in range(EVENTS):
        last = i == EVENTS - 1
        prev = next_record(
            prev,
            appointment_ref="VT-BENCH-0001",
            kind=EventKind.RECORDING_INGESTED if last else kinds[i % len(kinds)],
            at=t0 + timedelta(seconds=i),
            actor="staff:bench",
            data={"sha256": video_sha} if last else {"i": i, "note": "pàgina"},
        )
        records.append(prev)
    return records


def _anchors(records: list[EvidenceRecord], signer: EvidenceSigner) -> Anchors:
    """The seal among 9,999 others of its day, and that day's signed root."""
    day = "2025-03-14"
    others = [f"{i:064x}" for i in range(9_999)]
    seal_hash = records[-1].hash
    leaves = [*others, seal_hash]
    draft = JournalEntry(
        day,
        len(leaves),
        merkle_root(leaves),
        "0" * 64,
        format_at(datetime(2025, 3, 15, tzinfo=UTC)),
        signer.fingerprint,
        "",
    )
    signature = base64.b64encode(signer.sign(draft.statement)).decode()
    entry = JournalEntry(**{**draft.__dict__, "signature": signature})
    return Anchors(
        public_key_pem=signer.public_pem(),
        journal={day: entry},
        proofs={seal_hash: inclusion_proof(day, leaves, seal_hash)},
    )


def _best(fn: Callable[[], None], rounds: int = ROUNDS) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    sha256sum = shutil.which("sha256sum")
    with tempfile.TemporaryDirectory(prefix="vt-bench-") as tmp:
        root = Path(tmp)
        video = root / "recording.mp4"
        video_sha = _make_video(video)
        signer = EvidenceSigner.generate()
        body = _chain(video_sha)
        end = datetime(2025, 3, 14, 11, tzinfo=UTC)
        records = [*body, seal_record(body[-1], at=end, key=signer.fingerprint, sign=signer.sign)]
        anchors = _anchors(records, signer)
        key = signer.public_pem().encode()
        bundle = root / "bundle.zip"
        t0 = time.perf_counter()
        export_bundle(records, {video_sha: video}, bundle, anchors=anchors)
        export_s = time.perf_counter() - t0
        video.unlink()

        def run_verify() -> None:
            check = verify_bundle(bundle, public_key=key)
            if not check.ok or check.proofs != 1 or check.seals != 1:
                raise SystemExit(f"bench bundle did not verify: {check.first_problem}")

        def run_sha256sum() -> None:
            assert sha256sum is not None
            subprocess.run([sha256sum, str(bundle)], check=True, capture_output=True, timeout=120)

        run_verify()  # warm the page cache
        verify_s = _best(run_verify)
        if sha256sum is None:
            print(f"BENCH evidence_verify {verify_s:.3f} s ratio=n/a (no sha256sum)")
        else:
            sum_s = _best(run_sha256sum)
            print(f"BENCH evidence_verify {verify_s:.3f} s ratio={verify_s / sum_s:.2f}")
        print(f"BENCH evidence_export {export_s:.3f} s")


if __name__ == "__main__":
    main()
