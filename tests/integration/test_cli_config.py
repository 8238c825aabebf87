"""Bad configuration and secrets, as an operator meets them: `videotramit` in a subprocess
exits 2 with one line naming the key, never a traceback (issue 10, part 7)."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from config.settings import ENVIRONMENT_ONLY, ConfigError, embedded_text, load_settings
from tests.support import STAFF_TOML

VIDEOTRAMIT = [sys.executable, "-m", "bot.cli"]
GOOD_SECRET = "a-jitsi-secret-of-forty-bytes-0123456789"


def _config(tmp_path: Path, extra: str = "", *, data_dir: Path | None = None) -> Path:
    config = tmp_path / "council.toml"
    config.write_text(
        f'data_dir = "{data_dir or tmp_path / "data"}"\n'
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "vt.db"}"\n'
        f"{extra}\n{STAFF_TOML}"
    )
    return config


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOTRAMIT_")}
    environment.update(env)
    return subprocess.run(
        VIDEOTRAMIT + args, capture_output=True, text=True, timeout=120, env=environment
    )


def _refused(result: subprocess.CompletedProcess[str], key: str) -> None:
    assert result.returncode == 2, result.stderr
    assert key in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        (f'[jitsi]\napp_secret = "{GOOD_SECRET}"', "jitsi.app_secret"),
        ('[jibri]\nwebhook_token = "let-me-in"', "jibri.webhook_token"),
        ('[email]\npassword = "hunter2"', "email.password"),
        ('[telegram]\ntoken = "123:abc"', "telegram.token"),
        (
            f'[storage]\nmaster_key = "{base64.b64encode(os.urandom(32)).decode()}"',
            "storage.master_key",
        ),
        ('[evidence]\nsigning_key = "x"', "evidence.signing_key"),
    ],
    # Named by the key: a random key in the id would differ between test workers.
    ids=lambda value: value if "." in value and "=" not in value else "",
)
def test_a_secret_in_the_configuration_file_is_refused(tmp_path: Path, toml: str, key: str) -> None:
    _refused(_run(["db", "upgrade", "--config", str(_config(tmp_path, toml))]), key)


@pytest.mark.parametrize(
    "url", ["mysql://x", "garbage", "postgresql://postgres@127.0.0.1/vt", "sqlite:///x.db"]
)
def test_a_bad_database_url_is_refused(tmp_path: Path, url: str) -> None:
    config = tmp_path / "council.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[database]\nurl = "{url}"\n{STAFF_TOML}')
    _refused(_run(["db", "upgrade", "--config", str(config)]), "database.url")


def test_weak_keys_are_refused_at_start(tmp_path: Path) -> None:
    config = str(_config(tmp_path))
    zeros = base64.b64encode(bytes(32)).decode()
    _refused(
        _run(["run", "--config", config], VIDEOTRAMIT_STORAGE__MASTER_KEY=zeros),
        "storage.master_key",
    )
    _refused(
        _run(["db", "upgrade", "--config", config], VIDEOTRAMIT_JITSI__APP_SECRET="short"),
        "jitsi.app_secret",
    )


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "master.keys"
    key_file.parent.mkdir()
    key_file.write_text(base64.b64encode(os.urandom(32)).decode())
    key_file.chmod(0o644)
    config = _config(tmp_path, f'[storage]\nkey_file = "{key_file}"')
    _refused(_run(["run", "--config", str(config)]), "storage.key_file")


def test_a_data_dir_that_cannot_be_created_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    config = _config(tmp_path, data_dir=blocker / "data")
    _refused(_run(["run", "--config", str(config)]), "data_dir")


@pytest.mark.parametrize("command", [["db", "upgrade"], ["run"]])
def test_a_database_file_that_cannot_have_its_folder_is_refused(
    tmp_path: Path, command: list[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    config = tmp_path / "council.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\n'
        f'[database]\nurl = "sqlite+aiosqlite:///{blocker / "db" / "vt.db"}"\n{STAFF_TOML}'
    )
    result = _run([*command, "--config", str(config)])
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"videotramit: database.url: cannot create the folder {blocker / 'db'} (Not a directory)"
    ]


def test_a_busy_listen_port_is_refused(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = _config(tmp_path, f'[web]\nlisten = "127.0.0.1:{port}"')
        _refused(_run(["run", "--config", str(config)]), "web.listen")


def test_telegram_unreachable_at_start_exits_1_in_one_line(tmp_path: Path) -> None:
    """The supervisor (systemd's Restart=on-failure) starts it again; before, the operator
    read a traceback of the Bot API client."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        extra = (
            f'[web]\nlisten = "127.0.0.1:0"\npublic_base_url = "https://oac.example"\n'
            f'[telegram]\nenabled = true\nmode = "webhook"\n'
            f'base_url = "http://127.0.0.1:{port}/bot"\n'
        )
        result = _run(
            ["run", "--config", str(_config(tmp_path, extra))],
            VIDEOTRAMIT_TELEGRAM__TOKEN="123456:ABCdefGHIjkl",
            VIDEOTRAMIT_TELEGRAM__WEBHOOK_SECRET="a-webhook-secret-0123456789",
        )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("videotramit: telegram: cannot start (NetworkError"), last


def test_secrets_come_from_files_named_in_the_configuration(tmp_path: Path) -> None:
    secret = tmp_path / "jitsi.secret"
    secret.write_text(GOOD_SECRET + "\n")
    settings = load_settings(_config(tmp_path, f'[jitsi]\napp_secret_file = "{secret}"'))
    assert settings.jitsi.app_secret.get_secret_value() == GOOD_SECRET
    with pytest.raises(ConfigError, match="jibri.webhook_token_file"):
        load_settings(_config(tmp_path, f'[jibri]\nwebhook_token_file = "{tmp_path / "no"}"'))


def test_the_master_key_lives_beside_data_dir_not_inside_it(tmp_path: Path) -> None:
    settings = load_settings(_config(tmp_path))
    assert settings.key_file == tmp_path / "data-keys" / "master.keys"
    assert not settings.key_file.is_relative_to(settings.data_dir)


def test_the_demo_configuration_ships_no_secret() -> None:
    demo = tomllib.loads(embedded_text("demo.toml"))
    assert not [
        f"{section}.{key}" for section, key in ENVIRONMENT_ONLY if demo.get(section, {}).get(key)
    ]


def test_a_key_file_left_inside_data_dir_keeps_working_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.services import master_key_file

    settings = load_settings(_config(tmp_path))
    legacy = settings.data_dir / "keys" / "master.keys"
    assert master_key_file(settings) == settings.key_file  # nothing there yet
    legacy.parent.mkdir(parents=True)
    legacy.write_text("x")
    with caplog.at_level("WARNING"):
        assert master_key_file(settings) == legacy
    assert "inside data_dir" in caplog.text
