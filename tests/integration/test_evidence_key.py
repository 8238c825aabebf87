"""The council's evidence key: made by the CLI, read from outside data_dir only, its
public key and fingerprint printed for publication."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.services import load_evidence_signer
from config.settings import ConfigError
from storage.evidence_keys import EvidenceSigner, load_public_key
from tests.support import office_settings


def test_a_new_key_is_printed_for_publication(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "keys" / "evidence.key"
    assert main(["evidence", "key", "--new", str(key)]) == 0
    printed = capsys.readouterr().out
    signer = EvidenceSigner.from_file(key)
    assert signer.public_pem() in printed
    assert f"fingerprint (SHA-256): {signer.fingerprint}" in printed
    assert key.stat().st_mode & 0o077 == 0
    assert load_public_key(signer.public_pem().encode()) is not None
    assert main(["evidence", "key", "--new", str(key)]) == 1  # never overwritten


def test_the_key_file_must_be_outside_data_dir(tmp_path: Path) -> None:
    inside = tmp_path / "data" / "evidence.key"
    EvidenceSigner.generate().write(inside)
    settings = office_settings(
        "sqlite+aiosqlite:///x.db", tmp_path / "data", evidence={"key_file": str(inside)}
    )
    with pytest.raises(ConfigError, match="evidence.key_file: must be outside data_dir"):
        load_evidence_signer(settings)
    outside = tmp_path / "evidence.key"
    EvidenceSigner.generate().write(outside)
    settings = office_settings(
        "sqlite+aiosqlite:///x.db", tmp_path / "data", evidence={"key_file": str(outside)}
    )
    found = load_evidence_signer(settings)
    assert found is not None and found.fingerprint == EvidenceSigner.from_file(outside).fingerprint


def test_a_bad_key_names_the_setting(tmp_path: Path) -> None:
    settings = office_settings(
        "sqlite+aiosqlite:///x.db", tmp_path / "data", evidence={"signing_key": "not a key!"}
    )
    with pytest.raises(ConfigError, match="evidence.signing_key"):
        load_evidence_signer(settings)
