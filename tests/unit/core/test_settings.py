from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import ConfigError, load_settings, parse_duration


def test_embedded_defaults_are_valid() -> None:
    settings = load_settings(None)
    assert settings.timezone == "Europe/Madrid"
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.languages == ["ca", "es", "en"]


def test_file_overrides_defaults_and_environment_overrides_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "council.toml"
    config.write_text('[council]\nname = "Ajuntament de Prova"\n[schedule]\nslot_minutes = 15\n')
    monkeypatch.setenv("VIDEOTRAMIT_SCHEDULE__SLOT_MINUTES", "20")
    monkeypatch.setenv("VIDEOTRAMIT_TELEGRAM__TOKEN", "123:secret")
    settings = load_settings(config)
    assert settings.council.name == "Ajuntament de Prova"
    assert settings.schedule.slot_minutes == 20
    assert settings.schedule.horizon_days == 30  # untouched default survives the merge
    assert settings.telegram.token.get_secret_value() == "123:secret"
    assert "123:secret" not in repr(settings)


def test_config_from_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.toml"
    config.write_text('data_dir = "/srv/vt"\n')
    monkeypatch.setenv("VIDEOTRAMIT_CONFIG", str(config))
    assert str(load_settings(None).data_dir) == "/srv/vt"


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[schedule]\nslot_minuts = 30\n", "schedule.slot_minuts"),
        ("[schedule]\nslot_minutes = 25\n", "schedule.slot_minutes"),
        ('[web]\nlisten = "nowhere"\n', "web.listen"),
        ('timezone = "Mars/Olympus"\n', "timezone"),
        ('[telegram]\nmode = "carrier-pigeon"\n', "telegram.mode"),
        ('[[staff]]\nid = "Anna Puig"\nname = "Anna"\n', "staff.0.id"),
        ('[schedule]\nreminders = ["tomorrow"]\n', "schedule.reminders"),
        # a call waiting longer than the worker's lease would be claimed again elsewhere
        ("[jibri]\ntimeout_seconds = 300\n", "jibri.timeout_seconds"),
        ('[matrix]\npassword = "hunter2"\n', "VIDEOTRAMIT_MATRIX__PASSWORD"),
        ('[matrix]\naccess_token = "syt_x"\n', "VIDEOTRAMIT_MATRIX__ACCESS_TOKEN"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, toml: str, key: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(toml)
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert key in str(caught.value)


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[council\nname=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken)


def test_bad_environment_value_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDEOTRAMIT_EMAIL__PORT", "not-a-port")
    with pytest.raises(ConfigError, match="email.port"):
        load_settings(None)


@pytest.mark.parametrize(("text", "minutes"), [("24h", 1440), ("90m", 90), ("2d", 2880)])
def test_durations(text: str, minutes: int) -> None:
    assert parse_duration(text) == minutes


def test_every_key_of_the_embedded_defaults_is_explained() -> None:
    """README promises that every key in config/default.toml is commented."""
    from config.settings import embedded_text

    lines = embedded_text("default.toml").splitlines()
    unexplained = []
    for number, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "[")) or "=" not in stripped:
            continue
        key = stripped.split("=", 1)[0].strip()
        explained = "#" in line.split("=", 1)[1] or lines[number - 1].strip().startswith("#")
        obvious = key in {"enabled", "host", "port", "starttls", "username", "address", "url"}
        if not explained and not obvious:
            unexplained.append(key)
    assert unexplained == []


def test_council_texts_per_language() -> None:
    from bot.app import build_office
    from bot.demo import demo_settings

    council = build_office(demo_settings(Path("/nonexistent/demo"))).council
    assert council.said("ca") == "l'Ajuntament de Vilademo"
    assert council.said("en") == "Vilademo Town Council"
    assert council.controller_in("es") == "el Ayuntamiento de Vilademo"
    assert council.retention_in("ca").startswith("el temps que el tràmit")
    assert council.retention_in("en").startswith("the time the procedure")


def test_matrix_secrets_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.channels.matrix import options_from

    config = tmp_path / "council.toml"
    config.write_text('[matrix]\nenabled = true\nhomeserver = "https://hs.example.org"\n')
    monkeypatch.setenv("VIDEOTRAMIT_MATRIX__USER_ID", "@oac:example.org")
    monkeypatch.setenv("VIDEOTRAMIT_MATRIX__PASSWORD", "from-the-environment")
    options = options_from(load_settings(config))
    assert options.password == "from-the-environment" and options.user_id == "@oac:example.org"
    assert options.store_dir.name == "matrix"
    monkeypatch.setenv("VIDEOTRAMIT_MATRIX__USER_ID", "oac")
    with pytest.raises(ConfigError, match="matrix.user_id"):
        options_from(load_settings(config))
