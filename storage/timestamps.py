"""RFC 3161 time-stamps: the request for a statement, and the check of the answer.

The authority (TSA) signs "these SHA-256 bytes existed at this time" with its own key;
the answer (a ``TimeStampResp``, DER) is kept as is, so ``openssl ts -verify -in X.tsr
-data X.statement -CAfile tsa.pem`` checks it too. Here the check is: the authority
granted it, the imprint is the statement's SHA-256, the CMS signature over the token is
valid for the certificate it names, and (when one is pinned) that certificate is the
authority's. The HTTP call itself is made elsewhere (bot/), outside any transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import algos, cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

__all__ = ["TimestampError", "TimestampInfo", "check_response", "request_for"]

CONTENT_TYPE_QUERY = "application/timestamp-query"
CONTENT_TYPE_REPLY = "application/timestamp-reply"
_HASHES: dict[str, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class TimestampError(ValueError):
    """The answer is not a valid time-stamp of these bytes; the message says why."""


@dataclass(frozen=True)
class TimestampInfo:
    time: datetime  # the authority's time (UTC)
    serial: int
    tsa_certificate: bytes  # DER of the certificate that signed it
    tsa_subject: str


def request_for(statement: bytes) -> bytes:
    """A DER ``TimeStampReq`` for SHA-256(statement), asking for the TSA's certificate."""
    return tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": hashlib.sha256(statement).digest(),
            },
            "nonce": secrets.randbits(63),
            "cert_req": True,
        }
    ).dump()


def _signer_certificate(signed: cms.SignedData, signer: cms.SignerInfo) -> asn1_x509.Certificate:
    sid = signer["sid"]
    for choice in signed["certificates"] or ():
        if choice.name != "certificate":
            continue
        cert = choice.chosen
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            if (
                cert.issuer == wanted["issuer"]
                and cert.serial_number == wanted["serial_number"].native
            ):
                return cert
        elif cert.key_identifier == sid.chosen.native:
            return cert
    raise TimestampError("the time-stamp does not carry the authority's certificate")


def _verify_cms(public: object, signature: bytes, data: bytes, algorithm: str, digest: str) -> None:
    hash_cls = _HASHES.get(digest)
    if hash_cls is None:
        raise TimestampError(f"unsupported digest {digest}")
    try:
        if isinstance(public, rsa.RSAPublicKey):
            if algorithm == "rsassa_pss":
                pss = padding.PSS(padding.MGF1(hash_cls()), padding.PSS.DIGEST_LENGTH)
                public.verify(signature, data, pss, hash_cls())
            else:
                public.verify(signature, data, padding.PKCS1v15(), hash_cls())
        elif isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, data, ec.ECDSA(hash_cls()))
        elif isinstance(public, ed25519.Ed25519PublicKey):
            public.verify(signature, data)
        else:
            raise TimestampError("unsupported key type in the authority's certificate")
    except InvalidSignature:
        raise TimestampError("the authority's signature does not verify") from None


def check_response(
    response: bytes, statement: bytes, *, trusted_certificate: bytes | None = None
) -> TimestampInfo:
    """Check a DER ``TimeStampResp`` for ``statement``; raise :class:`TimestampError`."""
    try:
        resp = tsp.TimeStampResp.load(response)
        status = resp["status"]["status"].native
        token = resp["time_stamp_token"]
        if status not in ("granted", "granted_with_mods") or token.native is None:
            raise TimestampError(f"the authority did not grant it ({status})")
        signed: cms.SignedData = token["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].native != "tst_info":
            raise TimestampError("not a time-stamp token")
        tst_der = encap["content"].contents
        info = tsp.TSTInfo.load(tst_der)
        imprint = info["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        if algorithm not in _HASHES:
            raise TimestampError(f"unsupported imprint digest {algorithm}")
        expected = hashlib.new(algorithm, statement).digest()
        if imprint["hashed_message"].native != expected:
            raise TimestampError("the time-stamp is for other bytes")
        [signer] = signed["signer_infos"]
        cert = _signer_certificate(signed, signer)
        digest = signer["digest_algorithm"]["algorithm"].native
        attrs = signer["signed_attrs"]
        if not len(attrs):
            raise TimestampError("the time-stamp has no signed attributes")
        digests = [a["values"][0].native for a in attrs if a["type"].native == "message_digest"]
        if digests != [hashlib.new(digest, tst_der).digest()]:
            raise TimestampError("the token's digest does not match its content")
        # The signature covers the attributes DER-encoded as a SET (RFC 5652 5.4).
        signed_bytes = b"\x31" + attrs.dump()[1:]
        sig_algorithm: algos.SignedDigestAlgorithm = signer["signature_algorithm"]
        cert_der = cert.dump()
        public = x509.load_der_x509_certificate(cert_der).public_key()
        _verify_cms(
            public,
            signer["signature"].native,
            signed_bytes,
            sig_algorithm.signature_algo,
            digest,
        )
        when = info["gen_time"].native
    except TimestampError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise TimestampError("not a readable time-stamp response") from exc
    if trusted_certificate is not None and cert_der != trusted_certificate:
        raise TimestampError("signed by another authority than the one trusted")
    return TimestampInfo(
        time=when.astimezone(UTC),
        serial=int(info["serial_number"].native),
        tsa_certificate=cert_der,
        tsa_subject=cert.subject.human_friendly,
    )


def certificate_pem(der: bytes) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding

    return x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM).decode("ascii")


def certificate_der(pem_or_der: bytes) -> bytes:
    """A certificate's DER from a PEM or DER file (the TSA certificate to trust)."""
    from cryptography.hazmat.primitives.serialization import Encoding

    try:
        if pem_or_der.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(pem_or_der).public_bytes(Encoding.DER)
        return x509.load_der_x509_certificate(pem_or_der).public_bytes(Encoding.DER)
    except ValueError as exc:
        raise TimestampError("not a readable certificate") from exc
