"""Typed configuration: embedded defaults < --config FILE < VIDEOTRAMIT_<SECTION>__<KEY>.

Loaded by `load_settings` only (never at import). A bad value raises `ConfigError`, whose
message names the offending key, so the CLI can exit 2 with it.
"""

from __future__ import annotations

import os
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

ENV_PREFIX = "VIDEOTRAMIT_"


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


# The drivers the service runs on (async): SQLite through aiosqlite, PostgreSQL through
# asyncpg.
_DATABASE_URL = re.compile(r"^(sqlite\+aiosqlite://(/.*)?|postgresql\+asyncpg://\S+)$")


class DatabaseSettings(Section):
    url: str = ""

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str) -> str:
        if value and not _DATABASE_URL.match(value):
            raise ValueError(
                "expected sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB"
            )
        return value


class TelegramSettings(Section):
    enabled: bool = False
    token: SecretStr = SecretStr("")
    token_file: str = ""
    base_url: str = "https://api.telegram.org"
    mode: Literal["polling", "webhook"] = "polling"
    webhook_secret: SecretStr = SecretStr("")
    webhook_secret_file: str = ""


class MatrixSettings(Section):
    enabled: bool = False
    homeserver: str = ""
    user_id: str = ""
    password: SecretStr = SecretStr("")
    password_file: str = ""
    access_token: SecretStr = SecretStr("")
    access_token_file: str = ""
    device_id: str = ""


class WebSettings(Section):
    listen: str = "127.0.0.1:8080"
    public_base_url: str = "http://127.0.0.1:8080"

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError("expected host:port, e.g. 127.0.0.1:8080")
        return value

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


class JitsiSettings(Section):
    base_url: str = "https://meet.example.org"
    app_id: str = "videotramit"
    app_secret: SecretStr = SecretStr("")
    app_secret_file: str = ""
    private_key_file: str = ""
    kid: str = ""
    issuer: str = ""
    audience: str = ""
    subject: str = ""
    lead_minutes: int = Field(15, ge=0, le=240)
    grace_minutes: int = Field(30, ge=0, le=480)


class JibriSettings(Section):
    api_url: str = ""
    xmpp_domain: str = ""
    recorder_user: str = ""
    recorder_password: SecretStr = SecretStr("")
    recorder_password_file: str = ""
    auto_start: bool = False
    # Below the side effects' 120 s lease (storage/effects.py), or another instance would
    # claim the start again while the first call still waits.
    timeout_seconds: float = Field(5.0, gt=0, le=90)
    webhook_token: SecretStr = SecretStr("")
    webhook_token_file: str = ""


class EmailSettings(Section):
    enabled: bool = False
    host: str = "localhost"
    port: int = Field(25, ge=1, le=65535)
    starttls: bool = False
    username: str = ""
    password: SecretStr = SecretStr("")
    password_file: str = ""
    sender: str = "oac@example.org"


LanguageCode = Literal["ca", "es", "en"]
# A text the council writes: the same in every language, or one per language.
CouncilText = str | dict[LanguageCode, str]


class CouncilSettings(Section):
    name: str = "Ajuntament d'Exemple"
    # The name as it sits in a sentence, per language ("l'Ajuntament de Vilademo",
    # "el Ayuntamiento de Vilademo", "Vilademo Town Council"); default: `name`.
    name_in_sentence: dict[LanguageCode, str] = Field(default_factory=dict)
    address: str = ""
    logo_file: str = ""
    registry_prefix: str = Field("VT", pattern=r"^[A-Z0-9]{1,8}$")
    privacy_url: str = ""
    controller: CouncilText = ""
    dpo_contact: str = ""
    retention: CouncilText = ""
    signing_certificate: str = ""
    signing_passphrase: SecretStr = SecretStr("")
    signing_passphrase_file: str = ""


