"""Riva-compatible CPU speech server: faster-whisper ASR and piper TTS behind Riva's gRPC API."""
