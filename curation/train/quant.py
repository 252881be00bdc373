"""Sub-8-bit integer training for linear layers (ShiftQuant, from "Towards Accurate and Efficient Sub-8-Bit
Integer Training"), simulated exactly on float hardware.

Forward: weights and activations are quantised round-to-nearest, symmetric, one scale per tensor
(s = max|x| / Q, Q = 2^(b-1) - 1), and multiplied as integer codes; the straight-through estimator passes the
gradient through the rounding. Backward: the output gradient G is quantised with ShiftQuant: one global
maximum M, and per group (a row: one token) a power-of-two scale D_g = (M / Q) * 2^-k_g with
k_g = min(K - 1, floor(log2(M / m_g))), codes by stochastic rounding (unbiased: E[q * D_g] = G). Because the
group scales are powers of two, dW = G^T X becomes integer codes shifted left by (K - 1 - k_g) and summed,
then one float multiply: no per-group rearrangement.

Codes of 8 bits or fewer are multiplied as int8 with int32 accumulation (`torch._int_mm`, VNNI on x86 CPUs):
the products are exactly an integer kernel's. The shifted gradient codes need up to 15 bits, so dW is two
int8 products, 128 * (hi^T X) + (lo^T X). Wider codes, and devices where `_int_mm` does not take the shapes,
multiply in float32, which is exact while the sums stay below 2^24 and otherwise differs only by float32
accumulation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


def qmax(bits: int) -> int:
    return 2 ** (bits - 1) - 1


def stochastic_round(x: torch.Tensor) -> torch.Tensor:
    """floor(x + u), u ~ U[0, 1): rounds up with probability equal to the fraction, so E[SR(x)] = x."""
    return torch.floor(x + torch.rand_like(x))


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


INT_ROWS = 1 << 16  # rows per int32 reduction: 128 * 127 * 65,536 < 2^31, so no partial sum overflows


def _int_mm_fits(a: torch.Tensor, b: torch.Tensor) -> bool:
    """CPU `_int_mm` takes any shape; CUDA's wants more than 16 rows and sizes that are multiples of 8."""
    return a.device.type == "cpu" or (a.shape[0] > 16 and a.shape[1] % 8 == 0 and b.shape[1] % 8 == 0)


def int_matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a @ b for integer-valued float tensors with |values| <= 127 (int8 codes, or the hi part below), as int8
    products with int32 sums, reduced in chunks that cannot overflow; returned as float32."""
    if not _int_mm_fits(a, b):
        return a @ b
    a8, b8 = a.to(torch.int8), b.to(torch.int8)
    k = a.shape[1]
    if k <= INT_ROWS:
        return torch._int_mm(a8, b8).float()
    total = torch.zeros(a.shape[0], b.shape[1], dtype=torch.int64, device=a.device)
    for i in range(0, k, INT_ROWS):
        total += torch._int_mm(a8[:, i:i + INT_ROWS], b8[i:i + INT_ROWS]).long()
    return total.float()


def _int8_codes(bits: int | None) -> bool:
    return bits is not None and bits <= 8


@dataclass(frozen=True)
class QuantSpec:
    """Bits for weights, activations and output gradients (None: full precision), and K shift levels."""

    weight: int | None = None
    activation: int | None = None
    gradient: int | None = None
    levels: int = 8

    @property
    def full_precision(self) -> bool:
        return self.weight is None and self.activation is None and self.gradient is None

    @classmethod
    def of(cls, bits: int | None, levels: int = 8) -> QuantSpec:
        return cls(bits, bits, bits, levels)


class _QuantLinearFn(torch.autograd.Function):
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
        ctx.save_for_backward(xq, sx, wq, sw)
        ctx.spec = spec
        if _int8_codes(spec.activation) and _int8_codes(spec.weight):
            return int_matmul(xq, wq.t()) * (sx * sw)
        return (xq @ wq.t()) * (sx * sw)

    @staticmethod
    def backward(ctx, grad):
        xq, sx, wq, sw = ctx.saved_tensors
        spec: QuantSpec = ctx.spec
        grad_x = grad_w = None
        if spec.gradient:
            codes, k, unit = shiftquant(grad, spec.gradient, spec.levels)
            int8 = _int8_codes(spec.gradient)
            if ctx.needs_input_grad[0]:  # dX = G W: integer product per token, then the token's scale
                gw = int_matmul(codes, wq) if int8 and _int8_codes(spec.weight) else codes @ wq
                grad_x = gw * (unit * torch.exp2(-k))[:, None] * sw
            if ctx.needs_input_grad[1]:  # dW = G^T X: codes shifted left by (K-1-k) inside the reduction
                shifted = codes * torch.exp2(spec.levels - 1 - k)[:, None]
                if int8 and _int8_codes(spec.activation) and spec.levels <= 8:
                    hi = torch.floor(shifted / 128)  # shifted = 128 * hi + lo, hi in [-127, 127], lo in [0, 127]
                    lo = shifted - 128 * hi
                    gx = 128 * int_matmul(hi.t(), xq) + int_matmul(lo.t(), xq)
                else:
                    gx = shifted.t() @ xq
                grad_w = gx * (unit * 2.0 ** (1 - spec.levels) * sx)
        else:
            if ctx.needs_input_grad[0]:
                grad_x = (grad @ wq) * sw
            if ctx.needs_input_grad[1]:
                grad_w = (grad.t() @ xq) * sx
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
        y = _QuantLinearFn.apply(x.reshape(-1, shape[-1]), self.weight, self.spec)
        return y.reshape(*shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        s = self.spec
        bits = "fp" if s.full_precision else f"w{s.weight or 'fp'}a{s.activation or 'fp'}g{s.gradient or 'fp'}"
        return super().extra_repr() + f", {bits}"
