"""MLP variants (plain, residual, multi-skip residual, dense) and CNN encoders (Atari, Impala).

Architectures follow Castanyer et al. 2025 (``src/models/{mlp,encoder}.py`` upstream):

* ``plain``: ``depth`` Linear layers of ``width`` units, each followed by LayerNorm (optional) and ReLU.
* ``residual``: ``Linear(in, width) -> LN``, then ``depth`` pre-activation blocks
  ``x + LN(W2 ReLU(LN(W1 ReLU(x))))``, then ``Linear(width, width) -> LN``.
* ``multiskip``: as ``residual`` but every block also adds the projected input ``g = LN(W_in x)``:
  ``out_k = f_k(out_{k-1}) + out_{k-1} + g`` (the paper's multi-skip residual).
* ``dense``: ``Linear(in, width) -> LN -> ReLU``, then ``depth`` DenseNet blocks that concatenate
  ``LN(W ReLU(x))`` (growth ``width // depth``) to their input, then ``Linear(., width) -> LN``.

``activation`` (``relu`` upstream, or ``tanh``) replaces every ReLU of the MLP. Every variant ends in the
head ``ReLU -> Linear(width, out_dim)`` (``out_dim=None``: no Linear, the
network outputs its ``width`` features, e.g. as the body of :class:`~stable_grad_rl.agents.ActorCritic`). As upstream, ``depth`` counts Linear
layers for ``plain`` (the paper's 4/8/12) and blocks for ``residual``/``multiskip`` (1/3/5); ``dense``
counts blocks. Linear and conv layers use orthogonal init (gain sqrt 2, zero bias); the head uses gain
``head_std`` (0.01 upstream).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import torch
from torch import nn

MLP_KINDS = ("plain", "residual", "multiskip", "dense")
#: Hidden activations: ReLU everywhere in the paper; tanh is cleanrl's classic-control PPO network.
ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh}
ENCODERS = ("none", "atari", "impala")
#: The paper's sizes: width small/medium/large = 512/1536/2560; depth small/medium/large = 4/8/12 layers
#: for plain and dense MLPs, 1/3/5 blocks for residual and multi-skip MLPs.
PAPER_WIDTHS = {"small": 512, "medium": 1536, "large": 2560}
PAPER_DEPTHS = {"small": 1, "medium": 3, "large": 5}


def paper_depth(kind: str, size: str) -> int:
    """The paper's ``depth`` argument for ``kind`` at size ``small``/``medium``/``large``."""
    if size not in PAPER_DEPTHS:
        raise ValueError(f"unknown depth size {size!r}; expected one of {sorted(PAPER_DEPTHS)}")
    _check_kind(kind)
    blocks = PAPER_DEPTHS[size]
    return blocks if kind in ("residual", "multiskip") else 2 * blocks + 2


def _check_kind(kind: str) -> None:
    if kind not in MLP_KINDS:
        raise ValueError(f"unknown MLP kind {kind!r}; expected one of {MLP_KINDS}")


def layer_init(layer: nn.Module, std: float = math.sqrt(2.0), bias: float = 0.0) -> nn.Module:
    """Orthogonal weight init with gain ``std`` and constant bias (cleanrl / upstream convention)."""
    weight, bias_param = layer.weight, layer.bias
    if not isinstance(weight, torch.Tensor) or not isinstance(bias_param, torch.Tensor):
        raise TypeError(f"layer_init needs a layer with weight and bias tensors, got {type(layer).__name__}")
    nn.init.orthogonal_(weight, std)
    nn.init.constant_(bias_param, bias)
    return layer


def _norm(width: int | Sequence[int], layernorm: bool) -> nn.Module:
    return nn.LayerNorm(width) if layernorm else nn.Identity()


def _make_head(width: int, out_dim: int | None, head_std: float) -> nn.Module:
    return nn.Identity() if out_dim is None else layer_init(nn.Linear(width, out_dim), std=head_std)


class _Head(nn.Module):
    """Shared tail of every MLP: ``features = ReLU(trunk(x))``, ``out = Linear(features)``."""

    trunk: nn.Module
    act: nn.Module
    head: nn.Module

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate representation (the input of the output Linear)."""
        return cast(torch.Tensor, self.act(self.trunk(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Network output of shape ``(batch, out_dim)``."""
        return cast(torch.Tensor, self.head(self.features(x)))


