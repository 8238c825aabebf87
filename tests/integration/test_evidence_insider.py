"""Evidence that holds against an insider: whoever can write the database or the bundle
and recomputes every hash is still caught, because the chain's heads are signed with the
council's key, time-stamped by an outside authority and gathered in a signed daily root.

Each test is one attack (or the untouched case), run on a real session's evidence."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import zipfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from sqlalchemy import select

from bot.app import App
from bot.cli import main
from bot.evidence_anchor import journal_closed_days, timestamp_seals
from bot.evidence_ops import export_reference, verify_reference
from domain.evidence import (
    EventKind,
    EvidenceRecord,
    canonical_json,
    next_record,
    record_from_dict,
    record_to_dict,
)
from domain.seals import seal_record
from storage.bundle_seals import Anchors
from storage.evidence_bundle import export_bundle, verify_bundle
from storage.evidence_keys import EvidenceSigner
from storage.models import EvidenceRow
from tests.evidence_kit import council_pem
from tests.session_kit import full_session
from tests.support import EVIDENCE_KEY, Clock, office_settings, ready_app

# ---------------------------------------------------------------- a local TSA


class LocalTsa:
    """An RFC 3161 authority on 127.0.0.1 (pyHanko's test time-stamper behind HTTP),
    dating its answers by the test's clock (or by `lag` before it)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.lag = dt.timedelta(0)
        moment = clock.now()
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(moment - dt.timedelta(days=1))
            .not_valid_after(moment + dt.timedelta(days=365))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), True)
            .sign(key, hashes.SHA256())
        )
        self.cert_der = cert.public_bytes(serialization.Encoding.DER)
        self.cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        self._cert = asn1_x509.Certificate.load(self.cert_der)
        self._key = asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        self.requests = 0

    async def answer(self, request: web.Request) -> web.Response:
        self.requests += 1
        query = tsp.TimeStampReq.load(await request.read())
        stamper = DummyTimeStamper(self._cert, self._key, fixed_dt=self.clock.now() - self.lag)
        reply = stamper.request_tsa_response(query).dump()
        return web.Response(body=reply, content_type="application/timestamp-reply")


@pytest.fixture
async def tsa(clock: Clock) -> AsyncIterator[tuple[LocalTsa, str]]:
    authority = LocalTsa(clock)
    server = web.Application()
    server.router.add_post("/tsa", authority.answer)
    runner = web.AppRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield authority, f"http://127.0.0.1:{port}/tsa"
    await runner.cleanup()


@pytest.fixture
async def app(tmp_path: Path, clock: Clock, tsa: tuple[LocalTsa, str]) -> AsyncIterator[App]:
    authority, url = tsa
    (tmp_path / "tsa.pem").write_bytes(authority.cert_pem)
    settings = office_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'vt.db'}",
        tmp_path / "data",
        evidence={
            "signing_key": EVIDENCE_KEY,
            "tsa_url": url,
            "tsa_timeout_seconds": 5,
            "tsa_certificate": str(tmp_path / "tsa.pem"),
        },
    )
    built, _ = await ready_app(settings, clock)
    yield built
    await built.close()


@pytest.fixture
async def sealed_bundle(app: App, clock: Clock, tmp_path: Path) -> tuple[str, Path]:
    """A whole session, its seal time-stamped, the day's root signed the next morning,
    and the bundle exported."""
    appointment = await full_session(app, clock)
    assert await timestamp_seals(app) == 1
    clock.set(clock.now() + dt.timedelta(days=1))
    [entry] = await journal_closed_days(app)
    assert entry.size == 1
    out = tmp_path / "bundle.zip"
    await export_reference(app, appointment.reference, out)
    return appointment.reference, out


# ---------------------------------------------------------------- rewriting a bundle


def bundle_records(path: Path) -> list[EvidenceRecord]:
    with zipfile.ZipFile(path) as zf:
        lines = zf.read("events.jsonl").decode().splitlines()
    return [record_from_dict(json.loads(line)) for line in lines if line]


def bundle_files(path: Path, into: Path) -> dict[str, Path | bytes]:
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if n.startswith("files/")]
        zf.extractall(into, names)
    return {Path(n).name.split(".")[0]: into / n for n in names}