class ScheduleSettings(Section):
    slot_minutes: int = Field(30, ge=5, le=240)
    buffer_minutes: int = Field(0, ge=0, le=120)
    min_notice_hours: int = Field(2, ge=0, le=24 * 14)
    horizon_days: int = Field(30, ge=1, le=366)
    reminders: list[str] = Field(default_factory=lambda: ["24h", "1h"])
    survey_delay_minutes: int = Field(10, ge=0, le=7 * 24 * 60)
    waitlist_hold_minutes: int = Field(15, ge=1, le=24 * 60)
    morning_summary: str = Field("08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")

    @field_validator("slot_minutes")
    @classmethod
    def _divides_hour(cls, value: int) -> int:
        # The booking grid starts at each working range; slot lengths that divide an hour
        # keep the cells of different clerks and days comparable.
        if 60 % value and value % 60:
            raise ValueError("must divide 60 (5, 10, 15, 20, 30, 60) or be a multiple of 60")
        return value

    @field_validator("reminders")
    @classmethod
    def _durations(cls, value: list[str]) -> list[str]:
        for item in value:
            parse_duration(item)
        return value


class StorageSettings(Section):
    """Encryption at rest. The master key comes from the environment
    (VIDEOTRAMIT_STORAGE__MASTER_KEY, "id:base64" entries) or from key_file, which is
    created (mode 0600) on first start when neither exists."""

    master_key: SecretStr = SecretStr("")
    key_file: str = ""
    keys_dir: str = ""
    max_file_mb: int = Field(20, ge=1, le=100)
    link_minutes: int = Field(10, ge=1, le=120)


class IntakeSettings(Section):
    """How much one file may cost to check (documents/sandbox.py) and how many a citizen
    may send."""

    workers: int = Field(2, ge=1, le=32)
    cpu_seconds: int = Field(10, ge=1, le=600)
    wall_seconds: float = Field(20, gt=0, le=900)
    memory_mb: int = Field(1024, ge=256, le=65536)
    max_scans: int = Field(100, ge=1, le=10_000)
    max_decoded_mb: int = Field(192, ge=16, le=4096)
    files_per_appointment: int = Field(30, ge=1, le=1000)
    files_per_day: int = Field(60, ge=1, le=10_000)


class FairUseSettings(Section):
    """How much one citizen may book and send (a polite message past it)."""

    appointments_per_procedure: int = Field(2, ge=1, le=100)
    appointments_total: int = Field(4, ge=1, le=1000)
    turns_burst: int = Field(30, ge=1, le=10_000)
    turns_per_minute: int = Field(60, ge=1, le=100_000)
    uploads_burst: int = Field(10, ge=1, le=10_000)
    uploads_per_hour: int = Field(60, ge=1, le=100_000)


class EvidenceSettings(Section):
    """The council's evidence key (Ed25519) and an optional RFC 3161 time-stamp authority.
    The key comes from the environment (VIDEOTRAMIT_EVIDENCE__SIGNING_KEY) or from
    key_file, which must be outside data_dir; it is never stored in the database."""

    signing_key: SecretStr = SecretStr("")
    key_file: str = ""
    tsa_url: str = ""
    tsa_timeout_seconds: float = Field(10, gt=0, le=120)
    tsa_certificate: str = ""


class StaffSettings(Section):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,39}$")
    name: str = Field(min_length=1, max_length=120)
    roles: list[Literal["staff", "admin"]] = Field(default=["staff"])
    procedures: list[str] = Field(default_factory=lambda: ["*"])
    telegram_id: str = ""
    matrix_id: str = ""
    email: str = ""
    hours: list[str] = Field(default_factory=list)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        case_sensitive=False,
    )

    data_dir: Path = Path("var")
    timezone: str = "Europe/Madrid"
    languages: list[Literal["ca", "es", "en"]] = Field(default=["ca", "es", "en"])
    default_language: Literal["ca", "es", "en"] = "ca"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    procedures_file: str = ""
    holidays_file: str = ""
    database: DatabaseSettings = DatabaseSettings()
    telegram: TelegramSettings = TelegramSettings()
    matrix: MatrixSettings = MatrixSettings()
    web: WebSettings = WebSettings()
    jitsi: JitsiSettings = JitsiSettings()
    jibri: JibriSettings = JibriSettings()
    email: EmailSettings = EmailSettings()
    council: CouncilSettings = CouncilSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    storage: StorageSettings = StorageSettings()
    intake: IntakeSettings = IntakeSettings()
    fair_use: FairUseSettings = FairUseSettings()
    evidence: EvidenceSettings = EvidenceSettings()
    staff: list[StaffSettings] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def keys_dir(self) -> Path:
        """Where the master key file lives by default: beside data_dir, not inside it, so a
        copy of the data (a backup, a stolen disk image of it) does not carry its key."""
        if self.storage.keys_dir:
            return Path(self.storage.keys_dir)
        data = self.data_dir.absolute()
        return data.parent / f"{data.name}-keys"

    @property
    def key_file(self) -> Path:
        return (
            Path(self.storage.key_file) if self.storage.key_file else self.keys_dir / "master.keys"
        )

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite+aiosqlite:///{self.data_dir / 'videotramit.db'}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # init (the merged TOML files) < environment
        return (env_settings, init_settings)


