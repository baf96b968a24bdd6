"""Ordinary TorchScript archives, written by torch itself: every common layer, common tensor
functions (torchscript_functions.py) and a few model families, each scripted and traced, saved
for the full and the lite interpreter, frozen and optimized for inference.

The TorchScript allowlist (registry/formats/torchscript_ops.json) is derived from these archives
and from real published ones by scripts/derive_torchscript_allowlist.py, and the tests check that
every archive built here validates: the allowlist must not refuse ordinary models.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from tests.factories.torchscript_functions import function_modules

Example = tuple[Any, ...] | None  # inputs for tracing; None: script only


def _x(*shape: int) -> Tensor:
    return torch.randn(*shape)


class Classifier(nn.Module):
    """A CNN classifier: Sequential, ModuleList, ModuleDict, residual loop."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
        )
        self.head = nn.ModuleList([nn.Linear(16, 10), nn.Linear(16, 2)])
        self.blocks = nn.ModuleDict({"a": nn.Linear(16, 16)})

    def forward(self, x: Tensor) -> Tensor:
        y = torch.flatten(self.features(x), 1)
        for _, block in self.blocks.items():
            y = block(y) + y
        outs = [h(y) for h in self.head]
        return torch.cat(outs, dim=1).softmax(-1)


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // 2, 1)
        self.fc2 = nn.Conv2d(channels // 2, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        s = F.adaptive_avg_pool2d(x, 1)
        return x * F.hardsigmoid(self.fc2(F.relu(self.fc1(s))))


class MobileBlock(nn.Module):
    """Depthwise separable convolution, hardswish and squeeze-excite (MobileNetV3)."""

    def __init__(self) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
        self.pointwise = nn.Conv2d(8, 8, 1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.act = nn.Hardswish()
        self.se = SqueezeExcite(8)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.se(self.act(self.bn(self.pointwise(self.depthwise(x)))))


class ResidualBlock(nn.Module):
    """A ResNet basic block with a projection shortcut."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample: nn.Module | None = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else None
        )

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        identity = x
        if self.downsample is not None:
            identity = self.downsample(x)
        return F.relu(out + identity)


class ResNetTiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 7, 2, 3), nn.BatchNorm2d(8), nn.ReLU())
        self.layer1 = ResidualBlock(8, 8, 1)
        self.layer2 = ResidualBlock(8, 16, 2)
        self.fc = nn.Linear(16, 5)

    def forward(self, x: Tensor) -> Tensor:
        x = self.layer2(self.layer1(F.max_pool2d(self.stem(x), 3, 2, 1)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1))


class UNetTiny(nn.Module):
    """Encoder, decoder, skip connections, interpolation and concatenation."""

    def __init__(self) -> None:
        super().__init__()
        self.down1 = nn.Conv2d(1, 4, 3, padding=1)
        self.down2 = nn.Conv2d(4, 8, 3, padding=1)
        self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.out = nn.Conv2d(8, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        d1 = F.leaky_relu(self.down1(x), 0.1)
        d2 = F.gelu(self.down2(F.avg_pool2d(d1, 2)))
        u = self.up(d2)
        if u.shape[-1] != d1.shape[-1]:
            u = F.interpolate(u, size=d1.shape[-2:], mode="bilinear", align_corners=False)
        return torch.sigmoid(self.out(torch.cat([u, d1], dim=1)))


class TextClassifier(nn.Module):
    """Embedding, positional encoding, transformer encoder, masked mean pooling."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(100, 16, padding_idx=0)
        self.position = nn.Parameter(torch.zeros(1, 32, 16))
        layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(16)
        self.classify = nn.Linear(16, 3)

    def forward(self, tokens: Tensor) -> Tensor:
        mask = tokens == 0
        h = self.embed(tokens) + self.position[:, : tokens.size(1)]
        h = self.norm(self.encoder(h, src_key_padding_mask=mask))
        keep = (~mask).unsqueeze(-1).to(h.dtype)
        pooled = (h * keep).sum(1) / keep.sum(1).clamp(min=1.0)
        return F.log_softmax(self.classify(pooled), dim=-1)


class Tagger(nn.Module):
    """A bidirectional LSTM over packed sequences, then a CRF-style argmax."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(50, 8)
        self.lstm = nn.LSTM(8, 16, num_layers=2, batch_first=True, bidirectional=True)
        self.out = nn.Linear(32, 5)

    def forward(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        packed = nn.utils.rnn.pack_padded_sequence(
            self.embed(tokens), lengths, batch_first=True, enforce_sorted=False
        )
        output, _ = self.lstm(packed)
        padded, _ = nn.utils.rnn.pad_packed_sequence(output, batch_first=True)
        return self.out(padded).argmax(-1)


class Seq2Seq(nn.Module):
    """A GRU encoder and a greedy decoder loop with attention."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.GRU(8, 16, batch_first=True)
        self.decoder = nn.GRUCell(16, 16)
        self.attention = nn.MultiheadAttention(16, 2, batch_first=True)
        self.project = nn.Linear(16, 16)

    def forward(self, x: Tensor, steps: int) -> Tensor:
        memory, hidden = self.encoder(x)
        state = hidden[0]
        outputs: list[Tensor] = []
        for _ in range(steps):
            query = state.unsqueeze(1)
            context, _ = self.attention(query, memory, memory, need_weights=False)
            state = self.decoder(context.squeeze(1), state)
            outputs.append(torch.tanh(self.project(state)))
        return torch.stack(outputs, dim=1)


class AudioFrontEnd(nn.Module):
    """Spectrogram with torch.stft, log-mel style projection and a 1-D CNN (speech models)."""

    def __init__(self) -> None:
        super().__init__()
        self.window: Tensor
        self.register_buffer("window", torch.hann_window(64))
        self.mel = nn.Linear(33, 16, bias=False)
        self.conv = nn.Conv1d(16, 16, 3, padding=1)
        self.norm = nn.GroupNorm(4, 16)

    def forward(self, wave: Tensor) -> Tensor:
        spec = torch.stft(
            wave, 64, hop_length=16, window=self.window, return_complex=True, center=True
        )
        power = spec.abs().pow(2.0)
        mel = torch.log(self.mel(power.transpose(1, 2)).clamp_min(1e-6)).transpose(1, 2)
        features = F.silu(self.norm(self.conv(mel)))
        spectrum = torch.fft.rfft(features, dim=-1)
        back = torch.fft.irfft(spectrum, n=features.shape[-1], dim=-1)
        return back + torch.istft(spec, 64, hop_length=16, window=self.window).mean()


class VisionTransformerTiny(nn.Module):
    """Patch embedding with unfold, class token, attention via scaled_dot_product_attention."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 16, 4, 4)
        self.cls = nn.Parameter(torch.zeros(1, 1, 16))
        self.qkv = nn.Linear(16, 48)
        self.mlp = nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 16))
        self.norm = nn.LayerNorm(16, eps=1e-6)

    def forward(self, image: Tensor) -> Tensor:
        tokens = self.patch(image).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls.expand(tokens.shape[0], -1, -1), tokens], dim=1)
        q, k, v = self.qkv(self.norm(tokens)).chunk(3, dim=-1)
        b, n, c = q.shape
        q = q.reshape(b, n, 2, c // 2).permute(0, 2, 1, 3)
        k = k.reshape(b, n, 2, c // 2).permute(0, 2, 1, 3)
        v = v.reshape(b, n, 2, c // 2).permute(0, 2, 1, 3)
        attended = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, c)
        tokens = tokens + attended
        tokens = tokens + self.mlp(self.norm(tokens))
        return tokens[:, 0]


class Detector(nn.Module):
    """Detection post-processing: boxes, scores, thresholds, sorting, gathering, grids."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Conv2d(4, 6, 1)

    def forward(self, x: Tensor, threshold: float = 0.5) -> tuple[Tensor, Tensor]:
        raw = self.head(x)
        b, _, h, w = raw.shape
        ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        grid = torch.stack([xs, ys], dim=-1).to(raw.dtype).view(1, h * w, 2)
        pred = raw.view(b, 6, h * w).permute(0, 2, 1)
        centers = pred[..., :2].sigmoid() + grid
        sizes = pred[..., 2:4].exp()
        boxes = torch.cat([centers - sizes / 2, centers + sizes / 2], dim=-1)
        scores = pred[..., 4].sigmoid() * pred[..., 5].sigmoid()
        keep = scores > threshold
        order = torch.argsort(scores, dim=-1, descending=True)
        ranked = torch.gather(boxes, 1, order.unsqueeze(-1).expand(-1, -1, 4))
        flat = torch.nonzero(keep.flatten()).squeeze(-1)
        picked = torch.index_select(boxes.reshape(-1, 4), 0, flat)
        cost = torch.cdist(picked, picked)
        grid_out = F.grid_sample(
            x,
            F.affine_grid(torch.eye(2, 3).unsqueeze(0).expand(b, -1, -1), [b, 4, h, w]),
            align_corners=False,
        )
        return ranked + cost.sum() + grid_out.mean(), torch.bucketize(scores, torch.tensor([0.5]))


class Control(nn.Module):
    """Control flow, lists, dicts, strings, optional values, exceptions, context managers."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = ["a", "b"]
        self.table: dict[str, int] = {"a": 1}
        self.lin = nn.Linear(4, 4)

    def helper(self, v: Tensor, k: int) -> Tensor:
        return v * k

    def forward(
        self, x: Tensor, n: int, scale: float = 1.0, opt: Tensor | None = None
    ) -> tuple[Tensor, list[Tensor]]:
        outs: list[Tensor] = []
        d: dict[str, Tensor] = {}
        i = 0
        while i < n:
            if i % 2 == 0:
                outs.append(self.helper(x, i))
            elif i > 5:
                break
            i += 1
        for j, name in enumerate(self.names):
            d[name + str(j)] = x + float(j)
        for _, v in d.items():
            outs.append(v)
        if opt is not None:
            outs.append(opt)
        if len(outs) == 0:
            raise ValueError(f"no outputs for {n}")
        assert n >= 0, "n must be positive"
        message = "value {} at {}".format(n, scale)
        if message.startswith("x") or "y" in message or message.lower() == message.upper():
            print(message, self.table.get("a", 0))
            warnings.warn("odd message")
        total = torch.zeros_like(x)
        with torch.no_grad():
            for o in outs:
                total = total + o
        if isinstance(scale, float) and int(scale) == 1 and bool(torch.any(total > 0)):
            total = total * scale
        numbers = sorted([3, 1, 2])
        extra = min(numbers) + max(numbers) + abs(-1) + sum(numbers) + round(2.5)
        for p, q in zip(numbers, numbers):
            extra += p * q
        del numbers[0]
        return self.lin(total) + extra + len(numbers), outs[:2] + outs[-1:]


class Output(NamedTuple):
    scores: Tensor
    labels: list[str]


class Containers(nn.Module):
    """Dicts, tuples, strings and named tuples, without context managers (lite-friendly)."""

    def __init__(self) -> None:
        super().__init__()
        self.vocabulary: dict[str, int] = {"cat": 0, "dog": 1}

    def forward(self, x: Tensor, words: list[str]) -> Output:
        counts = {word: len(word) for word in words}
        pairs = (1, 2.0, "three")
        lookup: dict[int, str] = {0: "cat", 1: "dog"}
        labels: list[str] = []
        for index in range(x.size(0)):
            best = int(x[index].argmax())
            labels.append(lookup.get(best, "unknown").upper().strip())
        if isinstance(pairs[1], float) and "cat" in self.vocabulary:
            labels.extend([k.lower() for k in counts.keys()])
        joined = ",".join(labels).replace(",", ";").split(";")
        tail = pairs[1:]
        scores = torch.softmax(x, dim=-1) * float(len(joined) + len(tail))
        return Output(scores, joined)


class TensorOps(nn.Module):
    """Common tensor manipulation in one forward pass."""

    def forward(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        b, c = x.shape[0], x.size(1)
        z = x.view(b, -1).reshape(b, c, -1).permute(0, 2, 1).contiguous().transpose(1, 2)
        z = z.unsqueeze(0).squeeze(0).expand(b, c, -1).clone()
        w = torch.matmul(z, z.transpose(-1, -2)) @ y
        w = torch.einsum("bij,bjk->bik", w, w)
        s = torch.stack(
            [w.sum(-1), w.mean(-1), w.amax(-1), w.max(-1).values, w.min(-1)[0], w.std(-1)], 0
        )
        s = torch.where(s > 0, s, torch.zeros_like(s)).clamp(-1, 1).abs().sqrt().exp().log1p()
        s = s.masked_fill(s < 0.1, 0.0).pow(2) * 3 - 1 / (s + 1)
        idx = torch.argmax(s, dim=-1)
        t = torch.topk(s, 2).values + s.gather(-1, idx.unsqueeze(-1))
        u = F.interpolate(x.unsqueeze(1), scale_factor=2.0, mode="nearest")
        v = F.normalize(t, dim=-1)
        chunks = torch.chunk(v, 2, dim=0)
        r = torch.split(v, 1, dim=-1)[0].float().to(torch.float32).type_as(v)
        q = torch.arange(0, 4).repeat(2).to(x.dtype).cumsum(0).flip(0).roll(1).sort().values
        n = torch.tril(torch.ones(4, 4)).triu().diag().narrow(0, 0, 2).detach()
        mask = (q > 1) & (q < 5) | ~(q == 2)
        unique = torch.unique(q) if q.numel() > 0 else q
        repeated = torch.repeat_interleave(q, 2).float().var()
        first = r.sum() + u.mean() + chunks[0].sum() + n.sum() + q[mask].sum() + unique.sum()
        first = first + x.new_zeros(2).sum() + torch.full((2,), 1.0).sum() + x.numel() + repeated
        second = (
            torch.sin(x)
            + torch.cos(x)
            + torch.tanh(x)
            + torch.sigmoid(x)
            + torch.relu(x)
            + torch.softmax(x, -1)
            + torch.log_softmax(x, -1)
            + torch.erf(x)
            + torch.floor(x)
            + torch.ceil(x)
            + torch.round(x)
            + torch.rsqrt(x.abs() + 1)
            + torch.reciprocal(x + 2)
            + torch.sign(x)
            + torch.atan2(x, x + 1)
            + torch.fmod(x, 2.0)
            + torch.remainder(x, 2.0)
            + torch.minimum(x, x)
            + torch.maximum(x, x)
            + torch.lerp(x, x, 0.5)
            + torch.cumprod(x, 0)
            + torch.logsumexp(x, -1, keepdim=True)
            + torch.norm(x)
            + F.layer_norm(x, (x.shape[-1],))
            + F.dropout(x, 0.0, False)
            + F.pad(x, (0, 0))
            + F.one_hot(torch.tensor([0, 1]), x.shape[-1]).float().sum()
            + torch.clamp(x, min=0.0)
            + torch.log(x.abs() + 1)
            + torch.log2(x.abs() + 1)
            + torch.square(x)
            + torch.trunc(x)
            + torch.frac(x)
            + torch.softmax(x.float(), 0)
            + torch.bmm(x.unsqueeze(0), x.unsqueeze(0)).squeeze(0)
            + torch.addmm(x, x, x)
            + torch.outer(x[0], x[0])
            + torch.diag_embed(x[0])
            + torch.linalg.norm(x)
            + torch.var_mean(x)[0]
            + torch.prod(x + 1).log()
            + torch.cumsum(x, -1)
            + torch.isnan(x).float()
            + torch.isinf(x).float()
            + torch.nan_to_num(x)
            + torch.argsort(x, -1).float()
            + x.t()
            + x.T
        )
        return first.expand(1), second


def quantized_static() -> nn.Module:
    class Quant(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.quant = torch.ao.quantization.QuantStub()
            self.conv = nn.Conv2d(3, 4, 3)
            self.relu = nn.ReLU()
            self.fc = nn.Linear(4 * 14 * 14, 2)
            self.dequant = torch.ao.quantization.DeQuantStub()

        def forward(self, x: Tensor) -> Tensor:
            x = self.relu(self.conv(self.quant(x)))
            return self.dequant(self.fc(torch.flatten(x, 1)))

    model = Quant().eval()
    model.qconfig = torch.ao.quantization.get_default_qconfig("fbgemm")
    prepared = torch.ao.quantization.prepare(model)
    prepared(_x(2, 3, 16, 16))
    return torch.ao.quantization.convert(prepared)


class RecurrentMix(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(8, 16)
        self.gru = nn.GRU(8, 16)
        self.fc = nn.Linear(16, 4)

    def forward(self, x: Tensor) -> Tensor:
        y, _ = self.lstm(x)
        z, _ = self.gru(x)
        return self.fc(y + z)


def quantized_dynamic() -> nn.Module:
    return torch.ao.quantization.quantize_dynamic(
        RecurrentMix().eval(), {nn.LSTM, nn.Linear, nn.GRU}, dtype=torch.qint8
    )


def _layers() -> dict[str, tuple[Callable[[], nn.Module], Example]]:
    """Every common torch.nn layer with inputs to trace it."""
    layers: dict[str, tuple[Callable[[], nn.Module], Example]] = {
        "conv1d": (lambda: nn.Conv1d(4, 8, 3, padding=1), (_x(1, 4, 16),)),
        "conv2d": (lambda: nn.Conv2d(3, 8, 3, stride=2, padding=1), (_x(1, 3, 16, 16),)),
        "conv2d-same": (lambda: nn.Conv2d(3, 8, 3, padding="same", dilation=2), (_x(1, 3, 8, 8),)),
        "conv3d": (lambda: nn.Conv3d(2, 4, 3), (_x(1, 2, 8, 8, 8),)),
        "conv-transpose1d": (lambda: nn.ConvTranspose1d(4, 4, 3), (_x(1, 4, 8),)),
        "conv-transpose2d": (lambda: nn.ConvTranspose2d(4, 4, 3, stride=2), (_x(1, 4, 8, 8),)),
        "conv-transpose3d": (lambda: nn.ConvTranspose3d(2, 2, 3), (_x(1, 2, 4, 4, 4),)),
        "linear": (lambda: nn.Linear(8, 4), (_x(2, 8),)),
        "bilinear": (lambda: nn.Bilinear(4, 4, 2), (_x(2, 4), _x(2, 4))),
        "lstm": (lambda: nn.LSTM(8, 16, 2, batch_first=True, bidirectional=True), (_x(2, 5, 8),)),
        "lstm-proj": (lambda: nn.LSTM(8, 16, proj_size=4), (_x(5, 2, 8),)),
        "gru": (lambda: nn.GRU(8, 16, 1), (_x(5, 2, 8),)),
        "rnn": (lambda: nn.RNN(8, 16, 1, nonlinearity="relu"), (_x(5, 2, 8),)),
        "lstm-cell": (lambda: nn.LSTMCell(8, 16), (_x(2, 8),)),
        "gru-cell": (lambda: nn.GRUCell(8, 16), (_x(2, 8),)),
        "rnn-cell": (lambda: nn.RNNCell(8, 16), (_x(2, 8),)),
        "transformer-encoder": (
            lambda: nn.TransformerEncoder(
                nn.TransformerEncoderLayer(16, 2, 32, batch_first=True),
                2,
                enable_nested_tensor=False,
            ),
            (_x(2, 5, 16),),
        ),
        "transformer-decoder": (lambda: nn.TransformerDecoderLayer(16, 2, 32), (_x(5, 2, 16),) * 2),
        "transformer": (lambda: nn.Transformer(16, 2, 1, 1, 32), (_x(5, 2, 16), _x(5, 2, 16))),
        "multihead-attention": (lambda: nn.MultiheadAttention(16, 2), (_x(5, 2, 16),) * 3),
        "embedding": (lambda: nn.Embedding(10, 4), (torch.tensor([[1, 2, 3]]),)),
        "embedding-bag": (lambda: nn.EmbeddingBag(10, 4), (torch.tensor([[1, 2, 3]]),)),
        "max-pool1d": (lambda: nn.MaxPool1d(2), (_x(1, 4, 8),)),
        "max-pool2d": (lambda: nn.MaxPool2d(2), (_x(1, 4, 8, 8),)),
        "max-pool3d": (lambda: nn.MaxPool3d(2), (_x(1, 2, 4, 4, 4),)),
        "avg-pool1d": (lambda: nn.AvgPool1d(2), (_x(1, 4, 8),)),
        "avg-pool2d": (lambda: nn.AvgPool2d(2), (_x(1, 4, 8, 8),)),
        "avg-pool3d": (lambda: nn.AvgPool3d(2), (_x(1, 2, 4, 4, 4),)),
        "adaptive-avg1d": (lambda: nn.AdaptiveAvgPool1d(2), (_x(1, 4, 8),)),
        "adaptive-avg2d": (lambda: nn.AdaptiveAvgPool2d((1, 1)), (_x(1, 4, 8, 8),)),
        "adaptive-avg3d": (lambda: nn.AdaptiveAvgPool3d(1), (_x(1, 2, 4, 4, 4),)),
        "adaptive-max1d": (lambda: nn.AdaptiveMaxPool1d(2), (_x(1, 4, 8),)),
        "adaptive-max2d": (lambda: nn.AdaptiveMaxPool2d(2), (_x(1, 4, 8, 8),)),
        "lp-pool2d": (lambda: nn.LPPool2d(2, 2), (_x(1, 4, 8, 8),)),
        "batch-norm1d": (lambda: nn.BatchNorm1d(4), (_x(2, 4, 8),)),
        "batch-norm2d": (lambda: nn.BatchNorm2d(4), (_x(2, 4, 8, 8),)),
        "batch-norm3d": (lambda: nn.BatchNorm3d(2), (_x(2, 2, 4, 4, 4),)),
        "layer-norm": (lambda: nn.LayerNorm(8), (_x(2, 8),)),
        "group-norm": (lambda: nn.GroupNorm(2, 4), (_x(2, 4, 8),)),
        "instance-norm1d": (lambda: nn.InstanceNorm1d(4), (_x(2, 4, 8),)),
        "instance-norm2d": (lambda: nn.InstanceNorm2d(4, affine=True), (_x(2, 4, 8, 8),)),
        "local-response-norm": (lambda: nn.LocalResponseNorm(2), (_x(2, 4, 8, 8),)),
        "rms-norm": (lambda: nn.RMSNorm(8), (_x(2, 8),)),
        "dropout": (lambda: nn.Dropout(0.1), (_x(2, 8),)),
        "dropout1d": (lambda: nn.Dropout1d(0.1), (_x(2, 4, 8),)),
        "dropout2d": (lambda: nn.Dropout2d(0.1), (_x(2, 4, 8, 8),)),
        "alpha-dropout": (lambda: nn.AlphaDropout(0.1), (_x(2, 8),)),
        "zero-pad2d": (lambda: nn.ZeroPad2d(1), (_x(1, 2, 4, 4),)),
        "reflection-pad1d": (lambda: nn.ReflectionPad1d(1), (_x(1, 2, 4),)),
        "reflection-pad2d": (lambda: nn.ReflectionPad2d(1), (_x(1, 2, 4, 4),)),
        "replication-pad2d": (lambda: nn.ReplicationPad2d(1), (_x(1, 2, 4, 4),)),
        "constant-pad1d": (lambda: nn.ConstantPad1d(1, 0.5), (_x(1, 2, 4),)),
        "circular-pad2d": (lambda: nn.CircularPad2d(1), (_x(1, 2, 4, 4),)),
        "upsample-nearest": (lambda: nn.Upsample(scale_factor=2), (_x(1, 2, 4, 4),)),
        "upsample-bilinear": (
            lambda: nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
            (_x(1, 2, 4, 4),),
        ),
        "pixel-shuffle": (lambda: nn.PixelShuffle(2), (_x(1, 4, 4, 4),)),
        "pixel-unshuffle": (lambda: nn.PixelUnshuffle(2), (_x(1, 1, 4, 4),)),
        "flatten": (lambda: nn.Flatten(), (_x(2, 3, 4),)),
        "unflatten": (lambda: nn.Unflatten(1, (2, 2)), (_x(2, 4),)),
        "identity": (lambda: nn.Identity(), (_x(2, 4),)),
        "fold": (lambda: nn.Fold((4, 4), 2), (_x(1, 8, 9),)),
        "unfold": (lambda: nn.Unfold(2), (_x(1, 2, 4, 4),)),
        "cosine-similarity": (lambda: nn.CosineSimilarity(), (_x(2, 4), _x(2, 4))),
        "pairwise-distance": (lambda: nn.PairwiseDistance(), (_x(2, 4), _x(2, 4))),
        "channel-shuffle": (lambda: nn.ChannelShuffle(2), (_x(1, 4, 2, 2),)),
        "cross-entropy": (lambda: nn.CrossEntropyLoss(), (_x(2, 4), torch.tensor([1, 2]))),
        "nll-loss": (lambda: nn.NLLLoss(), (_x(2, 4), torch.tensor([1, 2]))),
        "ctc-loss": (
            lambda: nn.CTCLoss(),
            (
                _x(6, 2, 5).log_softmax(2),
                torch.tensor([[1, 2], [3, 4]]),
                torch.tensor([6, 6]),
                torch.tensor([2, 2]),
            ),
        ),
    }
    layers.update(_more_layers())
    activations = (
        "ReLU ReLU6 LeakyReLU PReLU ELU SELU CELU GELU SiLU Mish Sigmoid Tanh Hardtanh Hardswish "
        "Hardsigmoid Hardshrink Softshrink Tanhshrink Softplus Softsign LogSigmoid Softmax "
        "LogSoftmax Softmin GLU RReLU"
    ).split()
    for name in activations:
        layers[name.lower()] = (getattr(nn, name), (_x(2, 4),))
    layers["threshold"] = (lambda: nn.Threshold(0.1, 0.0), (_x(2, 4),))
    layers["softmax2d"] = (nn.Softmax2d, (_x(2, 4, 4, 4),))
    losses = "MSELoss L1Loss SmoothL1Loss HuberLoss BCEWithLogitsLoss BCELoss KLDivLoss".split()
    for name in losses:
        layers[name.lower()] = (getattr(nn, name), (_x(2, 4).sigmoid(), _x(2, 4).sigmoid()))
    return layers


class _Unpool(nn.Module):
    """Max pooling that returns indices, and the unpooling that takes them (functional: torch
    cannot script nn.MaxUnpool2d)."""

    def forward(self, x: Tensor) -> Tensor:
        y, indices = F.max_pool2d_with_indices(x, [2, 2])
        return F.max_unpool2d(y, indices, [2, 2])


def _more_layers() -> dict[str, tuple[Callable[[], nn.Module], Example]]:
    """The rest of torch.nn: other options, other dimensions, every loss."""
    signal, image, volume = _x(1, 2, 16), _x(1, 2, 8, 8), _x(1, 2, 4, 8, 8)
    layers: dict[str, tuple[Callable[[], nn.Module], Example]] = {
        "max-pool2d-ceil": (lambda: nn.MaxPool2d(3, 2, ceil_mode=True), (image,)),
        "max-pool2d-dilated": (lambda: nn.MaxPool2d(2, dilation=2, padding=1), (image,)),
        "avg-pool2d-options": (
            lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
            (image,),
        ),
        "adaptive-max3d": (lambda: nn.AdaptiveMaxPool3d(2), (volume,)),
        "fractional-max2d": (lambda: nn.FractionalMaxPool2d(2, output_size=3), (image,)),
        "fractional-max3d": (lambda: nn.FractionalMaxPool3d(2, output_size=2), (volume,)),
        "lp-pool1d": (lambda: nn.LPPool1d(2, 3), (signal,)),
        "lp-pool3d": (lambda: nn.LPPool3d(2, 2), (volume,)),
        "reflection-pad3d": (lambda: nn.ReflectionPad3d(1), (volume,)),
        "replication-pad1d": (lambda: nn.ReplicationPad1d(2), (signal,)),
        "replication-pad3d": (lambda: nn.ReplicationPad3d(1), (volume,)),
        "zero-pad1d": (lambda: nn.ZeroPad1d(1), (signal,)),
        "zero-pad3d": (lambda: nn.ZeroPad3d(1), (volume,)),
        "constant-pad2d": (lambda: nn.ConstantPad2d(1, 0.5), (image,)),
        "constant-pad3d": (lambda: nn.ConstantPad3d(1, 0.5), (volume,)),
        "circular-pad1d": (lambda: nn.CircularPad1d(1), (signal,)),
        "circular-pad3d": (lambda: nn.CircularPad3d(1), (volume,)),
        "upsample-bicubic": (lambda: nn.Upsample(scale_factor=2, mode="bicubic"), (image,)),
        "upsample-trilinear": (lambda: nn.Upsample(scale_factor=2, mode="trilinear"), (volume,)),
        "upsample-linear": (lambda: nn.Upsample(scale_factor=2, mode="linear"), (signal,)),
        "upsample-nearest-exact": (
            lambda: nn.Upsample(size=(5, 5), mode="nearest-exact"),
            (image,),
        ),
        "upsampling-nearest2d": (lambda: nn.UpsamplingNearest2d(scale_factor=2), (image,)),
        "upsampling-bilinear2d": (lambda: nn.UpsamplingBilinear2d(scale_factor=2), (image,)),
        "embedding-max-norm": (
            lambda: nn.Embedding(10, 4, max_norm=1.0, padding_idx=0),
            (torch.tensor([[1, 2], [3, 4]]),),
        ),
        "embedding-bag-sum": (
            lambda: nn.EmbeddingBag(10, 4, mode="sum"),
            (torch.tensor([1, 2, 3, 4]), torch.tensor([0, 2])),
        ),
        "instance-norm3d": (lambda: nn.InstanceNorm3d(2), (volume,)),
        "layer-norm-plain": (lambda: nn.LayerNorm(16, elementwise_affine=False), (signal,)),
        "group-norm-plain": (lambda: nn.GroupNorm(1, 2, affine=False), (image,)),
        "dropout3d": (lambda: nn.Dropout3d(0.1), (volume,)),
        "feature-alpha-dropout": (lambda: nn.FeatureAlphaDropout(0.1), (image,)),
        "transformer-decoder-stack": (
            lambda: nn.TransformerDecoder(
                nn.TransformerDecoderLayer(16, 2, 32, batch_first=True), 2
            ),
            (_x(2, 5, 16), _x(2, 7, 16)),
        ),
        "transformer-encoder-norm-first": (
            lambda: nn.TransformerEncoderLayer(16, 2, 32, activation="gelu", norm_first=True),
            (_x(5, 2, 16),),
        ),
        "multihead-attention-kdim": (
            lambda: nn.MultiheadAttention(16, 2, kdim=8, vdim=8, batch_first=True),
            (_x(2, 5, 16), _x(2, 3, 8), _x(2, 3, 8)),
        ),
        "gru-bidirectional": (
            lambda: nn.GRU(8, 16, 2, batch_first=True, bidirectional=True),
            (_x(2, 5, 8),),
        ),
        "rnn-tanh": (lambda: nn.RNN(8, 16, 2, bidirectional=True), (_x(5, 2, 8),)),
        "max-unpool2d": (_Unpool, (image,)),
    }
    pair = (_x(2, 4), _x(2, 4))
    target = torch.tensor([1.0, -1.0])
    losses: dict[str, tuple[Callable[[], nn.Module], tuple[Any, ...]]] = {
        "soft-margin-loss": (nn.SoftMarginLoss, (_x(2, 4), torch.ones(2, 4))),
        "multilabel-soft-margin-loss": (nn.MultiLabelSoftMarginLoss, (_x(2, 4), torch.ones(2, 4))),
        "multilabel-margin-loss": (
            nn.MultiLabelMarginLoss,
            (_x(2, 4), torch.tensor([[1, 0, -1, 0], [2, -1, 0, 0]])),
        ),
        "multi-margin-loss": (nn.MultiMarginLoss, (_x(2, 4), torch.tensor([1, 2]))),
        "margin-ranking-loss": (nn.MarginRankingLoss, (_x(2), _x(2), target)),
        "hinge-embedding-loss": (nn.HingeEmbeddingLoss, (_x(2, 4), torch.ones(2, 4))),
        "cosine-embedding-loss": (nn.CosineEmbeddingLoss, (*pair, target)),
        "triplet-margin-loss": (nn.TripletMarginLoss, (*pair, _x(2, 4))),
        "poisson-nll-loss": (nn.PoissonNLLLoss, pair),
        "gaussian-nll-loss": (nn.GaussianNLLLoss, (*pair, torch.ones(2, 4))),
    }
    layers.update(losses)
    return layers


def _families() -> dict[str, tuple[Callable[[], nn.Module], Example]]:
    """Whole models, each a common architecture in miniature."""
    return {
        "classifier": (Classifier, (_x(1, 3, 16, 16),)),
        "mobile-block": (MobileBlock, (_x(1, 8, 8, 8),)),
        "resnet": (ResNetTiny, (_x(1, 3, 32, 32),)),
        "unet": (UNetTiny, (_x(1, 1, 16, 16),)),
        "text-classifier": (TextClassifier, (torch.tensor([[3, 4, 5, 0]]),)),
        "tagger": (Tagger, (torch.tensor([[1, 2, 3], [4, 5, 0]]), torch.tensor([3, 2]))),
        "seq2seq": (Seq2Seq, None),
        "audio-front-end": (AudioFrontEnd, (_x(1, 512),)),
        "vision-transformer": (VisionTransformerTiny, (_x(1, 3, 16, 16),)),
        "detector": (Detector, (_x(1, 4, 8, 8),)),
        "control": (Control, None),
        "containers": (Containers, None),
        "tensor-ops": (TensorOps, (_x(4, 4), _x(4, 4))),
        "quantized-static": (quantized_static, (_x(2, 3, 16, 16),)),
        "quantized-dynamic": (quantized_dynamic, (_x(5, 2, 8),)),
    }


@dataclass(frozen=True)
class Archive:
    name: str  # e.g. conv2d.script.pt
    data: bytes


def _saved(module: torch.jit.ScriptModule, lite: bool = False) -> bytes:
    buffer = io.BytesIO()
    if lite:
        module._save_to_buffer_for_lite_interpreter()  # warm: the first call may warn
        buffer.write(module._save_to_buffer_for_lite_interpreter())
    else:
        torch.jit.save(module, buffer)
    return buffer.getvalue()


# What torch raises for a module it cannot script or trace.
_CANNOT = (
    RuntimeError,
    TypeError,
    AttributeError,
    AssertionError,
    torch.jit.frontend.FrontendError,
)


def _variants(name: str, make: Callable[[], nn.Module], example: Example) -> Iterator[Archive]:
    """The archives torch writes for one module: scripted (full, lite, frozen, optimized for
    inference) and traced. A variant torch itself cannot write for this module is skipped."""
    with contextlib.suppress(*_CANNOT):
        scripted = torch.jit.script(make().eval())
        yield Archive(f"{name}.script.pt", _saved(scripted))
        with contextlib.suppress(RuntimeError):
            yield Archive(f"{name}.script.ptl", _saved(scripted, lite=True))
        with contextlib.suppress(RuntimeError):
            yield Archive(f"{name}.frozen.pt", _saved(torch.jit.freeze(scripted)))
        with contextlib.suppress(RuntimeError):
            optimized = torch.jit.optimize_for_inference(torch.jit.script(make().eval()))
            yield Archive(f"{name}.inference.pt", _saved(optimized))
    if example is not None:
        with contextlib.suppress(*_CANNOT):
            traced = torch.jit.trace(make().eval(), example, check_trace=False)
            yield Archive(f"{name}.trace.pt", _saved(traced))


def corpus(families_only: bool = False) -> Iterator[Archive]:
    """Every archive of the corpus (a few hundred; about a minute on two cores)."""
    torch.manual_seed(0)
    every = _families() if families_only else {**_layers(), **function_modules(), **_families()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, (make, example) in every.items():
            yield from _variants(name, make, example)


def write_corpus(folder: Path, families_only: bool = False) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for archive in corpus(families_only):
        path = folder / archive.name
        path.write_bytes(archive.data)
        written.append(path)
    return written
