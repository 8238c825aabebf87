"""JSON Web Tokens for Jitsi Meet rooms, shaped exactly as Prosody's token auth checks them.

Facts followed (shared/reference/jitsi.md, sections 1 and 5):

* header ``typ`` is ``"JWT"`` and ``alg`` is the one algorithm Prosody is configured for:
  ``HS256`` with ``app_secret``, or ``RS256`` with a private key and a ``kid``;
* ``iss``, ``aud``, ``sub`` and ``room`` are always present; ``room`` is the exact
  lowercase room name (never ``"*"``, never a pattern);
* ``nbf`` / ``exp`` (and the informational ``iat``) are integer Unix seconds; Prosody has
  no clock leeway, so :func:`session_window` puts ``nbf`` a little in the past;
* every ``context.user`` value is a string;
* staff tokens carry ``moderator: "true"`` and ``affiliation: "owner"`` (read by
  ``mod_token_affiliation``) and ``features.recording: "true"``; citizen tokens carry
  ``moderator: "false"``, ``affiliation: "member"`` and every feature ``"false"``.

Tokens are minted on request and never stored: nothing in this module keeps them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

__all__ = [
    "CITIZEN_FEATURES",
    "FEATURE_KEYS",
    "JAAS_AUDIENCE",
    "JAAS_ISSUER",
    "NBF_SKEW",
    "ROOM_RE",
    "STAFF_FEATURES",
    "JitsiAuth",
    "Participant",
    "Role",
    "TokenError",
    "mint_token",
    "session_window",
]

Role = Literal["staff", "citizen"]

ROOM_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$")
"""A room name as this service uses it: lowercase letters, digits and inner dashes."""

JAAS_ISSUER = "chat"
JAAS_AUDIENCE = "jitsi"
JAAS_APP_PREFIX = "vpaas-magic-cookie-"
_JAAS_KID_RE = re.compile(r"^vpaas-magic-cookie-[0-9a-z]+/[0-9a-z]+$")

DEFAULT_AUDIENCE = "jitsi"
DEFAULT_SUBJECT = "meet.jitsi"  # docker-jitsi-meet's XMPP_DOMAIN default

MIN_SECRET_BYTES = 32  # RFC 7518 3.2: an HS256 key at least as long as the hash

NBF_SKEW = timedelta(seconds=10)
"""How far ``nbf`` is pushed into the past: Prosody checks ``now < nbf`` with no leeway."""

# The feature keys every token of ours carries (a subset of MEET_FEATURES; with
# ``context.features`` present, only keys set to "true" are allowed, so each is explicit).
FEATURE_KEYS: tuple[str, ...] = (
    "recording",
    "lobby",
    "moderation",
    "livestreaming",
    "transcription",
    "outbound-call",
    "inbound-call",
    "sip-outbound-call",
    "sip-inbound-call",
    "file-upload",
    "list-visitors",
)
# Staff may record, run the lobby and moderate. No live streaming (a citizen's session is
# never broadcast), no transcription (not covered by the privacy notice), no dial-in/out,
# no file upload in the meeting (documents travel through the chat so they are hashed into
# the evidence).
_STAFF_TRUE = frozenset({"recording", "lobby", "moderation"})
STAFF_FEATURES: dict[str, str] = {
    key: ("true" if key in _STAFF_TRUE else "false") for key in FEATURE_KEYS
}
CITIZEN_FEATURES: dict[str, str] = dict.fromkeys(FEATURE_KEYS, "false")


class TokenError(ValueError):
    """The token configuration or a mint request is not acceptable."""


def _blank_to_none(value: str | bytes | None) -> Any:
    if value is None:
        return None
    if isinstance(value, str) and not value.strip():
        return None
    if isinstance(value, bytes) and not value.strip():
        return None
    return value


@dataclass(frozen=True)
class JitsiAuth:
    """How tokens are signed and which ``iss``/``aud``/``sub`` they carry.

    Give ``app_secret`` for HS256 (self-hosted, Prosody ``app_secret``) or
    ``private_key_pem`` + ``kid`` for RS256 (Prosody ``asap_key_server`` or 8x8 JaaS).
    Empty strings count as "not set", so config values can be passed straight in.

    Defaults: ``iss`` = ``app_id`` (Prosody's default accepted issuer), ``aud`` = "jitsi",
    ``sub`` = "meet.jitsi" (docker's XMPP domain). When ``app_id`` is a JaaS AppID
    (``vpaas-magic-cookie-…``) the JaaS form applies: ``iss`` "chat", ``aud`` "jitsi",
    ``sub`` = AppID, and ``kid`` must be ``<AppID>/<key id>``.
    """

    app_id: str
    app_secret: str | None = field(default=None, repr=False)
    private_key_pem: str | bytes | None = field(default=None, repr=False)
    kid: str | None = None
    issuer: str | None = None
    audience: str | None = None
    subject: str | None = None
    _key: str | RSAPrivateKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("app_secret", "private_key_pem", "kid", "issuer", "audience", "subject"):
            object.__setattr__(self, name, _blank_to_none(getattr(self, name)))
        if not self.app_id or not self.app_id.strip():
            raise TokenError("jitsi.app_id is required")
        if (self.app_secret is None) == (self.private_key_pem is None):
            raise TokenError(
                "give exactly one of jitsi.app_secret (HS256) or jitsi.private_key_file (RS256)"
            )
        if self.private_key_pem is not None:
            if self.kid is None:
                raise TokenError("jitsi.kid is required with a private key (RS256)")
            pem = self.private_key_pem
            try:
                key = load_pem_private_key(
                    pem.encode("ascii") if isinstance(pem, str) else pem, password=None
                )
            except (ValueError, TypeError) as exc:
                raise TokenError("jitsi.private_key_file is not a PEM private key") from exc
            if not isinstance(key, RSAPrivateKey):
                raise TokenError("jitsi.private_key_file must hold an RSA private key")
            object.__setattr__(self, "_key", key)
        else:
            assert self.app_secret is not None
            if len(self.app_secret.encode("utf-8")) < MIN_SECRET_BYTES:
                raise TokenError(
                    f"jitsi.app_secret must be at least {MIN_SECRET_BYTES} bytes for HS256 "
                    "(RFC 7518 3.2); e.g. `openssl rand -hex 32`, the same value in Prosody"
                )
            object.__setattr__(self, "_key", self.app_secret)
        if self.is_jaas:
            if self.algorithm != "RS256":
                raise TokenError("JaaS (vpaas-magic-cookie-…) tokens must be RS256")
            if self.kid is None or not _JAAS_KID_RE.match(self.kid):
                raise TokenError("jitsi.kid must look like vpaas-magic-cookie-<hex>/<key id>")
            if self.kid.split("/", 1)[0] != self.app_id:
                raise TokenError("jitsi.kid must start with the AppID (jitsi.app_id)")
        sub = self.effective_subject
        if sub == "*" or sub != sub.lower():
            raise TokenError("jitsi.subject must be the lowercase XMPP domain or tenant, not '*'")

    @property
    def algorithm(self) -> str:
        return "HS256" if self.app_secret is not None else "RS256"

    @property
    def is_jaas(self) -> bool:
        return self.app_id.startswith(JAAS_APP_PREFIX)

    @property
    def effective_issuer(self) -> str:
        if self.issuer is not None:
            return self.issuer
        return JAAS_ISSUER if self.is_jaas else self.app_id

    @property
    def effective_audience(self) -> str:
        if self.audience is not None:
            return self.audience
        return JAAS_AUDIENCE if self.is_jaas else DEFAULT_AUDIENCE

    @property
    def effective_subject(self) -> str:
        if self.subject is not None:
            return self.subject
        return self.app_id if self.is_jaas else DEFAULT_SUBJECT


@dataclass(frozen=True)
class Participant:
    """Who the token is for. Every value ends up as a string in ``context.user``.

    ``id`` should be an opaque identifier (it appears in presence and in Jibri's
    ``metadata.json``); ``name`` is the display name. Empty ``email``/``avatar`` are left out.
    """

    id: str
    name: str
    email: str = ""
    avatar: str | None = None


def _unix(value: datetime, what: str) -> int:
    if value.tzinfo is None or value.utcoffset() is None:
        raise TokenError(f"{what} must be timezone-aware")
    return int(value.timestamp())


def session_window(
    start: datetime,
    end: datetime,
    lead_minutes: int,
    grace_minutes: int,
    *,
    now: datetime | None = None,
) -> tuple[datetime, datetime]:
    """The ``(not_before, expires)`` pair for a session from ``start`` to ``end``.

    ``not_before`` is ``lead_minutes`` before the start, minus :data:`NBF_SKEW` for clock
    drift (Prosody has no leeway). ``expires`` is ``grace_minutes`` after the end. With
    ``now`` (the minting time), a link minted late (session opened after its slot) still
    works: ``expires`` is at least ``now + grace`` (``not_before`` is then already past).
    A link minted early is never valid before its opening window: ``not_before`` does
    not move towards ``now``.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise TokenError("session times must be timezone-aware")
    if end <= start:
        raise TokenError("session end must be after its start")
    if lead_minutes < 0 or grace_minutes < 0:
        raise TokenError("lead_minutes and grace_minutes must not be negative")
    not_before = start - timedelta(minutes=lead_minutes) - NBF_SKEW
    expires = end + timedelta(minutes=grace_minutes)
    if now is not None:
        if now.tzinfo is None:
            raise TokenError("now must be timezone-aware")
        expires = max(expires, now + timedelta(minutes=max(grace_minutes, 1)))
    return not_before, expires


def _user_claim(user: Participant, role: Role) -> dict[str, str]:
    claim: dict[str, str] = {"id": str(user.id), "name": str(user.name)}
    if user.email:
        claim["email"] = str(user.email)
    if user.avatar:
        claim["avatar"] = str(user.avatar)
    if role == "staff":
        claim["moderator"] = "true"
        claim["affiliation"] = "owner"
    else:
        claim["moderator"] = "false"
        claim["affiliation"] = "member"
    return claim


def mint_token(
    auth: JitsiAuth,
    *,
    room: str,
    user: Participant,
    role: Role,
    not_before: datetime,
    expires: datetime,
    issued_at: datetime | None = None,
) -> str:
    """A signed JWT letting ``user`` join ``room`` as staff (owner) or citizen (member).

    ``room`` must already be the exact lowercase name (``[a-z0-9-]``): it is never
    lowercased or widened here. ``issued_at`` defaults to ``not_before``.
    """
    if role not in ("staff", "citizen"):
        raise TokenError(f"unknown role {role!r}")
    if not ROOM_RE.match(room):
        raise TokenError("room must be a lowercase name of [a-z0-9-] (no '*', no pattern)")
    if not str(user.id) or not str(user.name):
        raise TokenError("participant id and name are required")
    nbf = _unix(not_before, "not_before")
    exp = _unix(expires, "expires")
    iat = _unix(issued_at, "issued_at") if issued_at is not None else nbf
    if exp <= nbf:
        raise TokenError("expires must be after not_before")
    payload: dict[str, Any] = {
        "iss": auth.effective_issuer,
        "aud": auth.effective_audience,
        "sub": auth.effective_subject,
        "room": room,
        "iat": iat,
        "nbf": nbf,
        "exp": exp,
        "context": {
            "user": _user_claim(user, role),
            "features": dict(STAFF_FEATURES if role == "staff" else CITIZEN_FEATURES),
        },
    }
    headers: dict[str, Any] = {"typ": "JWT"}
    if auth.kid is not None:
        headers["kid"] = auth.kid
    return jwt.encode(payload, auth._key, algorithm=auth.algorithm, headers=headers)
