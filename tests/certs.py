"""A council seal certificate for signing tests: a self-signed key in a PKCS#12 file,
and validation of a signed PDF with pyHanko against it.

Both take the moment from the test (its clock), never the machine's: the certificate is
valid around that moment and the signature is validated at it, so a test clock years away
from the wall clock still gets a valid, trusted seal."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any


def make_council_p12(path: Path, passphrase: bytes = b"s3cret", *, moment: dt.datetime) -> bytes:
    """Write the PKCS#12 file at `path`, valid from a day before `moment` for a year;
    return the certificate (DER)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "ES"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ajuntament de Prova"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Segell d'òrgan de prova"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(moment - dt.timedelta(days=1))
        .not_valid_after(moment + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"council", key, cert, None, serialization.BestAvailableEncryption(passphrase)
        )
    )
    return cert.public_bytes(serialization.Encoding.DER)


def validate(signed: bytes, cert_der: bytes, *, moment: dt.datetime) -> Any:
    """pyHanko's validation status of the one signature in `signed`, checked at `moment`."""
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    signature = _signature(signed)
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
    context = ValidationContext(trust_roots=[asn1_x509.Certificate.load(cert_der)], moment=moment)
    return validate_pdf_signature(signature, context)


def claimed_times(signed: bytes) -> dict[str, dt.datetime | None]:
    """Every time the seal states, read back from the signed PDF: the signature
    dictionary's /M, the CMS signingTime attribute (PAdES forbids it, so None) and the
    /ModDate of the revision the signature appended."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.reader import PdfFileReader

    signature = _signature(signed)
    signed_attrs = signature.signer_info["signed_attrs"]
    cms_time = next(
        (a["values"][0].native for a in signed_attrs if a["type"].native == "signing_time"),
        None,
    )
    info = PdfFileReader(io.BytesIO(signed), strict=False).trailer["/Info"]
    return {
        "M": generic.parse_pdf_date(signature.sig_object["/M"]),
        "cms_signing_time": cms_time,
        "ModDate": generic.parse_pdf_date(info["/ModDate"]),
    }


def _signature(signed: bytes) -> Any:
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(signed))
    (signature,) = reader.embedded_signatures
    return signature