class PlainMLP(_Head):
    """``depth`` x (Linear -> [LN] -> ReLU), then Linear head."""

    def __init__(
        self,
        in_dim: int,
        out_dim: int | None,
        depth: int,
        width: int,
        layernorm: bool,
        head_std: float,
        act: type[nn.Module] = nn.ReLU,
    ):
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(depth):
            layers += [layer_init(nn.Linear(in_dim if i == 0 else width, width)), _norm(width, layernorm)]
            if i < depth - 1:
                layers.append(act())
        self.trunk = nn.Sequential(*layers)
        self.act = act()
        self.head = _make_head(width, out_dim, head_std)


class ResidualBlock(nn.Module):
    """Pre-activation block ``x + f(x)``, ``f(x) = LN(W2 ReLU(LN(W1 ReLU(x))))``."""

    def __init__(self, width: int, layernorm: bool, act: type[nn.Module] = nn.ReLU):
        super().__init__()
        self.f = nn.Sequential(
            act(),
            layer_init(nn.Linear(width, width)),
            _norm(width, layernorm),
            act(),
            layer_init(nn.Linear(width, width)),
            _norm(width, layernorm),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x + f(x)``."""
        return cast(torch.Tensor, x + self.f(x))


class _BlockTrunk(nn.Module):
    """``g = LN(W_in x)``; blocks; optional global skip ``+ g`` after every block; ``LN(W_out h)``."""

    def __init__(
        self, in_dim: int, depth: int, width: int, layernorm: bool, multiskip: bool, act: type[nn.Module]
    ):
        super().__init__()
        self.multiskip = multiskip
        self.proj = nn.Sequential(layer_init(nn.Linear(in_dim, width)), _norm(width, layernorm))
        self.blocks = nn.ModuleList(ResidualBlock(width, layernorm, act) for _ in range(depth))
        self.out = nn.Sequential(layer_init(nn.Linear(width, width)), _norm(width, layernorm))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Trunk output (before the head's ReLU)."""
        g = self.proj(x)
        h = g
        for block in self.blocks:
            h = block(h) + g if self.multiskip else block(h)
        return cast(torch.Tensor, self.out(h))


class ResidualMLP(_Head):
    """Residual MLP with ``depth`` pre-activation blocks."""

    def __init__(
        self,
        in_dim: int,
        out_dim: int | None,
        depth: int,
        width: int,
        layernorm: bool,
        head_std: float,
        act: type[nn.Module] = nn.ReLU,
    ):
        super().__init__()
        self.trunk = _BlockTrunk(in_dim, depth, width, layernorm, False, act)
        self.act = act()
        self.head = _make_head(width, out_dim, head_std)


class MultiSkipMLP(_Head):
    """Multi-skip residual MLP: the projected input is added after every block."""

    def __init__(
        self,
        in_dim: int,
        out_dim: int | None,
        depth: int,
        width: int,
        layernorm: bool,
        head_std: float,
        act: type[nn.Module] = nn.ReLU,
    ):
        super().__init__()
        self.trunk = _BlockTrunk(in_dim, depth, width, layernorm, True, act)
        self.act = act()
        self.head = _make_head(width, out_dim, head_std)


class DenseBlock(nn.Module):
    """DenseNet block: ``cat([x, LN(W ReLU(x))])``."""

    def __init__(self, in_dim: int, growth: int, layernorm: bool, act: type[nn.Module] = nn.ReLU):
        super().__init__()
        self.f = nn.Sequential(act(), layer_init(nn.Linear(in_dim, growth)), _norm(growth, layernorm))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Input with the new features appended on the last axis."""
        return torch.cat([x, self.f(x)], dim=-1)


class DenseMLP(_Head):
    """DenseNet-style MLP with ``depth`` blocks of growth ``max(width // depth, 1)``."""

    def __init__(
        self,
        in_dim: int,
        out_dim: int | None,
        depth: int,
        width: int,
        layernorm: bool,
        head_std: float,
        act: type[nn.Module] = nn.ReLU,
    ):
        super().__init__()
        growth = max(width // max(depth, 1), 1)
        layers: list[nn.Module] = [layer_init(nn.Linear(in_dim, width)), _norm(width, layernorm), act()]
        size = width
        for _ in range(depth):
            layers.append(DenseBlock(size, growth, layernorm, act))
            size += growth
        layers += [layer_init(nn.Linear(size, width)), _norm(width, layernorm)]
        self.trunk = nn.Sequential(*layers)
        self.act = act()
        self.head = _make_head(width, out_dim, head_std)


_MLPS = {"plain": PlainMLP, "residual": ResidualMLP, "multiskip": MultiSkipMLP, "dense": DenseMLP}


def _positive_int(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def make_mlp(
    in_dim: int,
    out_dim: int | None,
    *,
    kind: str = "plain",
    depth: int,
    width: int,
    layernorm: bool = False,
    head_std: float = 0.01,
    activation: str = "relu",
) -> nn.Module:
    """Build an MLP of ``kind`` in ``plain``/``residual``/``multiskip``/``dense``.

    ``depth`` is the number of Linear layers for ``plain`` (>= 1) and the number of blocks otherwise
    (>= 0 for residual kinds, >= 1 for ``dense``). The result maps ``(batch, in_dim)`` to
    ``(batch, out_dim)`` and has a ``features(x)`` method giving the penultimate representation;
    ``out_dim=None`` leaves out the output Linear (the network outputs its ``width`` features).
    ``activation`` is ``relu`` (the paper) or ``tanh`` (cleanrl's classic-control PPO).
    """
    _check_kind(kind)
    _positive_int("in_dim", in_dim)
    if out_dim is not None:
        _positive_int("out_dim", out_dim)
    _positive_int("width", width)
    _positive_int("depth", depth, 0 if kind in ("residual", "multiskip") else 1)
    if not isinstance(layernorm, bool):
        raise ValueError(f"layernorm must be a bool, got {layernorm!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; expected one of {sorted(ACTIVATIONS)}")
    return _MLPS[kind](in_dim, out_dim, depth, width, layernorm, float(head_std), ACTIVATIONS[activation])


def mlp_param_count(
    in_dim: int, out_dim: int, *, kind: str, depth: int, width: int, layernorm: bool = False
) -> int:
    """Closed-form parameter count of ``make_mlp(...)`` (no network is built; works at paper scale)."""
    _check_kind(kind)
    ln = 2 if layernorm else 0

    def lin(a: int, b: int) -> int:
        return a * b + b + ln * b

    head = width * out_dim + out_dim
    if kind == "plain":
        return lin(in_dim, width) + (depth - 1) * lin(width, width) + head
    if kind in ("residual", "multiskip"):
        return lin(in_dim, width) + depth * 2 * lin(width, width) + lin(width, width) + head
    growth = max(width // max(depth, 1), 1)
    blocks = sum(lin(width + i * growth, growth) for i in range(depth))
    return lin(in_dim, width) + blocks + lin(width + depth * growth, width) + head


def _conv_out(size: int, kernel: int, stride: int, padding: int = 0) -> int:
    return (size + 2 * padding - kernel) // stride + 1


class AtariCNN(nn.Module):
    """Nature-DQN encoder: convs 8/4, 4/2, 3/1 with ``channels`` filters, LN over (C, H, W) optional.

    Input ``(batch, C, H, W)`` in [0, 255]; it is divided by 255. Output is flat, ``output_dim`` wide.
    """

    def __init__(
        self,
        in_shape: Sequence[int] = (4, 84, 84),
        channels: Sequence[int] = (32, 64, 64),
        layernorm: bool = False,
        kernels: Sequence[int] = (8, 4, 3),
        strides: Sequence[int] = (4, 2, 1),
    ):
        super().__init__()
        if len(in_shape) != 3:
            raise ValueError(f"AtariCNN needs an image shape (C, H, W), got {tuple(in_shape)}")
        if not (len(channels) == len(kernels) == len(strides)):
            raise ValueError(f"channels {tuple(channels)}, kernels and strides must have equal length")
        c, h, w = (int(v) for v in in_shape)
        layers: list[nn.Module] = []
        for out_c, k, s in zip(channels, kernels, strides, strict=True):
            h, w = _conv_out(h, k, s), _conv_out(w, k, s)
            if h < 1 or w < 1:
                raise ValueError(
                    f"image {tuple(in_shape)} is too small for AtariCNN kernels {tuple(kernels)}"
                )
            layers += [
                layer_init(nn.Conv2d(c, out_c, k, stride=s)),
                _norm([out_c, h, w], layernorm),
                nn.ReLU(),
            ]
            c = out_c
        layers.append(nn.Flatten())
        self.cnn = nn.Sequential(*layers)
        self.output_dim = c * h * w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Flat features of an image batch in [0, 255]."""
        return cast(torch.Tensor, self.cnn(x / 255.0))


class _ImpalaResidual(nn.Module):
    def __init__(self, channels: int, h: int, w: int, layernorm: bool):
        super().__init__()
        self.f = nn.Sequential(
            nn.ReLU(),
            layer_init(nn.Conv2d(channels, channels, 3, padding=1)),
            _norm([channels, h, w], layernorm),
            nn.ReLU(),
            layer_init(nn.Conv2d(channels, channels, 3, padding=1)),
            _norm([channels, h, w], layernorm),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return cast(torch.Tensor, x + self.f(x))


class _ImpalaStage(nn.Module):
    def __init__(self, in_c: int, out_c: int, h: int, w: int, layernorm: bool):
        super().__init__()
        self.conv = layer_init(nn.Conv2d(in_c, out_c, 3, padding=1))
        self.norm = _norm([out_c, h, w], layernorm)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        ph, pw = (h + 1) // 2, (w + 1) // 2
        self.res = nn.Sequential(
            _ImpalaResidual(out_c, ph, pw, layernorm), _ImpalaResidual(out_c, ph, pw, layernorm)
        )
        self.out_hw = (ph, pw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return cast(torch.Tensor, self.res(self.pool(self.norm(self.conv(x)))))


class ImpalaCNN(nn.Module):
    """Impala encoder: per stage conv3 -> [LN] -> maxpool 3/2 -> 2 residual blocks; then ReLU, flatten."""

    def __init__(
        self,
        in_shape: Sequence[int] = (4, 84, 84),
        channels: Sequence[int] = (16, 32, 32),
        layernorm: bool = False,
    ):
        super().__init__()
        if len(in_shape) != 3:
            raise ValueError(f"ImpalaCNN needs an image shape (C, H, W), got {tuple(in_shape)}")
        c, h, w = (int(v) for v in in_shape)
        stages: list[nn.Module] = []
        for out_c in channels:
            stage = _ImpalaStage(c, int(out_c), h, w, layernorm)
            stages.append(stage)
            c, (h, w) = int(out_c), stage.out_hw
        self.cnn = nn.Sequential(*stages, nn.ReLU(), nn.Flatten())
        self.output_dim = c * h * w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Flat features of an image batch in [0, 255]."""
        return cast(torch.Tensor, self.cnn(x / 255.0))


@dataclass
class NetworkConfig:
    """One config for every network: optional CNN encoder, then an MLP of ``kind``/``depth``/``width``.

    ``cnn_channels`` empty means the encoder's default (Atari 32/64/64, Impala 16/32/32).
    """

    kind: str = "plain"
    depth: int = 4
    width: int = 512
    layernorm: bool = False
    encoder: str = "none"
    cnn_channels: tuple[int, ...] = field(default_factory=tuple)
    head_std: float = 0.01
    activation: str = "relu"

    def validate(self) -> NetworkConfig:
        """Raise ``ValueError`` naming the bad field; return self."""
        _check_kind(self.kind)
        if self.encoder not in ENCODERS:
            raise ValueError(f"unknown encoder {self.encoder!r}; expected one of {ENCODERS}")
        _positive_int("width", self.width)
        _positive_int("depth", self.depth, 0 if self.kind in ("residual", "multiskip") else 1)
        for ch in self.cnn_channels:
            _positive_int("cnn_channels entry", ch)
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; expected one of {sorted(ACTIVATIONS)}")
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        d = asdict(self)
        d["cnn_channels"] = list(self.cnn_channels)
        return d


class Network(nn.Module):
    """Encoder (identity/flatten or CNN) followed by an MLP; ``features`` is the MLP's penultimate layer."""

    def __init__(self, encoder: nn.Module, mlp: nn.Module):
        super().__init__()
        self.encoder = encoder
        self.mlp: Any = mlp

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate representation."""
        return cast(torch.Tensor, self.mlp.features(self.encoder(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Network output."""
        return cast(torch.Tensor, self.mlp(self.encoder(x)))


def build_network(config: NetworkConfig, obs_shape: Sequence[int], out_dim: int | None) -> Network:
    """Build the encoder + MLP that ``config`` describes, for observations of ``obs_shape``.

    ``out_dim=None`` builds a body without output layer: it outputs ``config.width`` features.
    """
    config.validate()
    obs_shape = tuple(int(v) for v in obs_shape)
    channels = tuple(config.cnn_channels)
    if config.encoder == "atari":
        atari = AtariCNN(obs_shape, channels or (32, 64, 64), config.layernorm)
        encoder: nn.Module = atari
        in_dim = int(atari.output_dim)
    elif config.encoder == "impala":
        impala = ImpalaCNN(obs_shape, channels or (16, 32, 32), config.layernorm)
        encoder = impala
        in_dim = int(impala.output_dim)
    else:
        encoder = nn.Flatten()
        in_dim = math.prod(obs_shape)
    mlp = make_mlp(
        in_dim,
        out_dim,
        kind=config.kind,
        depth=config.depth,
        width=config.width,
        layernorm=config.layernorm,
        head_std=config.head_std,
        activation=config.activation,
    )
    return Network(encoder, mlp)


def count_params(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