def rechain(records: list[EvidenceRecord]) -> list[EvidenceRecord]:
    """Recompute every hash as an insider would; seals keep their (old) signature but are
    made to name the new head, so only the signature can tell."""
    rebuilt: list[EvidenceRecord] = []
    prev = None
    for rec in records:
        data = dict(rec.data)
        if rec.kind == EventKind.CHAIN_SEALED.value and prev is not None:
            data.update(head=prev.hash, head_seq=prev.seq)
        prev = next_record(
            prev,
            appointment_ref=rec.appointment_ref,
            kind=rec.kind,
            at=dt.datetime.fromisoformat(rec.at.replace("Z", "+00:00")),
            actor=rec.actor,
            data=data,
        )
        rebuilt.append(prev)
    return rebuilt


def rebuild(
    source: Path,
    tmp: Path,
    edit: Callable[[list[EvidenceRecord]], list[EvidenceRecord]],
    key_pem: str | None = None,
) -> Path:
    """A consistent rewrite: events edited, every hash, the manifest, the seals' files and
    SHA256SUMS redone with the project's own exporter."""
    records = edit(bundle_records(source))
    out = tmp / "rewritten.zip"
    with zipfile.ZipFile(source) as zf:
        bundled_key = zf.read("council-key.pem").decode()
    export_bundle(
        records,
        bundle_files(source, tmp / "x"),
        out,
        anchors=Anchors(public_key_pem=key_pem or bundled_key),
    )
    return out


def flip_agreement(records: list[EvidenceRecord]) -> list[EvidenceRecord]:
    changed = [
        EvidenceRecord(**{**r.__dict__, "kind": EventKind.CITIZEN_DECLINED.value})
        if r.kind == EventKind.CITIZEN_AGREED.value
        else r
        for r in records
    ]
    return rechain(changed)


def drop(kind: str) -> Callable[[list[EvidenceRecord]], list[EvidenceRecord]]:
    return lambda records: rechain([r for r in records if r.kind != kind])


def seq_of(records: list[EvidenceRecord], kind: str) -> int:
    return next(r.seq for r in records if r.kind == kind)


# ---------------------------------------------------------------- the tests


async def test_the_untouched_bundle_verifies_without_the_database(
    app: App, sealed_bundle: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reference, bundle = sealed_bundle
    check = verify_bundle(bundle, public_key=council_pem(), trusted_tsa=tsa_cert(tmp_path))
    assert check.ok, check.first_problem
    assert (check.seals, check.proofs, len(check.timestamps)) == (1, 1, 1)
    assert "Test TSA" in check.timestamps[0]
    # On a machine without the database: the CLI with only the zip and the published key.
    await app.close()
    shutil.rmtree(tmp_path / "data")
    (tmp_path / "vt.db").unlink()
    key = tmp_path / "council.pem"
    key.write_bytes(council_pem())
    argv = ["evidence", "verify", str(bundle), "--key", str(key)]
    assert await asyncio.to_thread(main, argv) == 0
    assert "intact" in capsys.readouterr().out
    head = bundle_records(bundle)[-1].hash
    assert await asyncio.to_thread(main, [*argv, "--head", head]) == 0
    assert await asyncio.to_thread(main, [*argv, "--head", "ab" * 32]) == 1


def tsa_cert(tmp_path: Path) -> bytes:
    from storage.timestamps import certificate_der

    return certificate_der((tmp_path / "tsa.pem").read_bytes())


async def test_verify_from_the_database_checks_the_seals(
    app: App, sealed_bundle: tuple[str, Path]
) -> None:
    reference, bundle = sealed_bundle
    check = await verify_reference(app, reference)
    assert check.ok, check.problem
    assert check.seals == 1
    # Personal values are committed with keyed fingerprints, never plain hashes.
    records = bundle_records(bundle)
    identity = next(r for r in records if r.kind == EventKind.IDENTITY_VALIDATED.value)
    assert identity.data["fingerprint"].startswith("hmac-sha256:")
    assert "12345678Z" not in json.dumps([r.data for r in records])
    filled = [r.data["hmac"] for r in records if r.kind == EventKind.DATA_FILLED.value]
    assert any(filled) and all(f.startswith("hmac-sha256:") for f in filled if f is not None)
    summary = next(r for r in records if r.kind == EventKind.SUMMARY_SENT.value)
    assert summary.data["text"].startswith("hmac-sha256:")


async def test_a_consistent_rewrite_of_the_database_is_caught(
    app: App, sealed_bundle: tuple[str, Path]
) -> None:
    """Flip `citizen_agreed` to `citizen_declined` in the database and recompute every
    hash (and the seal's head): the council's signature no longer verifies."""
    reference, _ = sealed_bundle
    async with app.sessions() as session, session.begin():
        rows = (await session.execute(select(EvidenceRow).order_by(EvidenceRow.seq))).scalars()
        rows = list(rows)
        records = rechain(
            flip_agreement(
                [EvidenceRecord(**{**_row(r), "appointment_ref": reference}) for r in rows]
            )
        )
        for row, record in zip(rows, records, strict=True):
            row.kind, row.data = record.kind, record.data
            row.prev_hash, row.hash = record.prev_hash, record.hash
    check = await verify_reference(app, reference)
    seal = records[-1].seq
    assert not check.ok
    assert check.problem.startswith(f"the seal of record {seal} (made on 2026-11-30)")
    # With the seals table made to agree, the day's signed root does not.
    async with app.sessions() as session, session.begin():
        from storage.models import EvidenceSealRow

        row = (await session.execute(select(EvidenceSealRow))).scalar_one()
        row.record_hash = records[-1].hash
    check = await verify_reference(app, reference)
    assert check.problem == "journal 2026-11-30: the seals of that day are not the ones signed"


def _row(row: EvidenceRow) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "kind": row.kind,
        "at": row.at,
        "actor": row.actor,
        "data": dict(row.data),
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }


