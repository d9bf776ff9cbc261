"""Pipecat's streaming NvidiaSTTService, but it asks the server for the configured ASR model.

Stock Pipecat 1.14 always sends `RecognitionConfig.model = ""`, so a Riva/NIM server with
several ASR models answers with its default one. This subclass sends the model name given
in `model_function_map["model_name"]` (our `asr.model` setting).
"""

from pipecat.services.nvidia.stt import NvidiaSTTService


class NamedModelNvidiaSTTService(NvidiaSTTService):
    """NvidiaSTTService whose streaming requests name the configured model."""

    def _create_recognition_config(self):
        config = super()._create_recognition_config()
        config.config.model = self._settings.model or ""
        return config
