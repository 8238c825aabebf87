"""The concrete outside world behind handlers.ports.Services: encrypted document storage,
Jitsi links, Jibri, the receipt renderer and signed file links. Built by bot/app.py."""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.links import LinkSigner, derive_link_key
from config.settings import ConfigError, IntakeSettings, Settings
from documents.chart import StatisticsChart
from documents.sandbox import Sandbox, SandboxLimits
from domain.model import Appointment
from handlers.messages import Checked, InFile
from handlers.ports import (
    AcceptedDocument,
    DocumentRejected,
    IdentityPhoto,
    MeetingsNotConfigured,
    RecordingUnavailable,
    Services,
)
from jitsi.jibri import JibriBusy, JibriClient, JibriError, JibriLogin, JibriRefused
from jitsi.rooms import join_url, new_room_name
from jitsi.tokens import JitsiAuth, Participant, TokenError, mint_token, session_window
from storage.blobs import BlobStore, EncryptedFileBlobStore, Keyring, KeyringError
from storage.evidence_keys import EvidenceKeyError, EvidenceSigner, Fingerprinter

log = logging.getLogger("videotramit.services")


class StoredDocuments:
    """Documents checked in the sandbox's worker processes, then stored encrypted."""

    def __init__(
        self, blobs: BlobStore, max_bytes: int, sandbox: Sandbox, intake: IntakeSettings
    ) -> None:
        self.blobs = blobs
        self.sandbox = sandbox
        self._max_bytes = max_bytes
        self._intake = intake

    async def check(self, file: InFile) -> InFile:
        # Imaging and PDF libraries load on the first document, not at start (memory).
        from documents.intake import IntakeLimits, IntakeRejected

        if file.checked is not None:
            return file
        limits = IntakeLimits(
            max_bytes=self._max_bytes,
            max_scans=self._intake.max_scans,
            max_decoded_bytes=self._intake.max_decoded_mb * 1024 * 1024,
        )
        try:
            result = await self.sandbox.intake(file.data, file.name, limits)
        except IntakeRejected as refused:
            return replace(file, checked=Checked(refused=refused.reason))
        return replace(file, checked=Checked(document=result))

    async def accept(
        self, data: bytes, filename: str, *, checked: Checked | None = None
    ) -> AcceptedDocument:
        if checked is None:
            checked = (await self.check(InFile(name=filename, data=data))).checked
            assert checked is not None
        from documents.intake import IntakeResult

        if checked.refused:
            raise DocumentRejected(checked.refused)
        result = checked.document
        assert isinstance(result, IntakeResult)
        await self.blobs.put(result.data)
        return AcceptedDocument(
            sha256=result.sha256,
            filename=result.filename,
            content_type=result.content_type,
            size=len(result.data),
            pages=result.pages,
            warnings=result.warnings,
        )

    async def read(self, sha256: str) -> bytes:
        return await self.blobs.get(sha256)

    async def store(self, data: bytes) -> str:
        return await self.blobs.put(data)

    async def read_identity(self, sha256: str) -> IdentityPhoto:
        """The zone of a stored identity photo, read in the sandbox's workers (with their
        caps). Reads the normalised photo: upright, without metadata, already vetted by
        intake. The engine calls it between units of work, never inside one."""
        found = await self.sandbox.read_identity(await self.blobs.get(sha256))
        return IdentityPhoto(
            status=found.status.value,
            reading=found.reading,
            hint=found.hint.value if found.hint else None,
        )


class JitsiMeetings:
    def __init__(self, settings: Settings) -> None:
        self._jitsi = settings.jitsi
        self._auth: JitsiAuth | None = None

    def auth(self) -> JitsiAuth:
        if self._auth is None:
            self._auth = build_jitsi_auth(self._jitsi)
        return self._auth

    def new_room(self) -> str:
        return new_room_name()

    def join_url(
        self, appointment: Appointment, *, role: str, user_id: str, name: str, now: datetime
    ) -> str:
        not_before, expires = session_window(
            appointment.start,
            appointment.end,
            self._jitsi.lead_minutes,
            self._jitsi.grace_minutes,
            now=now,
        )
        token = mint_token(
            self.auth(),
            room=appointment.room,
            user=Participant(id=user_id, name=name or user_id),
            role="staff" if role == "staff" else "citizen",
            not_before=not_before,
            expires=expires,
            issued_at=now,
        )
        return join_url(self._jitsi.base_url, appointment.room, token)