async def test_a_truncated_database_chain_is_caught_by_the_seals_table(
    app: App, sealed_bundle: tuple[str, Path]
) -> None:
    reference, _ = sealed_bundle
    async with app.sessions() as session, session.begin():
        last = (
            await session.execute(select(EvidenceRow).order_by(EvidenceRow.seq.desc()).limit(1))
        ).scalar_one()
        await session.delete(last)
    check = await verify_reference(app, reference)
    assert not check.ok
    assert "is not in the chain" in check.problem


@pytest.mark.parametrize(
    ("attack", "expected"),
    [
        (flip_agreement, "the council's signature does not verify"),
        (drop(EventKind.IDENTITY_VALIDATED.value), "the council's signature does not verify"),
        (lambda rs: rechain(rs[:12]), "the chain is not sealed"),
        (
            lambda rs: rechain([rs[i] for i in (0, 2, 1, *range(3, len(rs)))]),
            "the council's signature does not verify",
        ),
    ],
    ids=["agreed-to-declined", "identity-removed", "truncated-to-12", "reordered"],
)
async def test_a_consistently_rewritten_bundle_is_caught(
    sealed_bundle: tuple[str, Path],
    tmp_path: Path,
    attack: Callable[[list[EvidenceRecord]], list[EvidenceRecord]],
    expected: str,
) -> None:
    _, bundle = sealed_bundle
    forged = rebuild(bundle, tmp_path, attack)
    # Hashes, manifest and SHA256SUMS are all consistent again...
    assert zipfile.ZipFile(forged).testzip() is None
    check = verify_bundle(forged, public_key=council_pem())
    assert not check.ok
    assert expected in (check.first_problem or "")


async def test_time_going_backwards_is_caught(
    sealed_bundle: tuple[str, Path], tmp_path: Path
) -> None:
    """The receipt dated back to the booking, every hash recomputed, the manifest and
    SHA256SUMS redone by hand (our exporter refuses such a chain)."""
    _, bundle = sealed_bundle
    records = bundle_records(bundle)
    i = seq_of(records, EventKind.RECEIPT_ISSUED.value) - 1
    records[i] = EvidenceRecord(**{**records[i].__dict__, "at": records[0].at})
    forged = rechain(records)
    events = b"".join(canonical_json(record_to_dict(r)) + b"\n" for r in forged)

    def manifest(data: bytes) -> bytes:
        return json.dumps({**json.loads(data), "last_hash": forged[-1].hash}).encode()

    step = replace_entry(bundle, tmp_path / "a.zip", "events.jsonl", lambda _: events)
    step = replace_entry(step, tmp_path / "b.zip", "manifest.json", manifest)
    check = verify_bundle(resum(step, tmp_path / "c.zip"), public_key=council_pem())
    assert check.first_problem == f"record {i + 1}: its time is before record {i}'s"


