"""The model's input as torch ops, on any device: packed int16 turns -> clips -> log-mel.

`front_padded_clips`: int16 samples packed back to back (models.packed_batch.pack) and their
offsets [B + 1] -> float32 clips [B, 128000], each turn scaled by 1/32768 (Pipecat's scaling)
and zero-padded at the start, as models.clip.pad_clip does. One gather, fixed shape for a
fixed B (whatever the turns' lengths), so it can sit inside a CUDA graph.
`LogMel`: clips float32 [B, N] -> Whisper log-mel features float32 [B, 80, N // 160], the math of
kernels/log_mel.py and Pipecat's compute_whisper_log_mel_features: per-clip zero mean / unit
variance (eps 1e-7, statistics accumulated in float64), reflect padding of 200 samples, periodic
Hann frames of 400 every 160 samples (torch.stft: cuFFT on a GPU), power spectrum, Slaney mel
filterbank (kernels/mel_tables.py), log10 with a 1e-10 floor, the trailing frame dropped,
clamp to (clip max - 8), then (x + 4) / 4.
"""

import torch
from torch import nn

from kernels.mel_tables import HOP, MEL_FLOOR, N_FFT, NORM_EPS, hann_window, mel_filters
from models.clip import CLIP_SAMPLES


def front_padded_clips(
    samples: torch.Tensor, offsets: torch.Tensor, length: int = CLIP_SAMPLES
) -> torch.Tensor:
    """int16 samples [S] and offsets int [B + 1] (turn i is samples[offsets[i]:offsets[i + 1]],
    at most `length` long) -> float32 [B, length]: turn i / 32768 at the end of row i, zeros
    before it. Output position t of row i reads sample offsets[i + 1] - length + t."""
    offsets = offsets.to(torch.int32)  # int32 indices: half the memory of int64
    starts, ends = offsets[:-1, None], offsets[1:, None]
    source = ends - length + torch.arange(length, dtype=torch.int32, device=samples.device)
    values = samples[source.clamp_min(0)].to(torch.float32) / 32768.0
    return torch.where(source >= starts, values, 0.0)


class LogMel(nn.Module):
    """Whisper log-mel features: forward(audio float32 [B, N >= 400]) -> [B, 80, N // 160]."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("window", torch.from_numpy(hann_window()).float())
        self.register_buffer("mel", torch.from_numpy(mel_filters().T.copy()).float())  # [80, 201]

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        n = audio.shape[-1]
        if audio.ndim != 2 or n < N_FFT:
            raise ValueError(f"expected audio [batch, samples >= {N_FFT}], got {audio.shape}")
        mean = audio.sum(1, keepdim=True, dtype=torch.float64) / n
        centered = audio - mean.float()
        var = centered.square().sum(1, keepdim=True, dtype=torch.float64) / n
        x = centered * torch.rsqrt(var + NORM_EPS).float()
        spectrum = torch.stft(
            x,
            N_FFT,
            HOP,
            window=self.window,
            center=True,
            pad_mode="reflect",
            return_complex=True,
        )  # [B, 201, N // 160 + 1]: Whisper drops the last frame
        spectrum = spectrum[..., : n // HOP]
        power = spectrum.real.square() + spectrum.imag.square()
        log_mel = torch.log10(torch.matmul(self.mel, power).clamp_min(MEL_FLOOR))
        floor = log_mel.amax(dim=(1, 2), keepdim=True) - 8.0
        return (torch.maximum(log_mel, floor) + 4.0) / 4.0