def parse_duration(text: str) -> int:
    """'24h' -> 1440, '90m' -> 90, '2d' -> 2880 (minutes)."""
    units = {"m": 1, "h": 60, "d": 1440}
    text = text.strip().lower()
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit():
        raise ValueError(f"{text!r} is not a duration like 24h, 90m or 2d")
    return int(text[:-1]) * units[text[-1]]


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from exc


# Secrets that must come from the environment (or a `<key>_file` holding them, except the
# two keys that have their own key_file), never from a configuration file.
ENVIRONMENT_ONLY = (
    ("telegram", "token"),
    ("telegram", "webhook_secret"),
    ("matrix", "password"),
    ("matrix", "access_token"),
    ("jitsi", "app_secret"),
    ("jibri", "recorder_password"),
    ("jibri", "webhook_token"),
    ("email", "password"),
    ("council", "signing_passphrase"),
    ("storage", "master_key"),
    ("evidence", "signing_key"),
)
SECRET_FILES = tuple(item for item in ENVIRONMENT_ONLY if item[0] not in ("storage", "evidence"))
# HS256 needs a key at least as long as its hash (RFC 7518 §3.2).
MIN_JITSI_SECRET = 32


def _read_secret_files(settings: Settings) -> None:
    """Fill each secret from its `<key>_file` (the environment's own value wins)."""
    for section, key in SECRET_FILES:
        table = getattr(settings, section)
        path = getattr(table, f"{key}_file")
        if not path or getattr(table, key).get_secret_value():
            continue
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeError) as exc:
            raise ConfigError(f"{section}.{key}_file: cannot read {path} ({exc})") from exc
        if not value:
            raise ConfigError(f"{section}.{key}_file: {path} is empty")
        setattr(table, key, SecretStr(value))


def _refuse_weak_secrets(settings: Settings) -> None:
    secret = settings.jitsi.app_secret.get_secret_value()
    if secret and len(secret.encode()) < MIN_JITSI_SECRET:
        raise ConfigError(
            f"jitsi.app_secret: too short ({len(secret.encode())} bytes); use at least"
            f" {MIN_JITSI_SECRET} random bytes, e.g. `openssl rand -hex 32`"
        )


def _refuse_secrets_in_files(data: dict[str, Any]) -> None:
    for section, key in ENVIRONMENT_ONLY:
        table = data.get(section)
        if isinstance(table, dict) and table.get(key):
            variable = f"{ENV_PREFIX}{section.upper()}__{key.upper()}"
            where = (
                f"{section}.{key}_file"
                if (section, key) in SECRET_FILES
                else (f"{section}.key_file")
            )
            raise ConfigError(
                f"{section}.{key}: a secret, not allowed in a configuration file; "
                f"set {variable} in the environment instead, or {where} to a file"
                " only the service can read"
            )


def embedded_text(name: str) -> str:
    """Text of a file shipped in the `config` package (default.toml, procedures.toml...)."""
    return resources.files("config").joinpath(name).read_text(encoding="utf-8")


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"])
        if item["type"] == "extra_forbidden":
            lines.append(f"{key}: unknown setting (check the spelling)")
        else:
            lines.append(f"{key}: {item['msg']}")
    return "invalid configuration: " + "; ".join(lines)


def load_settings(
    config_file: str | Path | None = None,
    *,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    """Build the settings from the layers. `overrides` sit between the file and the env."""
    data = tomllib.loads(embedded_text("default.toml"))
    chosen = config_file or os.environ.get(ENV_PREFIX + "CONFIG")
    if chosen:
        from_file = _read_toml(Path(chosen))
        _refuse_secrets_in_files(from_file)
        data = _deep_merge(data, from_file)
    if overrides:
        data = _deep_merge(data, overrides)
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    _read_secret_files(settings)
    _refuse_weak_secrets(settings)
    return settings
