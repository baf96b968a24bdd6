"""Common tensor functions, each the whole forward of a one-line module: the operators real models
call outside torch.nn layers (pointwise math, comparisons, reductions, shapes, indexing, linear
algebra, FFT and windows, sampling, type conversions). Written out as Python source so that torch
can script each module as well as trace it.

Part of the corpus the TorchScript allowlist is derived from (torchscript_models.py).
"""

from __future__ import annotations

import functools
import importlib.util
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

# name -> (forward's return expression over x (and y), or its whole body; the inputs' kind)
_FLOAT = "f"  # x: 4x8 float
_PAIR = "ff"  # x, y: 4x8 float
_IMAGE = "img"  # x: 1x2x8x8
_VOLUME = "vol"  # x: 1x2x4x8x8
_SIGNAL = "sig"  # x: 1x2x16
_INTS = "i"  # x: 4x8 int64 in [0, 10)
_SQUARE = "sq"  # x: 4x4 float

_UNARY = (
    "abs acos asin atan acosh asinh atanh ceil floor round trunc frac cos cosh sin sinh tan "
    "tanh exp exp2 expm1 log log10 log1p log2 neg reciprocal rsqrt sqrt square sign sgn "
    "sigmoid erf erfc erfinv lgamma digamma relu nan_to_num deg2rad rad2deg logit i0 sinc "
    "signbit isnan isinf isfinite logical_not angle positive"
).split()
_BINARY = (
    "add sub rsub mul div true_divide floor_divide remainder fmod pow atan2 maximum minimum "
    "fmax fmin hypot logaddexp eq ne lt le gt ge logical_and logical_or logical_xor copysign "
    "xlogy dist isclose"
).split()
_REDUCTIONS = (
    "sum mean prod amax amin argmax argmin std var logsumexp cumsum cumprod cummax cummin "
    "median mode kthvalue all any count_nonzero nansum nanmean softmax log_softmax max min "
    "sort argsort"
).split()