def build_jitsi_auth(jitsi: Any) -> JitsiAuth:
    """JitsiAuth from the [jitsi] settings; MeetingsNotConfigured when nothing is set."""
    secret = jitsi.app_secret.get_secret_value()
    if not secret and not jitsi.private_key_file:
        raise MeetingsNotConfigured("set [jitsi] app_secret or private_key_file")
    pem = None
    if jitsi.private_key_file:
        try:
            pem = Path(jitsi.private_key_file).read_bytes()
        except OSError as exc:
            raise ConfigError(f"jitsi.private_key_file: cannot read it ({exc.strerror})") from exc
    try:
        return JitsiAuth(
            app_id=jitsi.app_id,
            app_secret=secret,
            private_key_pem=pem,
            kid=jitsi.kid,
            issuer=jitsi.issuer,
            audience=jitsi.audience,
            subject=jitsi.subject,
        )
    except TokenError as exc:
        raise ConfigError(str(exc)) from exc


class JibriRecorder:
    def __init__(self, settings: Settings) -> None:
        self._jibri = settings.jibri
        self._base_url = settings.jitsi.base_url

    @property
    def automatic(self) -> bool:
        return bool(self._jibri.auto_start and self._jibri.api_url)

    def _login(self) -> JibriLogin | None:
        if not self._jibri.recorder_user:
            return None
        return JibriLogin(
            self._jibri.xmpp_domain,
            self._jibri.recorder_user,
            self._jibri.recorder_password.get_secret_value(),
        )

    def _client(self) -> JibriClient:
        return JibriClient(self._jibri.api_url, timeout=self._jibri.timeout_seconds)

    async def start(self, appointment: Appointment) -> None:
        try:
            async with self._client() as client:
                await client.start_file_recording(
                    appointment.room, self._base_url, appointment.room, self._login()
                )
        except JibriBusy:
            raise RecordingUnavailable("busy") from None
        except JibriRefused as exc:
            raise RecordingUnavailable("refused") from exc
        except JibriError as exc:
            raise RecordingUnavailable("unavailable") from exc

    async def stop(self, appointment: Appointment) -> None:
        try:
            async with self._client() as client:
                await client.stop()
        except JibriError as exc:
            raise RecordingUnavailable("unavailable") from exc


class ReceiptRenderer:
    def __init__(
        self,
        public_base_url: str,
        logo: bytes | None,
        seal: Path | None = None,
        passphrase: str = "",
    ) -> None:
        self._base = public_base_url.rstrip("/")
        self.logo = logo
        self._seal = seal
        self._passphrase = passphrase

    async def render(self, receipt: Any, labels: dict[str, str]) -> bytes:
        from documents.receipt import build_receipt_pdf, find_unicode_font, sign_pdf_async

        # DejaVu Sans when the system has it, so names in any script print as written.
        pdf = await asyncio.to_thread(
            build_receipt_pdf, receipt, labels, font_path=find_unicode_font()
        )
        if self._seal is None:
            return pdf
        # PAdES signature with the council's seal, added as an incremental update and dated
        # the receipt's registered time (the moment the receipt states), not the machine's.
        return await sign_pdf_async(
            pdf, self._seal, self._passphrase or None, signing_time=receipt.registered_at
        )

    def verify_url(self, csv_code: str) -> str:
        return f"{self._base}/verify/{csv_code}"


@dataclass
class Storage:
    keyring: Keyring
    blobs: EncryptedFileBlobStore
    # The key file this start made (none was there): undone if the database turns out
    # to need another key, so the wrong file is not left for the next start.
    made_key_file: Path | None = None


def prepare_data_dir(settings: Settings) -> None:
    """Create data_dir (mode 0700: only the service's user can enter it)."""
    path = settings.data_dir
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        if path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o077:
            path.chmod(0o700)
        if not os.access(path, os.W_OK | os.X_OK):
            raise ConfigError(f"data_dir: {path} is not writable by this user")
    except OSError as exc:
        raise ConfigError(f"data_dir: cannot create {path} ({exc.strerror})") from exc


