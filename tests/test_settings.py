import pytest

from pipeline.cli import main
from pipeline.settings import SettingsError, load_settings


def test_defaults_point_at_localhost():
    settings = load_settings()
    assert settings.asr.server == "localhost:50051"
    assert settings.turn.engine == "local"


def test_env_overrides_yaml(tmp_path, monkeypatch):
    config = tmp_path / "site.yaml"
    config.write_text("asr:\n  server: riva-asr:50051\n  model: parakeet\nturn:\n  max_batch: 64\n")
    monkeypatch.setenv("SWITCHBOARD_TURN__MAX_BATCH", "128")
    settings = load_settings(config)
    assert settings.asr.server == "riva-asr:50051"
    assert settings.asr.model == "parakeet"
    assert settings.turn.max_batch == 128


def test_invalid_value_names_the_key(monkeypatch):
    monkeypatch.setenv("SWITCHBOARD_TURN__DEVICE", "tpu")
    with pytest.raises(SettingsError, match=r"turn\.device \(env SWITCHBOARD_TURN__DEVICE\)"):
        load_settings()


def test_unknown_yaml_key_is_rejected(tmp_path):
    config = tmp_path / "site.yaml"
    config.write_text("asr:\n  sever: typo:1\n")
    with pytest.raises(SettingsError, match=r"asr\.sever"):
        load_settings(config)


def test_missing_config_file(tmp_path):
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml")


def test_cli_reports_bad_settings_and_exits_2(tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text("llm:\n  base_url: ftp://nowhere\n")
    assert main(["--config", str(config), "turn-score", str(tmp_path / "x.wav")]) == 2
    assert "llm.base_url" in capsys.readouterr().err


def test_deprecated_sip_names_stand_for_the_shared_ones(caplog):
    settings = load_settings(agent={"sip_max_calls": 3, "sip_allowed_peers": ["10.0.0.0/8"]})
    assert settings.agent.max_calls == 3
    assert [str(net) for net in settings.agent.allowed_peers] == ["10.0.0.0/8"]
    assert "agent.sip_max_calls is deprecated" in caplog.text


def test_new_names_win_over_deprecated_ones():
    settings = load_settings(agent={"sip_max_calls": 3, "max_calls": 7})
    assert settings.agent.max_calls == 7
