"""The integer-training claims, checked so that they fail when the claim fails: products compared exactly with
numpy int64 on codes built here (shapes where float32 sums would differ), the int8 kernel seen running at every
quantised width, ShiftQuant unbiased with power-of-two per-token scales, and 4-bit codes kept packed."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from curation.train import quant
from curation.train.model import Llama, ModelConfig
from curation.train.quant import QuantLinear, QuantSpec, int_matmul, pack_int4, qmax, shiftquant, unpack_int4

F32_EXACT = 2 ** 24  # float32 holds every integer up to here, and not all beyond


def _near_max_codes(rng, shape, q, negative=False):
    """int8 codes in [q/2, q] (one sign): sums of many such products leave float32's exact range."""
    c = rng.integers(q // 2, q + 1, size=shape, dtype=np.int64)
    return (-c if negative else c).astype(np.int8)


def test_int_matmul_is_exact_where_float32_is_not():
    rng = np.random.default_rng(0)
    a = _near_max_codes(rng, (8, 8192), 127)
    b = _near_max_codes(rng, (8192, 8), 127)
    b[:, ::2] *= -1
    ref = a.astype(np.int64) @ b.astype(np.int64)
    assert np.abs(ref).max() > F32_EXACT
    f32 = torch.from_numpy(a).float() @ torch.from_numpy(b).float()
    assert not torch.equal(f32.long(), torch.from_numpy(ref))  # a float32 product would be caught here
    got = int_matmul(torch.from_numpy(a), torch.from_numpy(b))
    assert not got.is_floating_point() and torch.equal(got.long(), torch.from_numpy(ref))


def test_int_matmul_chunks_long_reductions_without_overflow(monkeypatch):
    monkeypatch.setattr(quant, "INT_ROWS", 1000)  # three chunks, summed in int64
    rng = np.random.default_rng(1)
    a, b = _near_max_codes(rng, (5, 2500), 127), _near_max_codes(rng, (2500, 3), 127, negative=True)
    got = int_matmul(torch.from_numpy(a), torch.from_numpy(b))
    assert got.dtype == torch.int64
    assert torch.equal(got, torch.from_numpy(a.astype(np.int64) @ b.astype(np.int64)))
    with pytest.raises(TypeError, match="int8"):
        int_matmul(torch.ones(2, 2), torch.ones(2, 2))


def _rtn(x: np.ndarray, bits: int) -> tuple[np.ndarray, np.float32]:
    """Round-to-nearest codes and scale, written again in numpy float32 (not the module's code)."""
    q = np.float32(qmax(bits))
    s = np.float32(np.abs(x).max()) / q
    return np.clip(np.round(x / s), -q, q).astype(np.int64), s


def _exact_gradient(rng, tokens: int, out: int, bits: int, levels: int):
    """An output gradient ShiftQuant quantises without rounding: integer codes in [Q/2, Q] with a code Q in each
    row, times a power-of-two scale per token (2^-10 * 2^-k_t). Returns (G, codes, k, unit)."""
    q = qmax(bits)
    codes = rng.integers(q // 2 + 1, q + 1, size=(tokens, out), dtype=np.int64)
    codes[:, 0] = q
    codes[:, 1::2] *= -1
    k = np.arange(tokens) % levels
    unit = np.float32(2.0 ** -10)
    g = (codes * (unit * np.exp2(-k.astype(np.float32)))[:, None]).astype(np.float32)
    return g, codes, k, unit


SHAPES = {"long forward sum": (8, 8192, 8), "long dW sum (tokens)": (4096, 24, 24), "long dX sum": (16, 16, 8192)}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("bits,levels", [(8, 8), (6, 1), (4, 8)])  # two dW limbs; one; two
def test_quantized_layer_equals_int64_reference_exactly(shape, bits, levels):
    tokens, fan_in, fan_out = SHAPES[shape]
    rng = np.random.default_rng(bits * 10 + levels)
    x = rng.uniform(0.5, 1.0, size=(tokens, fan_in)).astype(np.float32)
    w = rng.uniform(0.5, 1.0, size=(fan_out, fan_in)).astype(np.float32)
    w[::2] *= -1
    layer = QuantLinear(fan_in, fan_out, QuantSpec.of(bits, levels))
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(w))
    xt = torch.from_numpy(x).requires_grad_()
    y = layer(xt)

    xq, sx = _rtn(x, bits)
    wq, sw = _rtn(w, bits)
    fwd = xq @ wq.T
    assert torch.equal(y, torch.from_numpy(fwd.astype(np.float32) * (sx * sw)))

    g, codes, k, unit = _exact_gradient(rng, tokens, fan_out, bits, levels)
    y.backward(torch.from_numpy(g))
    dx = codes @ wq  # integer units of (M/Q) * 2^-k_t * s_w per token
    dw = (codes << (levels - 1 - k)[:, None]).T @ xq  # integer units of (M/Q) * 2^(1-K) * s_x
    token_scale = (unit * np.exp2(-k.astype(np.float32))).astype(np.float32)[:, None]
    assert torch.equal(xt.grad, torch.from_numpy(dx.astype(np.float32) * token_scale * sw))
    dw_scale = unit * np.float32(2.0 ** (1 - levels)) * sx
    assert torch.equal(layer.weight.grad, torch.from_numpy(dw.astype(np.float32) * dw_scale))

    if bits == 8 and levels == 8:  # the shape is one where float32 sums are not exact: the test can tell
        long_sum = {"long forward sum": (fwd, xq, wq.T), "long dW sum (tokens)": (dw, None, None),
                    "long dX sum": (dx, codes, wq)}[shape]
        ref, a, b = long_sum
        assert np.abs(ref).max() > F32_EXACT
        if a is None:
            a, b = (codes << (levels - 1 - k)[:, None]).T, xq
        f32 = torch.from_numpy(a.astype(np.float32)) @ torch.from_numpy(b.astype(np.float32))
        assert not torch.equal(f32.double(), torch.from_numpy(ref).double())


def _spy_int_mm(monkeypatch) -> list[tuple]:
    calls = []
    real = torch._int_mm

    def spy(a, b):
        calls.append((a.dtype, b.dtype, tuple(a.shape), tuple(b.shape)))
        return real(a, b)

    monkeypatch.setattr(torch, "_int_mm", spy)
    return calls


@pytest.mark.parametrize("bits,levels", [(8, 8), (8, 1), (6, 8), (4, 1)])
def test_integer_kernel_runs_every_product_at_every_width(monkeypatch, bits, levels):
    calls = _spy_int_mm(monkeypatch)
    torch.manual_seed(0)
    layer = QuantLinear(32, 16, QuantSpec.of(bits, levels))
    x = torch.randn(4, 5, 32, requires_grad=True)
    layer(x).backward(torch.randn(4, 5, 16))
    assert calls and all(a == b == torch.int8 for a, b, _, _ in calls)
    shapes = [(sa, sb) for _, _, sa, sb in calls]
    assert shapes[0] == ((20, 32), (32, 16))  # forward: X W^T
    assert ((20, 16), (16, 32)) in shapes  # dX = G W
    assert all(s == ((16, 20), (20, 32)) for s in shapes[2:])  # dW: one int8 limb when the shifted codes fit
    assert len(shapes) == (3 if qmax(bits) << (levels - 1) <= 127 else 4)

    calls.clear()  # a whole model: every projection of every block, forward and backward
    model = Llama(ModelConfig(vocab_size=64, dim=32, layers=2, heads=2, context=16, bits=bits, shift_levels=levels))
    tokens = torch.randint(0, 64, (2, 17))
    model(tokens[:, :-1], tokens[:, 1:]).backward()
    projections = sum(isinstance(m, QuantLinear) for m in model.modules())
    assert projections == 8 and len(calls) >= 3 * projections
    assert all(a == b == torch.int8 for a, b, _, _ in calls)


def test_no_integer_kernel_in_full_precision_or_above_8_bits(monkeypatch):
    calls = _spy_int_mm(monkeypatch)
    for spec in (QuantSpec(), QuantSpec.of(10)):
        layer = QuantLinear(32, 16, spec)
        layer(torch.randn(6, 32, requires_grad=True)).sum().backward()
    assert calls == []


def test_stochastic_rounding_leaves_integers_alone():
    torch.manual_seed(0)  # floor(x + u) in float32 sends about 4 in a million of these to 101
    x = torch.full((2_000_000,), 100.0)
    assert torch.equal(quant.stochastic_round(x), x)
    assert torch.equal(quant.stochastic_round(-x), -x)


@pytest.mark.parametrize("bits", [4, 6, 8])
@pytest.mark.parametrize("levels", [1, 8])
def test_shiftquant_is_unbiased(bits, levels):
    torch.manual_seed(1)
    g = torch.randn(48, 32) * torch.logspace(-3, 0, 48)[:, None]
    n = 2000
    total = torch.zeros(g.shape, dtype=torch.float64)
    for _ in range(n):
        codes, k, unit = shiftquant(g, bits, levels)
        total += (codes * (unit * torch.exp2(-k))[:, None]).double()
    step = (unit * torch.exp2(-k))[:, None].double().expand_as(g)
    # each draw is within one step of g and has sd <= step / 2: the mean of n draws is within 5 sds
    assert torch.all((total / n - g.double()).abs() <= 5 * 0.5 * step / math.sqrt(n))


def test_shift_levels_give_power_of_two_scales_per_token():
    torch.manual_seed(2)
    g = torch.randn(64, 40) * torch.logspace(-4, 0, 64)[:, None]  # token magnitudes over four decades
    g[5] = 0
    for bits in (4, 6, 8):
        q = qmax(bits)
        errors = {}
        for levels in (1, 8):
            codes, k, unit = shiftquant(g, bits, levels)
            assert float(unit) == np.float32(g.abs().max().item()) / np.float32(q)  # M / Q
            ratio = g.abs().max().double() / g.abs().amax(1).double()
            want = np.clip(np.floor(np.log2(ratio.numpy())), 0, levels - 1)
            want[5] = levels - 1  # a zero token gets the smallest scale
            assert np.array_equal(k.numpy(), want)  # k_t = min(K-1, floor(log2(M / m_t))), one per token
            scale = unit * torch.exp2(-k)
            assert torch.equal(torch.exp2(torch.log2(scale / unit)), scale / unit)  # a power of two
            deq = codes * scale[:, None]
            assert torch.all((deq - g).abs() < scale[:, None])  # within one step of its token's scale
            free = k < levels - 1  # tokens not clamped at the last level use at least half the code range
            assert torch.all(codes.abs().amax(1)[free] >= q // 2)
            errors[levels] = ((deq - g).norm(dim=1) / g.norm(dim=1).clamp_min(1e-30))[32:].mean()
        assert (k == 0).sum() < 64  # K = 8 spreads the tokens over levels...
        assert errors[8] < errors[1] / 4  # ...so the small tokens are quantised far more finely than with K = 1


def test_four_bit_codes_are_kept_packed_two_per_byte():
    codes = torch.arange(-7, 8, dtype=torch.int8).repeat(3, 1)  # 15 columns: odd
    packed = pack_int4(codes)
    assert packed.dtype == torch.uint8 and packed.shape == (3, 8)
    assert torch.equal(unpack_int4(packed, 15), codes)
    kept = ((4, torch.uint8, 16), (6, torch.int8, 32), (8, torch.int8, 32), (None, torch.float32, 32))
    for bits, dtype, cols in kept:
        saved: list[torch.Tensor] = []
        with torch.autograd.graph.saved_tensors_hooks(lambda t, saved=saved: saved.append(t) or t, lambda t: t):
            QuantLinear(32, 8, QuantSpec.of(bits))(torch.randn(10, 32, requires_grad=True))
        x_saved = [t for t in saved if t.dim() == 2 and t.shape[0] == 10]
        assert len(x_saved) == 1 and x_saved[0].dtype == dtype and x_saved[0].shape[1] == cols


def test_shift_levels_outside_1_to_8_are_refused():
    with pytest.raises(ValueError, match="shift levels K = 9"):
        QuantSpec.of(8, 9)
    with pytest.raises(ValueError, match="shift_levels 0: use 1..8"):
        ModelConfig(bits=8, shift_levels=0)