EXPRESSIONS: dict[str, tuple[str, str]] = {
    **{f"fn-{name}": (f"torch.{name}(x)", _FLOAT) for name in _UNARY},
    **{f"fn-{name}": (f"torch.{name}(x, y)", _PAIR) for name in _BINARY},
    **{
        f"fn-{name}-dim": (
            f"torch.{name}(x, {'2, ' if name == 'kthvalue' else ''}1)"
            + (
                "[0]"
                if name in {"cummax", "cummin", "median", "mode", "kthvalue", "max", "min", "sort"}
                else ""
            ),
            _FLOAT,
        )
        for name in _REDUCTIONS
    },
    "fn-sum-all": ("x.sum()", _FLOAT),
    "fn-mean-keepdim": ("x.mean(dim=1, keepdim=True)", _FLOAT),
    "fn-amax-keepdim": ("x / x.abs().amax(dim=1, keepdim=True)", _FLOAT),
    "fn-max-all": ("x.max()", _FLOAT),
    "fn-norm": ("torch.norm(x, 2, 1)", _FLOAT),
    "fn-vector-norm": ("torch.linalg.vector_norm(x, 2.0, [1])", _FLOAT),
    "fn-matrix-norm": ("torch.linalg.matrix_norm(x)", _SQUARE),
    "fn-std-mean": ("torch.std_mean(x, [1])[0]", _FLOAT),
    "fn-var-mean": ("torch.var_mean(x, [1])[1]", _FLOAT),
    "fn-topk": ("torch.topk(x, 2, 1)[0]", _FLOAT),
    "fn-quantile": ("torch.quantile(x, 0.5, 1)", _FLOAT),
    "fn-clamp": ("torch.clamp(x, -1.0, 1.0)", _FLOAT),
    "fn-clamp-max": ("torch.clamp(x, max=1.0)", _FLOAT),
    "fn-clamp-min": ("torch.clamp_min(x, 0.0)", _FLOAT),
    "fn-clip": ("torch.clip(x, -1.0, 1.0)", _FLOAT),
    "fn-where": ("torch.where(x > 0, x, y)", _PAIR),
    "fn-lerp": ("torch.lerp(x, y, 0.5)", _PAIR),
    "fn-addcmul": ("torch.addcmul(x, x, y, value=0.5)", _PAIR),
    "fn-addcdiv": ("torch.addcdiv(x, x, y.abs() + 1, value=0.5)", _PAIR),
    "fn-div-floor": ('torch.div(x, y, rounding_mode="floor")', _PAIR),
    "fn-div-trunc": ('torch.div(x, y, rounding_mode="trunc")', _PAIR),
    "fn-scalar-ops": ("(1 - x) * 2.0 + 3 / (x.abs() + 1) - x ** 2", _FLOAT),
    "fn-inplace": ("x.clone().add_(1).mul_(2).clamp_(0.0, 1.0).sub_(y).div_(2)", _PAIR),
    "fn-bitwise": ("(x & 3) | (x ^ 1) | (~x) | (x << 1) | (x >> 1)", _INTS),
    "fn-int-math": ("torch.remainder(x, 3) + x // 2 + torch.bitwise_and(x, 1)", _INTS),
    "fn-mm": ("torch.mm(x, x.t())", _FLOAT),
    "fn-bmm": ("torch.bmm(x.unsqueeze(0), x.t().unsqueeze(0))", _FLOAT),
    "fn-matmul": ("torch.matmul(x, x.transpose(0, 1)) @ x", _FLOAT),
    "fn-einsum": ('torch.einsum("ij,kj->ik", x, y)', _PAIR),
    "fn-outer": ("torch.outer(x[0], y[0])", _PAIR),
    "fn-dot": ("torch.dot(x[0], y[0])", _PAIR),
    "fn-addmm": ("torch.addmm(x, x, torch.eye(8))", _FLOAT),
    "fn-baddbmm": (
        "torch.baddbmm(x.unsqueeze(0), x.unsqueeze(0), torch.eye(8).unsqueeze(0))",
        _FLOAT,
    ),
    "fn-tensordot": ("torch.tensordot(x, y, [[1], [1]])", _PAIR),
    "fn-cross": ("torch.linalg.cross(x[:, :3], y[:, :3])", _PAIR),
    "fn-cdist": ("torch.cdist(x, y)", _PAIR),
    "fn-triangles": ("torch.triu(x) + torch.tril(x, -1)", _SQUARE),
    "fn-diag": ("torch.diag(x) + torch.diagonal(x) + torch.trace(x)", _SQUARE),
    "fn-inverse": ("torch.inverse(x + 4 * torch.eye(4))", _SQUARE),
    "fn-det": ("torch.det(x + 4 * torch.eye(4))", _SQUARE),
    "fn-solve": ("torch.linalg.solve(x + 4 * torch.eye(4), x)", _SQUARE),
    "fn-qr": ("torch.linalg.qr(x)[0]", _SQUARE),
    "fn-svd": ("torch.linalg.svd(x)[1]", _SQUARE),
    "fn-eigh": ("torch.linalg.eigh(x + x.t())[0]", _SQUARE),
    "fn-cholesky": ("torch.linalg.cholesky(x @ x.t() + torch.eye(4))", _SQUARE),
    "fn-pinv": ("torch.linalg.pinv(x)", _SQUARE),
    "fn-reshape": ("x.reshape(2, 16).view(4, 8).view(-1)", _FLOAT),
    "fn-permute": ("x.unsqueeze(0).permute(2, 0, 1).transpose(1, 2).contiguous()", _FLOAT),
    "fn-squeeze": ("x.unsqueeze(1).squeeze(1).unsqueeze(-1).squeeze()", _FLOAT),
    "fn-flatten": ("torch.flatten(x.unsqueeze(0), 1).unflatten(1, (4, 8))", _FLOAT),
    "fn-expand": ("x[:, :1].expand(4, 8) + x[:1].expand_as(x)", _FLOAT),
    "fn-repeat": ("x.repeat(2, 1) + torch.tile(x, (2, 1))", _FLOAT),
    "fn-repeat-interleave": ("torch.repeat_interleave(x, 2, 0)", _FLOAT),
    "fn-flip": ("torch.flip(x, [0]) + torch.roll(x, 1, 1) + torch.fliplr(x)", _FLOAT),
    "fn-rot90": ("torch.rot90(x, 1, [0, 1])", _SQUARE),
    "fn-narrow": ("torch.narrow(x, 1, 2, 3) + x.select(0, 1)[2:5]", _FLOAT),
    "fn-slice-step": ("x[::2, 1::3] + x[-2:, :-5]", _FLOAT),
    "fn-index-select": ("torch.index_select(x, 1, torch.tensor([0, 2]))", _FLOAT),
    "fn-gather": ("torch.gather(x, 1, torch.zeros(4, 2, dtype=torch.long))", _FLOAT),
    "fn-scatter": (
        "torch.zeros(4, 8).scatter(1, torch.zeros(4, 2, dtype=torch.long), x[:, :2])",
        _FLOAT,
    ),
    "fn-scatter-add": (
        "torch.zeros(4, 8).scatter_add(1, torch.zeros(4, 8, dtype=torch.long), x)",
        _FLOAT,
    ),
    "fn-index-put": ("x.clone().index_put_([torch.tensor([0, 1])], torch.tensor(1.0))", _FLOAT),
    # several statements: the forward's body as it is
    "fn-setitem": ("y = x.clone()\ny[0] = 1.0\ny[:, 1:3] = y[:, 4:6]\nreturn y", _FLOAT),
    "fn-dict-index": (
        'd: Dict[str, Tensor] = {"a": x, "b": x * 2}\nreturn d["a"] + d["b"]',
        _FLOAT,
    ),
    "fn-no-grad": ("with torch.no_grad():\n    y = x * 2\nreturn y", _FLOAT),
    "fn-bool-index": ("x[x > 0]", _FLOAT),
    "fn-tensor-index": ("x[torch.tensor([0, 2])]", _FLOAT),
    "fn-masked-fill": ("x.masked_fill(x < 0, 0.0)", _FLOAT),
    "fn-masked-select": ("torch.masked_select(x, x > 0)", _FLOAT),
    "fn-nonzero": ("torch.nonzero(x > 0)", _FLOAT),
    "fn-chunk": ("torch.cat(torch.chunk(x, 2, 1), 0)", _FLOAT),
    "fn-split": ("torch.stack(torch.split(x, 4, 1), 0)", _FLOAT),
    "fn-unbind": ("torch.stack(torch.unbind(x, 0), 1)", _FLOAT),
    "fn-stacks": (
        "torch.hstack([x, y]) + torch.vstack([x, y]).sum() + torch.dstack([x, y]).sum()",
        _PAIR,
    ),
    "fn-movedim": ("torch.movedim(x.unsqueeze(0), 0, 2)", _FLOAT),
    "fn-take-along-dim": ("torch.take_along_dim(x, torch.argsort(x, 1), 1)", _FLOAT),
    "fn-unique": ("torch.unique(x)", _INTS),
    "fn-bincount": ("torch.bincount(x.flatten())", _INTS),
    "fn-bucketize": ("torch.bucketize(x, torch.tensor([0.0, 0.5]))", _FLOAT),
    "fn-searchsorted": ("torch.searchsorted(torch.tensor([0.0, 0.5, 1.0]), x)", _FLOAT),
    "fn-one-hot": ("torch.nn.functional.one_hot(x.flatten(), 10)", _INTS),
    "fn-conversions": (
        "x.float() + x.double().float() + x.long().float() + x.int().float() + x.half().float() + x.to(torch.bool).float()",
        _FLOAT,
    ),
    "fn-to-dtype": ("x.to(torch.float16).to(torch.float32).type_as(y)", _PAIR),
    "fn-like": (
        "torch.zeros_like(x) + torch.ones_like(x) + torch.full_like(x, 2.0) + torch.empty_like(x).zero_()",
        _FLOAT,
    ),
    "fn-new": (
        "x.new_zeros([2]).sum() + x.new_ones([2]).sum() + x.new_full([2], 1.0).sum() + x.new_empty([2]).zero_().sum()",
        _FLOAT,
    ),
    "fn-factories": (
        "torch.zeros(2, 3) + torch.ones(2, 3) + torch.full((2, 3), 2.0) + torch.empty(2, 3).zero_()",
        _FLOAT,
    ),
    "fn-ranges": (
        "torch.arange(8).float() + torch.arange(0, 8, 1).float() + torch.linspace(0, 1, 8) + torch.logspace(0, 1, 8)",
        _FLOAT,
    ),
    "fn-eye": ("torch.eye(4) + x", _SQUARE),
    "fn-meshgrid": ('torch.meshgrid(torch.arange(3), torch.arange(4), indexing="ij")[0]', _FLOAT),
    "fn-tensor": (
        "torch.tensor([1.0, 2.0]) + torch.as_tensor([3.0, 4.0]) + torch.scalar_tensor(1.0)",
        _FLOAT,
    ),
    "fn-random": (
        "torch.rand(2) + torch.randn(2) + torch.randint(0, 5, [2]).float() + torch.rand_like(x).sum() + torch.randn_like(x).sum()",
        _FLOAT,
    ),
    "fn-sampling": (
        "torch.bernoulli(x.sigmoid()) + torch.multinomial(x.softmax(1), 1).float() + torch.normal(x, 1.0)",
        _FLOAT,
    ),
    "fn-dropout": (
        "torch.nn.functional.dropout(x, 0.5, True) + torch.nn.functional.dropout(x, 0.5, False)",
        _FLOAT,
    ),
    "fn-normalize": ("torch.nn.functional.normalize(x, 2.0, 1)", _FLOAT),
    "fn-layer-norm": ("torch.nn.functional.layer_norm(x, [8])", _FLOAT),
    "fn-group-norm": ("torch.nn.functional.group_norm(x, 1)", _IMAGE),
    "fn-gelu-tanh": ('torch.nn.functional.gelu(x, approximate="tanh")', _FLOAT),
    "fn-activations": (
        "torch.nn.functional.silu(x) + torch.nn.functional.mish(x) + torch.nn.functional.leaky_relu(x, 0.2) + torch.nn.functional.elu(x) + torch.nn.functional.hardtanh(x) + torch.nn.functional.relu6(x) + torch.nn.functional.softplus(x)",
        _FLOAT,
    ),
    "fn-sdpa": (
        "torch.nn.functional.scaled_dot_product_attention(x.unsqueeze(0), x.unsqueeze(0), x.unsqueeze(0))",
        _FLOAT,
    ),
    "fn-sdpa-causal": (
        "torch.nn.functional.scaled_dot_product_attention(x.unsqueeze(0), x.unsqueeze(0), x.unsqueeze(0), is_causal=True)",
        _FLOAT,
    ),
    "fn-linear": ("torch.nn.functional.linear(x, torch.ones(3, 8))", _FLOAT),
    "fn-cosine-similarity": ("torch.nn.functional.cosine_similarity(x, y)", _PAIR),
    "fn-embedding": ("torch.nn.functional.embedding(x, torch.ones(10, 3))", _INTS),
    "fn-conv": ("torch.nn.functional.conv2d(x, torch.ones(3, 2, 3, 3), padding=1)", _IMAGE),
    "fn-conv1d": ("torch.nn.functional.conv1d(x, torch.ones(3, 2, 3), stride=2)", _SIGNAL),
    "fn-pools": (
        "torch.nn.functional.max_pool2d(x, 2) + torch.nn.functional.avg_pool2d(x, 2) + torch.nn.functional.adaptive_avg_pool2d(x, 4) + torch.nn.functional.adaptive_max_pool2d(x, 4)",
        _IMAGE,
    ),
    "fn-pool1d": (
        "torch.nn.functional.max_pool1d(x, 2) + torch.nn.functional.avg_pool1d(x, 2)",
        _SIGNAL,
    ),
    "fn-pad-modes": (
        'torch.nn.functional.pad(x, [1, 1, 1, 1]) + torch.nn.functional.pad(x, [1, 1, 1, 1], mode="reflect") + torch.nn.functional.pad(x, [1, 1, 1, 1], mode="replicate") + torch.nn.functional.pad(x, [1, 1, 1, 1], mode="circular")',
        _IMAGE,
    ),
    "fn-interpolate": (
        'torch.nn.functional.interpolate(x, scale_factor=2.0, mode="nearest") + torch.nn.functional.interpolate(x, size=[16, 16], mode="bilinear", align_corners=False) + torch.nn.functional.interpolate(x, size=[16, 16], mode="bicubic") + torch.nn.functional.interpolate(x, size=[16, 16], mode="nearest-exact") + torch.nn.functional.interpolate(x, size=[16, 16], mode="area")',
        _IMAGE,
    ),
    "fn-interpolate1d": (
        'torch.nn.functional.interpolate(x, scale_factor=2.0, mode="linear")',
        _SIGNAL,
    ),
    "fn-interpolate3d": (
        'torch.nn.functional.interpolate(x, scale_factor=2.0, mode="trilinear")',
        _VOLUME,
    ),
    "fn-grid-sample": (
        "torch.nn.functional.grid_sample(x, torch.zeros(1, 4, 4, 2), align_corners=False)",
        _IMAGE,
    ),
    "fn-affine-grid": (
        "torch.nn.functional.affine_grid(torch.eye(2, 3).unsqueeze(0), [1, 2, 8, 8], align_corners=False)",
        _IMAGE,
    ),
    "fn-unfold": ("torch.nn.functional.unfold(x, 2) + 0.0", _IMAGE),
    "fn-tensor-unfold": ("x.unfold(1, 4, 2)", _FLOAT),
    "fn-pixel-shuffle": ("torch.pixel_shuffle(torch.cat([x, x], 1), 2)", _IMAGE),
    "fn-fft": (
        "torch.fft.rfft(x).abs() + torch.fft.fft(x).real.sum() + torch.fft.irfft(torch.fft.rfft(x), 8).sum() + torch.fft.ifft(torch.fft.fft(x)).real.sum()",
        _FLOAT,
    ),
    "fn-fft2": (
        "torch.fft.rfft2(x).abs().sum() + torch.fft.fftshift(x).sum() + torch.fft.fft2(x).imag.sum()",
        _IMAGE,
    ),
    "fn-stft": (
        "torch.stft(x[0, 0], 8, 4, 8, torch.hann_window(8), return_complex=True).abs()",
        _SIGNAL,
    ),
    "fn-istft": (
        "torch.istft(torch.stft(x[0, 0], 8, 4, 8, torch.hann_window(8), return_complex=True), 8, 4, 8, torch.hann_window(8))",
        _SIGNAL,
    ),
    "fn-windows": (
        "torch.hann_window(8) + torch.hamming_window(8) + torch.blackman_window(8) + torch.kaiser_window(8)",
        _FLOAT,
    ),
    "fn-complex": (
        "torch.view_as_real(torch.complex(x, y)).sum() + torch.polar(x.abs(), y).abs()",
        _PAIR,
    ),
    "fn-cumulative": (
        "torch.cumsum(x, 1) + torch.logcumsumexp(x, 1) + torch.diff(x, 1, 1).sum()",
        _FLOAT,
    ),
    "fn-histc": ("torch.histc(x, 4)", _FLOAT),
    "fn-allclose": (
        "torch.tensor(float(torch.allclose(x, y))) + torch.tensor(float(torch.equal(x, y)))",
        _PAIR,
    ),
    "fn-item": ("x * x.sum().item() + float(x.size(0)) + x.numel() + x.dim()", _FLOAT),
    "fn-shape": ("x.new_zeros(x.shape) + x.new_zeros(x.size()) + x.size(-1)", _FLOAT),
    "fn-detach": ("x.detach() + x.clone() + x.contiguous()", _FLOAT),
}


