"""`serve --cpu` hands its whole speech_server section to the speech-server child: the
settings the child reads from its environment equal the parent's, whatever their source."""

from pathlib import Path

from pipeline.serve.cpu_mode import cpu_children
from pipeline.settings import Settings


def test_the_speech_server_child_gets_the_parents_section(monkeypatch, tmp_path: Path):
    parent = Settings.model_validate(
        {"speech_server": {"max_streams": 3, "max_tts_streams": 2, "keepalive_s": 4.5}}
    )
    children, _ = cpu_children(parent, tmp_path)
    speech = next(c for c in children if c.name == "speech-server")
    for name, value in speech.env.items():
        monkeypatch.setenv(name, value)
    assert Settings().speech_server == parent.speech_server
