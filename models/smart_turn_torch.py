"""Smart Turn v3 as a torch module, with the weights of the bundled ONNX (dequantized).

The network the ONNX graph computes: a Whisper-tiny encoder (conv 80->384 k3, GELU,
conv 384->384 k3 stride 2, GELU, learned positions [400, 384], 4 pre-LN layers of 6-head
attention (k_proj without bias) and a 1536 GELU MLP, final LayerNorm), attention pooling over
the 400 frames (Linear 384->256, Tanh, Linear 256->1, softmax over time, weighted sum) and an
MLP head (Linear 384->256, LayerNorm, GELU, Linear 256->64, GELU, Linear 64->1, sigmoid).
Every GELU is the exact (erf) one and every LayerNorm uses eps 1e-5, as in the graph.

In: log-mel features [batch, 80, 800] (8 s at 16 kHz, Whisper style), on the module's device.
Out: probability that the turn is complete, [batch] (the ONNX "logits" output, squeezed).
"""

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from models.onnx_weights import pytorch_weights
from models.smart_turn_file import locate

N_MELS, N_CTX, D_MODEL, N_HEAD, N_LAYER, D_FFN = 80, 400, 384, 6, 4, 1536


class SelfAttention(nn.Module):
    def __init__(self, d: int, n_head: int) -> None:
        super().__init__()
        self.n_head = n_head
        self.q_proj = nn.Linear(d, d)
        self.k_proj = nn.Linear(d, d, bias=False)
        self.v_proj = nn.Linear(d, d)
        self.out_proj = nn.Linear(d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = (
            proj(x).view(b, t, self.n_head, -1).transpose(1, 2)
            for proj in (self.q_proj, self.k_proj, self.v_proj)
        )
        y = F.scaled_dot_product_attention(q, k, v)  # softmax(q k^T / sqrt(64)) v
        return self.out_proj(y.transpose(1, 2).reshape(b, t, d))


class EncoderLayer(nn.Module):
    def __init__(self, d: int, n_head: int, d_ffn: int) -> None:
        super().__init__()
        self.self_attn = SelfAttention(d, n_head)
        self.self_attn_layer_norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, d_ffn)
        self.fc2 = nn.Linear(d_ffn, d)
        self.final_layer_norm = nn.LayerNorm(d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.self_attn_layer_norm(x))
        return x + self.fc2(F.gelu(self.fc1(self.final_layer_norm(x))))


class Encoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(N_MELS, D_MODEL, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(D_MODEL, D_MODEL, kernel_size=3, stride=2, padding=1)
        self.embed_positions = nn.Embedding(N_CTX, D_MODEL)
        self.layers = nn.ModuleList(EncoderLayer(D_MODEL, N_HEAD, D_FFN) for _ in range(N_LAYER))
        self.layer_norm = nn.LayerNorm(D_MODEL)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.conv2(F.gelu(self.conv1(features))))  # [B, 384, 400]
        x = x.transpose(1, 2) + self.embed_positions.weight  # [B, 400, 384]
        for layer in self.layers:
            x = layer(x)
        return self.layer_norm(x)


class SmartTurnTorch(nn.Module):
    """Whisper-tiny encoder + attention pooling + MLP head; forward returns probabilities [B]."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = Encoder()
        self.pool_attention = nn.Sequential(nn.Linear(D_MODEL, 256), nn.Tanh(), nn.Linear(256, 1))
        self.classifier = nn.Sequential(
            nn.Linear(D_MODEL, 256),
            nn.LayerNorm(256),
            nn.GELU(),
            nn.Identity(),  # index 3 holds no weights (a dropout in training)
            nn.Linear(256, 64),
            nn.GELU(),
            nn.Linear(64, 1),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        h = self.encoder(features)  # [B, 400, 384]
        w = torch.softmax(self.pool_attention(h), dim=1)  # [B, 400, 1], sums to 1 over time
        pooled = (h * w).sum(dim=1)  # [B, 384]
        return torch.sigmoid(self.classifier(pooled)).squeeze(-1)

    @classmethod
    def from_onnx(
        cls,
        path: str | Path | None = None,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> "SmartTurnTorch":
        """Build the module in eval mode from the ONNX at `path` (default: the bundled one)."""
        weights = pytorch_weights(locate(path).path)
        state = {k.removeprefix("inner."): torch.tensor(a) for k, a in weights.items()}
        model = cls()
        model.load_state_dict(state, strict=True)
        return model.to(device=device, dtype=dtype).eval().requires_grad_(False)


def from_onnx(
    path: str | Path | None = None,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> SmartTurnTorch:
    """Same as `SmartTurnTorch.from_onnx`."""
    return SmartTurnTorch.from_onnx(path, device=device, dtype=dtype)
