"""Sub-8-bit integer training for linear layers (ShiftQuant, from "Towards Accurate and Efficient Sub-8-Bit
Integer Training"), simulated exactly on float hardware.

Forward: weights and activations are quantised round-to-nearest, symmetric, one scale per tensor
(s = max|x| / Q, Q = 2^(b-1) - 1), and multiplied as integer codes; the straight-through estimator passes the
gradient through the rounding. Backward: the output gradient G is quantised with ShiftQuant: one global
maximum M, and per group (a row: one token) a power-of-two scale D_g = (M / Q) * 2^-k_g with
k_g = min(K - 1, floor(log2(M / m_g))), codes by stochastic rounding (unbiased: E[q * D_g] = G). Because the
group scales are powers of two, dW = G^T X becomes integer codes shifted left by (K - 1 - k_g) and summed,
then one float multiply: no per-group rearrangement.

Codes of 8 bits or fewer are multiplied as int8 with int32 sums (`torch._int_mm`, VNNI on x86 CPUs): the
integer results are exact, and each is turned into float32 once, times one scale. The shifted gradient codes
need up to 7 + K - 1 bits, so dW is one int8 product when they fit and otherwise two, 128 * (hi^T X) + lo^T X,
summed in int64. Codes wider than 8 bits multiply in float32 (exact while the sums stay below 2^24).
The backward pass keeps int8 codes (two 4-bit codes per byte at 4 bits), not float copies. There is no
4- or 6-bit matmul on this CPU: 4/6-bit codes run on the same int8 kernel as 8-bit, so what changes is
accuracy, and at 4 bits the memory kept for backward, not speed (the paper's speed-ups need hardware kernels
for such widths).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


def qmax(bits: int) -> int:
    return 2 ** (bits - 1) - 1


def stochastic_round(x: torch.Tensor) -> torch.Tensor:
    """floor(x), plus one with probability equal to the fraction (u < x - floor(x), u ~ U[0, 1)): E[SR(x)] = x.
    Not floor(x + u): in float32, x + u rounds up to the next integer when u is within half a unit of 1 (about
    4 in a million at |x| = 100), which biases large codes upward and moves integer-valued x."""
    f = torch.floor(x)
    return f + (torch.rand_like(x) < x - f).to(x.dtype)


def quantize_rtn(x: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric round-to-nearest with one scale per tensor: (integer codes in [-Q, Q] as floats, scale)."""
    q = qmax(bits)
    scale = x.detach().abs().amax().float() / q
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    return torch.clamp(torch.round(x / scale), -q, q), scale


def shiftquant(g: torch.Tensor, bits: int, levels: int = 8) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """ShiftQuant of a 2-D gradient, one group per row: (codes, shift exponents k per row, global scale M/Q).

    The dequantised gradient is codes * (M/Q) * 2^-k[:, None]. `levels` = K (K = 1 is per-tensor quantisation).
    """
    q = qmax(bits)
    big_m = g.abs().amax()
    if big_m == 0:
        return torch.zeros_like(g), torch.zeros(g.shape[0], dtype=g.dtype, device=g.device), big_m / q
    m = g.abs().amax(dim=1)
    ratio = torch.where(m > 0, big_m / m, torch.full_like(m, float(2 ** levels)))
    k = torch.clamp(torch.floor(torch.log2(ratio)), 0, levels - 1)
    scale = (big_m / q) * torch.exp2(-k)
    codes = torch.clamp(stochastic_round(g / scale[:, None]), -q, q)
    return codes, k, big_m / q


INT_ROWS = 1 << 16  # reduction length per int32 product: 127 * 127 * 65,536 < 2^31, so no sum overflows


