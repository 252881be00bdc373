"""A small Llama-style decoder in one readable module: token embeddings tied to the output head, pre-norm
blocks of causal self-attention with rotary positions and a SwiGLU MLP, RMSNorm or L1 normalisation.

Every projection inside the blocks is a `QuantLinear`, so one `QuantSpec` turns the model into a ShiftQuant
integer-training model (4/6/8 bits) or leaves it full precision. The embedding/head and the attention score
products stay full precision, as in the paper's Transformer experiments (first and last layers unquantised).
Sizes from about 1M to 100M parameters come from the config alone.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, model_validator
from torch import nn

from curation.train.norm import make_norm
from curation.train.quant import QuantLinear, QuantSpec


class ModelConfig(BaseModel):
    """Model shape and number formats (bits None = full precision)."""

    model_config = ConfigDict(extra="forbid")

    vocab_size: int = 8192
    dim: int = 128
    layers: int = 4
    heads: int = 4
    hidden: int | None = None  # SwiGLU width; default about 8/3 * dim, rounded up to a multiple of 32
    context: int = 256
    norm: str = "rms"  # rms | l1 | l1_centered
    rope_theta: float = 10000.0
    bits: int | None = None  # one width for weights, activations and gradients...
    weight_bits: int | None = None  # ...or each on its own
    activation_bits: int | None = None
    gradient_bits: int | None = None
    shift_levels: int = 8  # K in ShiftQuant (1 = per-tensor gradient scale)

    @model_validator(mode="after")
    def _check(self):
        if self.dim % self.heads or (self.dim // self.heads) % 2:
            raise ValueError(f"dim {self.dim} must split into {self.heads} heads of an even size")
        for b in (self.bits, self.weight_bits, self.activation_bits, self.gradient_bits):
            if b is not None and not 2 <= b <= 16:
                raise ValueError(f"bit width {b}: use 2..16, or leave it out for full precision")
        if not 1 <= self.shift_levels <= 8:
            raise ValueError(f"shift_levels {self.shift_levels}: use 1..8 (1 = one gradient scale per tensor)")
        if self.norm not in ("rms", "l1", "l1_centered"):
            raise ValueError(f"norm '{self.norm}': use rms, l1 or l1_centered")
        return self

    @property
    def quant(self) -> QuantSpec:
        return QuantSpec(self.weight_bits or self.bits, self.activation_bits or self.bits,
                         self.gradient_bits or self.bits, self.shift_levels)

    @property
    def mlp_hidden(self) -> int:
        return self.hidden or -(-int(8 * self.dim / 3) // 32) * 32


def rotary_tables(head_dim: int, context: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    freqs = 1.0 / theta ** (torch.arange(0, head_dim, 2).float() / head_dim)
    angles = torch.outer(torch.arange(context).float(), freqs)
    return angles.cos(), angles.sin()


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate each (even, odd) pair of a head's channels by its position's angle: x is (B, H, T, D)."""
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.heads = cfg.heads
        self.qkv = QuantLinear(cfg.dim, 3 * cfg.dim, cfg.quant)
        self.out = QuantLinear(cfg.dim, cfg.dim, cfg.quant)

    def forward(self, x, cos, sin):
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.out(y.transpose(1, 2).reshape(b, t, d))


class SwiGLU(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.gate_up = QuantLinear(cfg.dim, 2 * cfg.mlp_hidden, cfg.quant)
        self.down = QuantLinear(cfg.mlp_hidden, cfg.dim, cfg.quant)

    def forward(self, x):
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        return self.down(F.silu(gate) * up)


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.attn_norm, self.mlp_norm = make_norm(cfg.norm, cfg.dim), make_norm(cfg.norm, cfg.dim)
        self.attn, self.mlp = Attention(cfg), SwiGLU(cfg)

    def forward(self, x, cos, sin):
        x = x + self.attn(self.attn_norm(x), cos, sin)
        return x + self.mlp(self.mlp_norm(x))


class Llama(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.layers))
        self.norm = make_norm(cfg.norm, cfg.dim)
        cos, sin = rotary_tables(cfg.dim // cfg.heads, cfg.context, cfg.rope_theta)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        self.apply(self._init)
        for name, p in self.named_parameters():  # scale residual outputs by depth (GPT-2)
            if name.endswith(("out.weight", "down.weight")):
                nn.init.normal_(p, std=0.02 / (2 * cfg.layers) ** 0.5)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, tokens: torch.Tensor, targets: torch.Tensor | None = None, reduction: str = "mean"):
        """Logits for (B, T) tokens; with targets, the cross-entropy instead (per token with reduction='none')."""
        t = tokens.shape[1]
        if t > self.cfg.context:
            raise ValueError(f"sequence of {t} tokens is longer than the model's context ({self.cfg.context})")
        x = self.embed(tokens)
        cos, sin = self.cos[:t], self.sin[:t]
        for block in self.blocks:
            x = block(x, cos, sin)
        logits = F.linear(self.norm(x), self.embed.weight)  # tied head
        if targets is None:
            return logits
        loss = F.cross_entropy(logits.float().view(-1, logits.shape[-1]), targets.reshape(-1), reduction=reduction)
        return loss.view(targets.shape) if reduction == "none" else loss
