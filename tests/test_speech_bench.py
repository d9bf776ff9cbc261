"""`switchboard bench speech` against the live test server: it runs and writes sane figures."""

import json

from speech_server_fixture import speech_server  # noqa: F401

from pipeline.cli import main


def test_bench_speech_writes_its_figures(speech_server, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "speech.json"
    argv = ["bench", "speech", "--server", speech_server.address, "--streams", "1"]
    assert main([*argv, "--sentences", "1", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert 0 < figures["asr"]["rtf"] < 1 and 0 < figures["tts"]["rtf"] < 1
    assert 0 < figures["tts"]["first_chunk_s"] < 5
    (level,) = figures["streams"]
    assert level["streams"] == 1 and level["sentences"] == 1 and not level["errors"]
    assert 0 < level["p50_s"] < 10
    assert figures["max_real_time_streams"] == (1 if level["real_time"] else 0)
    assert "Callers at once" in capsys.readouterr().out
