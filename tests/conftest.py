import sys
from pathlib import Path

# Test helpers (tests/speech_audio.py) import as top-level modules.
sys.path.insert(0, str(Path(__file__).parent))


def pytest_collection_modifyitems(items: list) -> None:
    """Mark the tests of the modules in tests/unit_modules.py `unit` (what `make check` runs)."""
    from unit_modules import UNIT_MODULES

    for item in items:
        if getattr(item.module, "__name__", "") in UNIT_MODULES:
            item.add_marker("unit")
