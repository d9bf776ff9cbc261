import sys
from pathlib import Path

# Test helpers (tests/speech_audio.py) import as top-level modules.
sys.path.insert(0, str(Path(__file__).parent))