def master_key_file(settings: Settings) -> Path:
    """The key file in use: the configured (or default) one; an older installation's
    data_dir/keys/master.keys keeps working, with a warning to move it out."""
    chosen = settings.key_file
    legacy = settings.data_dir / "keys" / "master.keys"
    if not settings.storage.key_file and not chosen.exists() and legacy.exists():
        log.warning(
            "the master key file is inside data_dir (%s): move it to %s so a copy of the"
            " data does not carry its key",
            legacy,
            chosen,
        )
        return legacy
    return chosen


def open_storage(settings: Settings) -> Storage:
    prepare_data_dir(settings)
    from_env = settings.storage.master_key.get_secret_value() or None
    key_file = master_key_file(settings)
    blobs = settings.data_dir / "blobs"
    made = None if from_env or key_file.exists() else key_file  # a new key, if all goes on
    if made is not None and any(blobs.glob("??/*")):
        # A new key would be made and the files (a restored backup, say) never open.
        raise ConfigError(
            f"storage.key_file: {key_file} does not exist but {blobs} holds encrypted"
            " files: restore the key file that goes with them"
        )
    try:
        keyring = Keyring.from_env_or_file(from_env, key_file, create_if_missing=True)
    except KeyringError as exc:
        key = "storage.master_key" if from_env else "storage.key_file"
        raise ConfigError(f"{key}: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"storage.key_file: cannot use {key_file} ({exc})") from exc
    return Storage(keyring, EncryptedFileBlobStore(blobs, keyring), made)


def _logo(settings: Settings) -> bytes | None:
    if not settings.council.logo_file:
        return None
    try:
        return Path(settings.council.logo_file).read_bytes()
    except OSError as exc:
        raise ConfigError(f"council.logo_file: cannot read it ({exc.strerror})") from exc


def _seal(settings: Settings) -> Path | None:
    if not settings.council.signing_certificate:
        return None
    path = Path(settings.council.signing_certificate)
    if not path.is_file():
        raise ConfigError(f"council.signing_certificate: {path} is not a readable file")
    return path


def load_evidence_signer(settings: Settings) -> EvidenceSigner | None:
    """The council's evidence key from the environment or [evidence] key_file (which must
    not be inside data_dir: a copy of the data must not carry the key); None if unset."""
    evidence = settings.evidence
    text = evidence.signing_key.get_secret_value()
    try:
        if text.strip():
            return EvidenceSigner.from_text(text)
        if not evidence.key_file:
            return None
        path = Path(evidence.key_file).resolve()
        if path.is_relative_to(settings.data_dir.resolve()):
            raise ConfigError(
                "evidence.key_file: must be outside data_dir (whoever copies the data must"
                " not get the key with it)"
            )
        return EvidenceSigner.from_file(path)
    except EvidenceKeyError as exc:
        key = "evidence.signing_key" if text.strip() else "evidence.key_file"
        raise ConfigError(f"{key}: {exc}") from exc


def build_sandbox(intake: IntakeSettings) -> Sandbox:
    """The worker processes files are checked in (started on the first file, or by
    `videotramit run` at start)."""
    return Sandbox(
        SandboxLimits(
            workers=intake.workers,
            cpu_seconds=intake.cpu_seconds,
            wall_seconds=intake.wall_seconds,
            memory_mb=intake.memory_mb,
        )
    )


def build_services(
    settings: Settings, storage: Storage, sandbox: Sandbox | None = None
) -> tuple[Services, LinkSigner]:
    master_id, master = storage.keyring.current()
    links = LinkSigner(
        derive_link_key(master),
        settings.web.public_base_url,
        timedelta(minutes=settings.storage.link_minutes),
    )
    services = Services(
        documents=StoredDocuments(
            storage.blobs,
            settings.storage.max_file_mb * 1024 * 1024,
            sandbox or build_sandbox(settings.intake),
            settings.intake,
        ),
        meetings=JitsiMeetings(settings),
        recorder=JibriRecorder(settings),
        receipts=ReceiptRenderer(
            settings.web.public_base_url,
            _logo(settings),
            _seal(settings),
            settings.council.signing_passphrase.get_secret_value(),
        ),
        links=links,
        # Fingerprints of personal values: HMAC under a key derived from the master key.
        fingerprints=Fingerprinter(master_id, master),
        charts=StatisticsChart(),
        signer=load_evidence_signer(settings),
    )
    return services, links