def _source() -> str:
    lines = [
        "from typing import Dict, List, Optional, Tuple",
        "import torch",
        "from torch import Tensor",
        "",
    ]
    for index, (name, (expression, kind)) in enumerate(EXPRESSIONS.items()):
        arguments = "x: Tensor, y: Tensor" if kind == _PAIR else "x: Tensor"
        body = expression.split("\n") if "\n" in expression else [f"return {expression}"]
        lines += [
            f"class F{index}(torch.nn.Module):  # {name}",
            f"    def forward(self, {arguments}):",
            *(f"        {line}" for line in body),
            "",
        ]
    return "\n".join(lines)


@functools.cache
def _module() -> Any:
    """The generated classes, imported from a real file (torch.jit.script reads their source)."""
    folder = Path(tempfile.mkdtemp(prefix="modelreg-functions-"))
    path = folder / "modelreg_torch_functions.py"
    path.write_text(_source())
    spec = importlib.util.spec_from_file_location("modelreg_torch_functions", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_SHAPES: dict[str, list[tuple[int, ...]]] = {
    _FLOAT: [(4, 8)],
    _PAIR: [(4, 8), (4, 8)],
    _IMAGE: [(1, 2, 8, 8)],
    _VOLUME: [(1, 2, 4, 8, 8)],
    _SIGNAL: [(1, 2, 16)],
    _INTS: [(4, 8)],
    _SQUARE: [(4, 4)],
}


def _example(kind: str) -> tuple[Tensor, ...]:
    if kind == _INTS:
        return (torch.randint(0, 10, _SHAPES[kind][0]),)
    return tuple(torch.randn(*shape) for shape in _SHAPES[kind])


def function_modules() -> dict[str, tuple[Callable[[], nn.Module], tuple[Any, ...]]]:
    module = _module()
    return {
        name: (getattr(module, f"F{index}"), _example(kind))
        for index, (name, (_, kind)) in enumerate(EXPRESSIONS.items())
    }