def _padded_for_cuda(a8: torch.Tensor, b8: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """CUDA's `_int_mm` (cuBLASLt) wants more than 16 rows and inner and output sizes that are multiples of 8:
    zero padding keeps the product exact (the caller cuts the result back). `a` goes row-major and `b`
    column-major, the layout the int8 GEMM takes without a copy of its own."""
    m, k = a8.shape
    n = b8.shape[1]
    mp, kp, np_ = max(24, -(-m // 8) * 8), -(-k // 8) * 8, -(-n // 8) * 8
    if (mp, kp, np_) != (m, k, n):
        a8 = F.pad(a8, (0, kp - k, 0, mp - m))
        b8 = F.pad(b8, (0, np_ - n, 0, kp - k))
    return a8.contiguous(), b8.t().contiguous().t()


def int_matmul(a8: torch.Tensor, b8: torch.Tensor) -> torch.Tensor:
    """The exact integer product of two int8 matrices: int8 multiplies with int32 sums (`torch._int_mm`),
    reduced in chunks of INT_ROWS that cannot overflow. Returns int32 (one chunk) or int64 (several)."""
    if a8.dtype != torch.int8 or b8.dtype != torch.int8:
        raise TypeError(f"int_matmul takes int8 codes, not {a8.dtype} and {b8.dtype}")
    m, n = a8.shape[0], b8.shape[1]
    if a8.device.type == "cuda":
        a8, b8 = _padded_for_cuda(a8, b8)
    k = a8.shape[1]
    if k <= INT_ROWS:
        return torch._int_mm(a8, b8)[:m, :n]
    total = torch.zeros(a8.shape[0], b8.shape[1], dtype=torch.int64, device=a8.device)
    for i in range(0, k, INT_ROWS):
        total += torch._int_mm(a8[:, i:i + INT_ROWS].contiguous(), b8[i:i + INT_ROWS])
    return total[:m, :n]


def shifted_int_matmul(codes8: torch.Tensor, k: torch.Tensor, levels: int, x8: torch.Tensor,
                       bits: int = 8) -> torch.Tensor:
    """sum over tokens t of (codes[t] << (levels - 1 - k[t]))^T x[t], exactly, as int64: dW in integer
    units of (M/Q) * 2^(1 - levels). The shifted codes need up to 7 + levels - 1 bits; when they do not fit
    int8 they are split into two int8 limbs, shifted = 128 * hi + lo (hi in [-127, 127], lo in [0, 127]),
    and dW = 128 * (hi^T X) + lo^T X: two int8 products instead of a per-group rearrangement. Whether one
    limb is enough follows from `bits` (codes within +-(2^(bits-1) - 1)), so no device sync decides it."""
    shifted = codes8.to(torch.int16) << (levels - 1 - k.to(torch.int16))[:, None]
    if qmax(bits) << (levels - 1) <= 127:
        return int_matmul(shifted.to(torch.int8).t(), x8).long()
    hi = shifted >> 7  # arithmetic shift: floor division by 128
    lo = shifted & 127
    return int_matmul(hi.to(torch.int8).t(), x8).long() * 128 + int_matmul(lo.to(torch.int8).t(), x8).long()


def pack_int4(codes8: torch.Tensor) -> torch.Tensor:
    """Two 4-bit codes in [-7, 7] per byte along the last dimension (padded to an even length): what a
    4-bit layer keeps for its backward pass, half the bytes of int8."""
    n = codes8.shape[-1]
    if n % 2:
        codes8 = F.pad(codes8, (0, 1))
    u = (codes8 + 8).to(torch.uint8)
    return u[..., 0::2] | (u[..., 1::2] << 4)


def unpack_int4(packed: torch.Tensor, n: int) -> torch.Tensor:
    """The int8 codes `pack_int4` packed (n: the original last dimension)."""
    lo = (packed & 15).to(torch.int8) - 8
    hi = (packed >> 4).to(torch.int8) - 8
    return torch.stack((lo, hi), dim=-1).flatten(-2)[..., :n]


def _int8_codes(bits: int | None) -> bool:
    return bits is not None and bits <= 8


def _stored(codes: torch.Tensor, bits: int | None) -> torch.Tensor:
    """Codes as the backward pass keeps them: packed nibbles at 4 bits or fewer, int8 up to 8, else float."""
    if not _int8_codes(bits):
        return codes
    c8 = codes.to(torch.int8)
    return pack_int4(c8) if bits <= 4 else c8


def _restored(stored: torch.Tensor, bits: int | None, n: int) -> torch.Tensor:
    if _int8_codes(bits) and bits <= 4:
        return unpack_int4(stored, n)
    return stored


@dataclass(frozen=True)
class QuantSpec:
    """Bits for weights, activations and output gradients (None: full precision), and K shift levels."""

    weight: int | None = None
    activation: int | None = None
    gradient: int | None = None
    levels: int = 8

    def __post_init__(self):
        if not 1 <= self.levels <= 8:
            raise ValueError(f"shift levels K = {self.levels}: use 1..8 (K = 1 is one scale per tensor)")

    @property
    def full_precision(self) -> bool:
        return self.weight is None and self.activation is None and self.gradient is None

    @classmethod
    def of(cls, bits: int | None, levels: int = 8) -> QuantSpec:
        return cls(bits, bits, bits, levels)


class _QuantLinearFn(torch.autograd.Function):
    """y = x W^T on quantised codes. The backward pass keeps the codes, not float copies: int8, or two 4-bit
    codes per byte at 4 bits (the memory a sub-8-bit format saves on this CPU; the products are int8 either way)."""

    @staticmethod
    def forward(ctx, x2d, weight, spec: QuantSpec):
        if spec.activation:
            xq, sx = quantize_rtn(x2d, spec.activation)
        else:
            xq, sx = x2d, x2d.new_ones(())
        if spec.weight:
            wq, sw = quantize_rtn(weight, spec.weight)
        else:
            wq, sw = weight, weight.new_ones(())
        ctx.save_for_backward(_stored(xq, spec.activation), sx, _stored(wq, spec.weight), sw)
        ctx.spec, ctx.x_cols, ctx.w_cols = spec, xq.shape[1], wq.shape[1]
        if _int8_codes(spec.activation) and _int8_codes(spec.weight):
            return int_matmul(xq.to(torch.int8), wq.to(torch.int8).t()).float() * (sx * sw)
        return (xq @ wq.t()) * (sx * sw)

    @staticmethod
    def backward(ctx, grad):
        xs, sx, ws, sw = ctx.saved_tensors
        spec: QuantSpec = ctx.spec
        xq, wq = _restored(xs, spec.activation, ctx.x_cols), _restored(ws, spec.weight, ctx.w_cols)
        grad = grad.float()
        grad_x = grad_w = None
        if spec.gradient:
            codes, k, unit = shiftquant(grad, spec.gradient, spec.levels)
            int8 = _int8_codes(spec.gradient)
            if ctx.needs_input_grad[0]:  # dX = G W: integer product per token, then the token's scale
                if int8 and _int8_codes(spec.weight):
                    gw = int_matmul(codes.to(torch.int8), wq).float()
                else:
                    gw = codes @ wq.float()
                grad_x = gw * (unit * torch.exp2(-k))[:, None] * sw
            if ctx.needs_input_grad[1]:  # dW = G^T X: codes shifted left by (K-1-k) inside the reduction
                scale = unit * 2.0 ** (1 - spec.levels) * sx
                if int8 and _int8_codes(spec.activation):
                    grad_w = shifted_int_matmul(codes.to(torch.int8), k, spec.levels, xq, spec.gradient).float() * scale
                else:
                    shifted = codes * torch.exp2(spec.levels - 1 - k)[:, None]
                    grad_w = (shifted.t() @ xq.float()) * scale
        else:
            if ctx.needs_input_grad[0]:
                grad_x = (grad @ wq.float()) * sw
            if ctx.needs_input_grad[1]:
                grad_w = (grad.t() @ xq.float()) * sx
        return grad_x, grad_w, None


class QuantLinear(nn.Linear):
    """`nn.Linear` without bias whose products run on integer codes (see module docstring); with every
    bit width None it is exactly `nn.Linear`."""

    def __init__(self, in_features: int, out_features: int, spec: QuantSpec = QuantSpec(), device=None, dtype=None):
        super().__init__(in_features, out_features, bias=False, device=device, dtype=dtype)
        self.spec = spec

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.spec.full_precision:
            return F.linear(x, self.weight)
        shape = x.shape
        with torch.autocast(x.device.type, enabled=False):  # codes and scales in float32 under bf16 autocast
            y = _QuantLinearFn.apply(x.reshape(-1, shape[-1]).float(), self.weight, self.spec)
        return y.reshape(*shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        s = self.spec
        bits = "fp" if s.full_precision else f"w{s.weight or 'fp'}a{s.activation or 'fp'}g{s.gradient or 'fp'}"
        return super().extra_repr() + f", {bits}"
