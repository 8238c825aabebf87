"""Tokens checked independently with PyJWT against the rules of reference/jitsi.md §1 and §5."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from jitsi.tokens import (
    CITIZEN_FEATURES,
    NBF_SKEW,
    JitsiAuth,
    Participant,
    TokenError,
    mint_token,
    session_window,
)

SECRET = "s3cret-for-tests-only-0123456789abcdef"
# A fixed instant, not the machine's: the tokens are minted and checked at this moment.
NOW = datetime(2026, 11, 30, 8, 45, 0, tzinfo=UTC)
ROOM = "vt-7tq3xkz2m4pwa5hcd6rnfy2ejb"
STAFF = Participant(id="staff-1", name="Marta Puig", email="marta@example.org")
CITIZEN = Participant(id="citizen-7", name="Joan <b>Garcia</b>", avatar="https://x.test/a.png")


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _mint(auth: JitsiAuth, role: str = "staff", room: str = ROOM, **kw: Any) -> str:
    user = STAFF if role == "staff" else CITIZEN
    return mint_token(
        auth,
        room=room,
        user=kw.pop("user", user),
        role=role,  # type: ignore[arg-type]
        not_before=kw.pop("not_before", NOW - timedelta(minutes=5)),
        expires=kw.pop("expires", NOW + timedelta(hours=1)),
        **kw,
    )


def _decode(token: str, key: Any, *, at: datetime = NOW, **kw: Any) -> dict[str, Any]:
    """The claims, verified as Prosody would verify them at the moment ``at``.

    PyJWT checks exp/nbf/iat against the machine's clock, so those checks are off and done
    here against ``at``: signature, ``aud`` and ``iss`` by PyJWT; then usable only when
    ``nbf <= at < exp``, with no leeway (reference/jitsi.md §5); ``iat`` is not validated.
    The same PyJWT errors are raised for a token that is not usable yet or any more."""
    options = {"verify_exp": False, "verify_nbf": False, "verify_iat": False}
    options.update(kw.pop("options", {}))
    claims: dict[str, Any] = jwt.decode(token, key, options=options, **kw)
    moment = int(at.timestamp())
    if "nbf" in claims and moment < claims["nbf"]:
        raise jwt.ImmatureSignatureError("The token is not yet valid (nbf)")
    if "exp" in claims and moment >= claims["exp"]:
        raise jwt.ExpiredSignatureError("Signature has expired")
    return claims


def _decode_hs(token: str, *, at: datetime = NOW) -> dict[str, Any]:
    return _decode(
        token,
        SECRET,
        at=at,
        algorithms=["HS256"],
        audience="jitsi",
        issuer="videotramit",
        options={"require": ["iss", "aud", "sub", "exp", "nbf", "iat"]},
    )


def test_hs256_header_and_required_claims() -> None:
    auth = JitsiAuth(app_id="videotramit", app_secret=SECRET)
    token = _mint(auth)
    assert token.count(".") == 2
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "JWT"
    assert header["alg"] == "HS256"
    claims = _decode_hs(token)
    assert claims["iss"] == "videotramit"  # Prosody's default accepted issuer is app_id
    assert claims["aud"] == "jitsi"
    assert claims["sub"] == "meet.jitsi"
    assert claims["room"] == ROOM


def test_wrong_secret_and_other_alg_are_refused() -> None:
    token = _mint(JitsiAuth(app_id="videotramit", app_secret=SECRET))
    with pytest.raises(jwt.InvalidSignatureError):
        _decode(token, "x" * 32, algorithms=["HS256"], audience="jitsi")
    with pytest.raises(jwt.InvalidAlgorithmError):
        _decode(token, SECRET, algorithms=["HS512"], audience="jitsi")


def test_issuer_audience_subject_overridable() -> None:
    auth = JitsiAuth(
        app_id="videotramit",
        app_secret=SECRET,
        issuer="oac-bot",
        audience="meet-aud",
        subject="meet.example.org",
    )
    claims = _decode(
        _mint(auth), SECRET, algorithms=["HS256"], audience="meet-aud", issuer="oac-bot"
    )
    assert claims["sub"] == "meet.example.org"


def test_empty_config_strings_mean_defaults() -> None:
    auth = JitsiAuth(
        app_id="videotramit",
        app_secret=SECRET,
        private_key_pem="",
        kid="",
        issuer="",
        audience="",
        subject="",
    )
    assert auth.algorithm == "HS256"
    assert _decode_hs(_mint(auth))["sub"] == "meet.jitsi"


def test_staff_claims() -> None:
    claims = _decode_hs(_mint(JitsiAuth(app_id="videotramit", app_secret=SECRET)))
    user = claims["context"]["user"]
    assert user["moderator"] == "true"
    assert user["affiliation"] == "owner"
    assert user["id"] == "staff-1"
    assert user["name"] == "Marta Puig"
    assert user["email"] == "marta@example.org"
    features = claims["context"]["features"]
    assert features["recording"] == "true"
    assert all(v in ("true", "false") for v in features.values())
    assert features["livestreaming"] == "false"


def test_citizen_claims() -> None:
    claims = _decode_hs(_mint(JitsiAuth(app_id="videotramit", app_secret=SECRET), "citizen"))
    user = claims["context"]["user"]
    assert user["moderator"] == "false"
    assert user["affiliation"] == "member"
    assert user["avatar"] == "https://x.test/a.png"
    assert "email" not in user  # empty values are left out, never null
    features = claims["context"]["features"]
    assert features == CITIZEN_FEATURES
    assert features and set(features.values()) == {"false"}


@pytest.mark.parametrize("role", ["staff", "citizen"])
def test_every_context_user_value_is_a_string(role: str) -> None:
    odd = Participant(id="42", name="Ñúria d'Àger", email="n@example.org", avatar="a")
    claims = _decode_hs(_mint(JitsiAuth(app_id="videotramit", app_secret=SECRET), role, user=odd))
    assert all(isinstance(v, str) for v in claims["context"]["user"].values())
    assert all(isinstance(v, str) for v in claims["context"]["features"].values())
    assert claims["context"]["user"]["name"] == "Ñúria d'Àger"


def test_times_are_integer_numbers_and_window_is_exact() -> None:
    nbf = datetime(2030, 5, 6, 9, 0, 0, 600000, tzinfo=UTC)
    exp = nbf + timedelta(hours=1)
    token = _mint(JitsiAuth(app_id="videotramit", app_secret=SECRET), not_before=nbf, expires=exp)
    payload = json.loads(jwt.utils.base64url_decode(token.split(".")[1]))
    for name in ("nbf", "exp", "iat"):
        assert type(payload[name]) is int  # JSON numbers, not strings or floats
    assert payload["nbf"] == int(nbf.timestamp())
    assert payload["exp"] == int(exp.timestamp())
    # Prosody has no leeway: a token whose nbf is in the future is not usable yet.
    with pytest.raises(jwt.ImmatureSignatureError):
        _decode_hs(token)


def test_expired_token_is_refused() -> None:
    token = _mint(
        JitsiAuth(app_id="videotramit", app_secret=SECRET),
        not_before=NOW - timedelta(days=2),
        expires=NOW - timedelta(days=1),
    )
    with pytest.raises(jwt.ExpiredSignatureError):
        _decode_hs(token)


def test_session_window() -> None:
    start = datetime(2030, 5, 6, 10, 0, tzinfo=UTC)
    end = start + timedelta(minutes=20)
    nbf, exp = session_window(start, end, lead_minutes=10, grace_minutes=30)
    assert nbf == start - timedelta(minutes=10) - NBF_SKEW
    assert exp == end + timedelta(minutes=30)
    # Minted late (session opened after its slot): still usable now, never in the future.
    late = end + timedelta(hours=2)
    nbf2, exp2 = session_window(start, end, 10, 30, now=late)
    assert nbf2 == nbf
    assert exp2 == late + timedelta(minutes=30)
    # Minted early (days ahead): still not valid before its opening window.
    early = start - timedelta(days=3)
    nbf3, _ = session_window(start, end, 10, 30, now=early)
    assert nbf3 == nbf
    with pytest.raises(TokenError):
        session_window(end, start, 10, 30)
    with pytest.raises(TokenError):
        session_window(start.replace(tzinfo=None), end, 10, 30)


def test_window_tokens_decode_inside_the_window() -> None:
    nbf, exp = session_window(NOW, NOW + timedelta(minutes=20), 10, 30, now=NOW)
    token = _mint(JitsiAuth(app_id="videotramit", app_secret=SECRET), not_before=nbf, expires=exp)
    claims = _decode_hs(token)
    assert claims["room"] == ROOM
    # Usable at the minting moment, as Prosody would judge it then: nbf <= now < exp.
    assert claims["nbf"] <= int(NOW.timestamp()) < claims["exp"]
    # The edges, with no leeway: from nbf on, up to the second before exp.
    first = datetime.fromtimestamp(claims["nbf"], UTC)
    last = datetime.fromtimestamp(claims["exp"] - 1, UTC)
    assert _decode_hs(token, at=first) == claims == _decode_hs(token, at=last)
    with pytest.raises(jwt.ImmatureSignatureError):
        _decode_hs(token, at=first - timedelta(seconds=1))
    with pytest.raises(jwt.ExpiredSignatureError):
        _decode_hs(token, at=last + timedelta(seconds=1))


@pytest.mark.parametrize(
    "room",
    ["*", "VT-ABC", "vt-Abc", "vt abc", "vt_abc", "room.*", "-abc", "abc-", "", "a" * 101],
)
def test_room_must_be_exact_lowercase(room: str) -> None:
    with pytest.raises(TokenError):
        _mint(JitsiAuth(app_id="videotramit", app_secret=SECRET), room=room)


def test_room_claim_is_not_a_pattern() -> None:
    claims = _decode_hs(_mint(JitsiAuth(app_id="videotramit", app_secret=SECRET)))
    assert "room" not in claims["context"]  # no context.room.regex
    assert claims["room"] == ROOM


def test_bad_inputs() -> None:
    auth = JitsiAuth(app_id="videotramit", app_secret=SECRET)
    with pytest.raises(TokenError):
        _mint(auth, role="admin")
    with pytest.raises(TokenError):
        _mint(auth, not_before=NOW, expires=NOW)
    with pytest.raises(TokenError):
        _mint(auth, not_before=NOW.replace(tzinfo=None))
    with pytest.raises(TokenError):
        _mint(auth, user=Participant(id="", name="x"))


def test_auth_configuration_errors(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(TokenError):
        JitsiAuth(app_id="videotramit")  # no key at all
    with pytest.raises(TokenError):
        JitsiAuth(app_id="videotramit", app_secret=SECRET, private_key_pem=_pem(rsa_key), kid="k")
    with pytest.raises(TokenError):
        JitsiAuth(app_id="videotramit", private_key_pem=_pem(rsa_key))  # RS256 needs kid
    with pytest.raises(TokenError):
        JitsiAuth(app_id="videotramit", private_key_pem=b"not a pem", kid="k")
    with pytest.raises(TokenError):
        JitsiAuth(app_id="videotramit", app_secret=SECRET, subject="*")
    with pytest.raises(TokenError):
        JitsiAuth(app_id="", app_secret=SECRET)
    with pytest.raises(TokenError, match="32 bytes"):
        JitsiAuth(app_id="videotramit", app_secret="short")


def test_secrets_not_in_repr(rsa_key: rsa.RSAPrivateKey) -> None:
    auth = JitsiAuth(app_id="videotramit", app_secret=SECRET)
    assert SECRET not in repr(auth)
    rs = JitsiAuth(app_id="videotramit", private_key_pem=_pem(rsa_key), kid="k1")
    assert "PRIVATE" not in repr(rs)


def test_rs256_self_hosted(rsa_key: rsa.RSAPrivateKey) -> None:
    auth = JitsiAuth(
        app_id="videotramit",
        private_key_pem=_pem(rsa_key).decode(),
        kid="videotramit/key1",
        audience="jitsi",
        subject="meet.example.org",
    )
    token = _mint(auth, "citizen")
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "RS256", "typ": "JWT", "kid": "videotramit/key1"}
    claims = _decode(
        token,
        rsa_key.public_key(),
        algorithms=["RS256"],
        audience="jitsi",
        issuer="videotramit",
    )
    assert claims["sub"] == "meet.example.org"
    assert claims["context"]["user"]["affiliation"] == "member"


def test_jaas_form(rsa_key: rsa.RSAPrivateKey) -> None:
    app = "vpaas-magic-cookie-0123abcd"
    auth = JitsiAuth(app_id=app, private_key_pem=_pem(rsa_key), kid=f"{app}/4f5e6d")
    token = _mint(auth, "staff")
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    assert header["typ"] == "JWT"
    assert header["kid"] == f"{app}/4f5e6d"
    assert header["kid"].split("/")[0] == app  # the web client's kidMismatch check
    claims = _decode(
        token, rsa_key.public_key(), algorithms=["RS256"], audience="jitsi", issuer="chat"
    )
    assert claims["sub"] == app
    assert claims["room"] == ROOM
    assert "features" in claims["context"]  # featuresNotFound otherwise
    assert claims["context"]["user"]["moderator"] == "true"


def test_jaas_kid_rules(rsa_key: rsa.RSAPrivateKey) -> None:
    app = "vpaas-magic-cookie-0123abcd"
    with pytest.raises(TokenError):
        JitsiAuth(app_id=app, private_key_pem=_pem(rsa_key), kid="key1")
    with pytest.raises(TokenError):
        JitsiAuth(app_id=app, private_key_pem=_pem(rsa_key), kid="vpaas-magic-cookie-ffff/k1")
    with pytest.raises(TokenError):
        JitsiAuth(app_id=app, app_secret=SECRET)