async def test_a_bundle_resigned_with_another_key_fails_with_the_councils(
    sealed_bundle: tuple[str, Path], tmp_path: Path
) -> None:
    _, bundle = sealed_bundle
    insider = EvidenceSigner.generate()

    def resign(records: list[EvidenceRecord]) -> list[EvidenceRecord]:
        body = [r for r in flip_agreement(records) if r.kind != EventKind.CHAIN_SEALED.value]
        at = dt.datetime.fromisoformat(body[-1].at.replace("Z", "+00:00"))
        return [*body, seal_record(body[-1], at=at, key=insider.fingerprint, sign=insider.sign)]

    forged = rebuild(bundle, tmp_path, resign, key_pem=insider.public_pem())
    assert verify_bundle(forged).ok  # consistent with the key it carries...
    check = verify_bundle(forged, public_key=council_pem())  # ...not with the council's
    assert not check.ok and "not with the key checked" in (check.first_problem or "")


async def test_a_wrong_public_key_fails(sealed_bundle: tuple[str, Path]) -> None:
    _, bundle = sealed_bundle
    other = EvidenceSigner.generate().public_pem().encode()
    check = verify_bundle(bundle, public_key=other)
    assert not check.ok and "not with the key checked" in (check.first_problem or "")


def replace_entry(src: Path, dst: Path, name: str, change: Callable[[bytes], bytes]) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, change(data) if info.filename == name else data)
    return dst


def resum(path: Path, out: Path) -> Path:
    """Redo SHA256SUMS for whatever the zip now holds (the insider's last step)."""
    import hashlib

    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(out, "w") as zout:
        sums = "".join(
            f"{hashlib.sha256(zin.read(n)).hexdigest()}  {n}\n"
            for n in sorted(zin.namelist())
            if n != "SHA256SUMS"
        )
        for info in zin.infolist():
            data = sums.encode() if info.filename == "SHA256SUMS" else zin.read(info)
            zout.writestr(info, data)
    return out


async def test_the_inclusion_proof_holds_against_the_days_signed_root(
    sealed_bundle: tuple[str, Path], tmp_path: Path
) -> None:
    _, bundle = sealed_bundle
    with zipfile.ZipFile(bundle) as zf:
        [proof_name] = [n for n in zf.namelist() if n.endswith(".proof.json")]
        [root_name] = [n for n in zf.namelist() if n.startswith("journal/") and "statement" in n]
        proof = json.loads(zf.read(proof_name))
        root = json.loads(zf.read(root_name))
    assert proof["size"] == root["size"] == 1 and proof["day"] == root["day"]

    def other_root(data: bytes) -> bytes:
        return json.dumps({**json.loads(data), "root": "00" * 32}, separators=(",", ":")).encode()

    forged = resum(
        replace_entry(bundle, tmp_path / "a.zip", root_name, other_root), tmp_path / "b.zip"
    )
    check = verify_bundle(forged, public_key=council_pem())
    assert f"{root_name.removesuffix('.statement')}: the council's signature does not verify" in (
        check.first_problem or ""
    )

    def other_path(data: bytes) -> bytes:
        return json.dumps({**json.loads(data), "path": ["11" * 32]}).encode()

    forged = resum(
        replace_entry(bundle, tmp_path / "c.zip", proof_name, other_path), tmp_path / "d.zip"
    )
    check = verify_bundle(forged, public_key=council_pem())
    assert "not included in the signed root" in (check.first_problem or "")


async def test_the_time_stamp_is_checked(sealed_bundle: tuple[str, Path], tmp_path: Path) -> None:
    _, bundle = sealed_bundle
    with zipfile.ZipFile(bundle) as zf:
        [tsr] = [n for n in zf.namelist() if n.endswith(".tsr")]
    forged = resum(
        replace_entry(bundle, tmp_path / "a.zip", tsr, lambda d: d[:-3] + bytes(3)),
        tmp_path / "b.zip",
    )
    check = verify_bundle(forged, public_key=council_pem())
    assert not check.ok and check.first_problem and check.first_problem.startswith(tsr)
    # Only the pinned authority is accepted.
    other = LocalTsa(Clock()).cert_der
    check = verify_bundle(bundle, public_key=council_pem(), trusted_tsa=other)
    assert "another authority" in (check.first_problem or "")


async def test_a_time_stamp_dated_before_the_seal_is_time_going_backwards(
    app: App, clock: Clock, tsa: tuple[LocalTsa, str], tmp_path: Path
) -> None:
    authority, _ = tsa
    authority.lag = dt.timedelta(hours=2)  # the authority says it was two hours earlier
    appointment = await full_session(app, clock)
    assert await timestamp_seals(app) == 1
    out = tmp_path / "late.zip"
    await export_reference(app, appointment.reference, out)
    check = verify_bundle(out, public_key=council_pem())
    assert "time goes backwards" in (check.first_problem or "")
