"""Negotiation protocols: pluggable classes that add negotiation stages, actions, observations and masks.

An episode has ``n_steps`` activity steps; a protocol with ``n_negotiation_stages = k`` runs k negotiation
stages before each activity step, so an episode has ``n_steps * (k + 1)`` env steps and the stage of env
step ``i`` (1-based) is ``i % (k + 1)`` (stages 1..k negotiate, stage 0 is the activity step), as
upstream. To write your own protocol, subclass :class:`Protocol` (see :class:`ClimateClub` for a
protocol with no negotiation stage and :class:`Bilateral` for upstream's).

Every method works on batched arrays (leading axis B) through ``ops`` (numpy or torch).
"""

from __future__ import annotations

import inspect
import json
import re
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from rice_n.dynamics import Controls, RiceState

Array = Any
PState = dict[str, Array]
#: ``1 - eye(n)`` per backend object (an env's ``ops``) and size, for :class:`Bilateral`.
_OFFDIAG: weakref.WeakKeyDictionary[Any, dict[int, Array]] = weakref.WeakKeyDictionary()


class Protocol:
    """The base protocol: no negotiation (``"none"``). Subclass it and override what you need.

    Hooks, in the order the env calls them:

    * :meth:`init_state` at reset;
    * :meth:`negotiate` at each negotiation stage (1..k) with that stage's extra actions;
    * :meth:`mitigation_floor` after each env step, for the action mask;
    * :meth:`adjust_controls` at each activity step, to bind agreements (e.g. club tariffs);
    * :meth:`observe` for the protocol's features (appended to the global / private parts).
    """

    name = "none"
    #: Negotiation stages before each activity step.
    n_negotiation_stages: int = 0

    def params(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this protocol (JSON values; saved with a trained run)."""
        return {}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Protocol) and type(self) is type(other) and self.params() == other.params()

    def __hash__(self) -> int:
        return hash((type(self).__name__, json.dumps(self.params(), sort_keys=True, default=repr)))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"

    def extra_nvec(self, n_regions: int, levels: int) -> list[int]:
        """Sizes of the protocol's extra action dims, appended after the 3 + 2N activity dims."""
        return []

    def extra_fraction_scale(self, n_regions: int, levels: int) -> list[float]:
        """Factor turning each extra action level into the fraction :meth:`negotiate` receives."""
        return [1.0 / levels] * len(self.extra_nvec(n_regions, levels))

    def global_obs_dim(self) -> int:
        """Number of global features :meth:`observe` appends after the timestep feature."""
        return 0

    def private_obs_dim(self, n_regions: int) -> int:
        """Number of per-region features :meth:`observe` appends at the end of the observation."""
        return 0

    def init_state(self, ops: Any, batch: int, n_regions: int) -> PState:
        """The protocol's state at reset (a dict of batched arrays)."""
        return {}

    def negotiate(self, ops: Any, stage: int, extra: Array, pstate: PState, state: RiceState) -> PState:
        """Run negotiation stage ``stage`` (1..k); ``extra`` = extra action fractions (B, N, E)."""
        return pstate

    def mitigation_floor(self, ops: Any, pstate: PState, state: RiceState) -> Array | None:
        """Minimum mitigation rate per region (B, N) for the action mask, or None for no floor."""
        return None

    def adjust_controls(self, ops: Any, controls: Controls, pstate: PState, state: RiceState) -> Controls:
        """Change the activity controls before the activity step (default: unchanged)."""
        return controls

    def observe(self, ops: Any, stage: int, pstate: PState, state: RiceState) -> tuple[Array, Array] | None:
        """``(global (B, G), private (B, N, P))`` extra features, or None when both dims are 0."""
        return None


class NoNegotiation(Protocol):
    """No negotiation: one env step per activity step (upstream ``negotiation_on=False``)."""


class Bilateral(Protocol):
    """Upstream's bilateral protocol: proposal (stage 1), evaluation (stage 2), activity (stage 0).

    Extra actions: 2N proposal dims interleaved ``[promise_j, request_j]`` (levels values, fraction =
    a/levels) then N accept/reject dims (2 values). ``promised[i, j]`` = mitigation that i promises to j,
    ``requested[i, j]`` = mitigation that i asks of j, ``decisions[i, j]`` = 1 when i accepts j's proposal
    (diagonal forced to 0). After evaluation each region's minimum mitigation is
    ``max_j(promised[i, j] * decisions[j, i], requested[j, i] * decisions[i, j])``, kept until the next
    evaluation. Observation: the stage (global), then min mitigation and, for promised, requested and
    decisions, the own row then the own column (1 + 6N private features).
    """

    name = "bilateral"
    n_negotiation_stages = 2

    def extra_nvec(self, n_regions: int, levels: int) -> list[int]:
        """2N proposal dims (``levels`` values) then N decision dims (2 values)."""
        return [levels] * (2 * n_regions) + [2] * n_regions

    def extra_fraction_scale(self, n_regions: int, levels: int) -> list[float]:
        """Proposals are level / levels; decisions are 0 or 1."""
        return [1.0 / levels] * (2 * n_regions) + [1.0] * n_regions

    def global_obs_dim(self) -> int:
        """The stage."""
        return 1

    def private_obs_dim(self, n_regions: int) -> int:
        """min mitigation, then rows and columns of promised, requested, decisions."""
        return 1 + 6 * n_regions

    def init_state(self, ops: Any, batch: int, n_regions: int) -> PState:
        """All zeros: no promise, request, decision or floor."""
        z = ops.zeros((batch, n_regions, n_regions))
        return {
            "promised": z,
            "requested": z,
            "decisions": z,
            "min_mitigation": ops.zeros((batch, n_regions)),
        }

    def negotiate(self, ops: Any, stage: int, extra: Array, pstate: PState, state: RiceState) -> PState:
        """Stage 1 records proposals; stage 2 records decisions and recomputes the floors."""
        n = state.K.shape[-1]
        if stage == 1:
            return {**pstate, "promised": extra[..., 0 : 2 * n : 2], "requested": extra[..., 1 : 2 * n : 2]}
        decisions = extra[..., 2 * n : 3 * n] * self._offdiag(ops, n)
        promised, requested = pstate["promised"], pstate["requested"]
        by_promise = promised * decisions.swapaxes(-1, -2)
        by_request = requested.swapaxes(-1, -2) * decisions
        floor = ops.amax(ops.maximum(by_promise, by_request), -1)
        return {**pstate, "decisions": decisions, "min_mitigation": floor}

    @staticmethod
    def _offdiag(ops: Any, n: int) -> Array:
        """``1 - eye(n)`` of the backend ``ops``, made once per backend object and size (never modified)."""
        cache = _OFFDIAG.setdefault(ops, {})
        if n not in cache:
            cache[n] = 1.0 - ops.eye(n)
        return cache[n]

    def mitigation_floor(self, ops: Any, pstate: PState, state: RiceState) -> Array | None:
        """The agreed minimum mitigation of each region."""
        return pstate["min_mitigation"]

    def observe(self, ops: Any, stage: int, pstate: PState, state: RiceState) -> tuple[Array, Array] | None:
        """Stage; min mitigation and own rows/columns of promised, requested and decisions."""
        batch = state.K.shape[0]
        glob = ops.zeros((batch, 1)) + float(stage)
        parts = [pstate["min_mitigation"][..., None]]
        for key in ("promised", "requested", "decisions"):
            m = pstate[key]
            parts += [m, m.swapaxes(-1, -2)]
        return glob, ops.concat(parts, -1)


class ClimateClub(Protocol):
    """An example protocol: a climate club with a minimum mitigation and a tariff on non-members.

    Members must mitigate at least ``min_mitigation`` (their action mask enforces it, and an activity
    action below it is raised to it), and every member's tariff on imports from a non-member is at least
    ``tariff``. No negotiation stage; each region observes whether it is a member.

    Args:
        members: region indices in the club.
        min_mitigation: the club's mitigation floor, in [0, 1].
        tariff: the minimum tariff of members on non-members, in [0, 1].
    """

    name = "climate-club"

    def __init__(
        self, members: list[int] | tuple[int, ...], min_mitigation: float = 0.5, tariff: float = 0.3
    ):
        if isinstance(members, (str, bytes)) or not isinstance(members, Sequence):
            raise ValueError(f"members must be a list of region indices, got {members!r}")
        bad = [m for m in members if isinstance(m, bool) or not isinstance(m, int) or m < 0]
        if bad:
            raise ValueError(f"club member {bad[0]!r} is not a region index (an integer >= 0)")
        if len(set(members)) != len(members):
            raise ValueError(f"club members repeat a region: {list(members)!r}")
        for what, value in (("min_mitigation", min_mitigation), ("tariff", tariff)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"{what} must be a number in [0, 1], got {value!r}")
        self.members = tuple(int(m) for m in members)
        self.min_mitigation = float(min_mitigation)
        self.tariff = float(tariff)

    def params(self) -> dict[str, Any]:
        """``members``, ``min_mitigation`` and ``tariff``."""
        return {"members": list(self.members), "min_mitigation": self.min_mitigation, "tariff": self.tariff}

    def private_obs_dim(self, n_regions: int) -> int:
        """One membership flag."""
        return 1

    def init_state(self, ops: Any, batch: int, n_regions: int) -> PState:
        """The membership vector (B, N)."""
        bad = [m for m in self.members if not 0 <= m < n_regions]
        if bad:
            raise ValueError(f"club member index {bad[0]} is not a region (0..{n_regions - 1})")
        member = [1.0 if i in self.members else 0.0 for i in range(n_regions)]
        return {"member": ops.zeros((batch, n_regions)) + ops.asarray(member)}

    def mitigation_floor(self, ops: Any, pstate: PState, state: RiceState) -> Array | None:
        """``min_mitigation`` for members, 0 for the others."""
        return pstate["member"] * self.min_mitigation

    def adjust_controls(self, ops: Any, controls: Controls, pstate: PState, state: RiceState) -> Controls:
        """Members mitigate at least the floor and tariff non-members at least ``tariff``."""
        member = pstate["member"]
        floor = member * self.min_mitigation
        club_tariff = member[..., :, None] * (1.0 - member[..., None, :]) * self.tariff
        return controls.replace(
            mitigation=ops.maximum(controls.mitigation, floor),
            tariffs=ops.maximum(controls.tariffs, club_tariff),
        )

    def observe(self, ops: Any, stage: int, pstate: PState, state: RiceState) -> tuple[Array, Array] | None:
        """The membership flag of each region."""
        batch = state.K.shape[0]
        return ops.zeros((batch, 0)), pstate["member"][..., None]


class ProtocolError(ValueError):
    """An unknown protocol name, bad protocol parameters, or a protocol that cannot be saved."""


PROTOCOLS: dict[str, type[Protocol]] = {}
"""The registered negotiation protocols by name (``register_protocol`` adds one): what a saved run can name."""


def register_protocol(cls: type[Protocol]) -> type[Protocol]:
    """Register a :class:`Protocol` subclass under its ``name`` (usable as a decorator); returns ``cls``.

    A registered protocol can be named in the CLI (``--protocol NAME --set key=value``) and saved with a
    trained run as its name plus :meth:`Protocol.params`.
    """
    if not (isinstance(cls, type) and issubclass(cls, Protocol)):
        raise ProtocolError(f"register_protocol takes a Protocol subclass, got {cls!r}")
    name = cls.name
    if not isinstance(name, str) or not name:
        raise ProtocolError(f"protocol class {cls.__name__} needs a non-empty string `name`")
    if PROTOCOLS.get(name, cls) is not cls:
        raise ProtocolError(f"protocol name {name!r} is already registered by {PROTOCOLS[name].__name__}")
    PROTOCOLS[name] = cls
    return cls


for _cls in (NoNegotiation, Bilateral, ClimateClub):
    register_protocol(_cls)


def protocol_parameters(cls: type[Protocol]) -> dict[str, inspect.Parameter]:
    """The constructor parameters of a protocol class (name -> ``inspect.Parameter``)."""
    sig = inspect.signature(cls.__init__)
    return {
        k: p for k, p in list(sig.parameters.items())[1:] if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def _build(cls: type[Protocol], params: Mapping[str, Any]) -> Protocol:
    known = protocol_parameters(cls)
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ProtocolError(
            f"protocol {cls.name!r} has no parameter {unknown[0]!r}; its parameters: {sorted(known) or 'none'}"
        )
    missing = [k for k, p in known.items() if p.default is p.empty and k not in params]
    if missing:
        raise ProtocolError(
            f"protocol {cls.name!r} needs parameter(s) {missing} (e.g. --set {missing[0]}=...)"
        )
    try:
        return cls(**params)
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"protocol {cls.name!r}: {exc}") from None


def resolve_protocol(protocol: str | Mapping[str, Any] | Protocol) -> Protocol:
    """A protocol instance from a registered name, a saved spec ``{"name", "params"}`` or an instance."""
    if isinstance(protocol, Protocol):
        return protocol
    params: Mapping[str, Any]
    if isinstance(protocol, str):
        name, params = protocol, {}
    elif isinstance(protocol, Mapping) and isinstance(protocol.get("name"), str):
        name, params = protocol["name"], protocol.get("params") or {}
        if not isinstance(params, Mapping):
            raise ProtocolError(f"protocol spec {dict(protocol)!r}: params must be a mapping")
    else:
        raise ProtocolError(
            f"unknown protocol {protocol!r}; use a registered name ({', '.join(sorted(PROTOCOLS))}), "
            "a spec {'name': ..., 'params': {...}} or a rice_n.Protocol instance"
        )
    cls = PROTOCOLS.get(name)
    if cls is None:
        raise ProtocolError(
            f"unknown protocol {name!r}; registered: {', '.join(sorted(PROTOCOLS))} "
            "(register your own with rice_n.register_protocol)"
        )
    return _build(cls, dict(params))


def protocol_spec(protocol: str | Mapping[str, Any] | Protocol) -> str | dict[str, Any]:
    """What a run saves of a protocol: its registered name, or ``{"name", "params"}`` with parameters.

    Raises :class:`ProtocolError` for a protocol that cannot be saved: its class is not registered under
    its ``name``, or :meth:`Protocol.params` is not JSON or does not rebuild an equal protocol.
    """
    p = resolve_protocol(protocol)
    if type(p) is Protocol:
        return "none"
    cls = PROTOCOLS.get(p.name)
    if cls is not type(p):
        raise ProtocolError(
            f"protocol {type(p).__name__} (name {p.name!r}) cannot be saved: give it a unique `name` and "
            "register its class with rice_n.register_protocol"
        )
    params = p.params()
    try:
        saved = json.loads(json.dumps(params, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"protocol {p.name!r} cannot be saved: params() is not JSON ({exc})") from None
    if _build(cls, saved) != p:
        raise ProtocolError(f"protocol {p.name!r} cannot be saved: params() {saved!r} do not rebuild it")
    return p.name if not saved else {"name": p.name, "params": saved}


def protocol_label(protocol: str | Mapping[str, Any] | Protocol) -> str:
    """A short display label: the name, with parameters if any (``climate-club(members=[0, 1], ...)``)."""
    p = resolve_protocol(protocol)
    params = p.params()
    if not params:
        return p.name
    return f"{p.name}(" + ", ".join(f"{k}={v}" for k, v in params.items()) + ")"


def parse_protocol_option(name: str, settings: Sequence[str]) -> Protocol:
    """The protocol ``name`` with CLI ``key=value`` parameters (lists comma-separated: ``members=0,1,5``)."""
    cls = PROTOCOLS.get(name)
    if cls is None:
        raise ProtocolError(f"unknown protocol {name!r}; registered: {', '.join(sorted(PROTOCOLS))}")
    known = protocol_parameters(cls)
    params: dict[str, Any] = {}
    for item in settings:
        key, sep, text = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ProtocolError(f"--set {item!r}: expected KEY=VALUE")
        if key not in known:
            raise ProtocolError(
                f"--set {item!r}: protocol {name!r} has no parameter {key!r}; its parameters: "
                f"{sorted(known) or 'none'}"
            )
        param = known[key]
        is_list = isinstance(param.default, (list, tuple)) or any(
            t in str(param.annotation) for t in ("list", "tuple", "Sequence")
        )
        if is_list:
            items = text.split(",")
            if not all(x.strip() for x in items):
                raise ProtocolError(f"--set {item!r}: expected a comma-separated list of values, none empty")
            params[key] = [_scalar(x) for x in items]
        else:
            params[key] = _scalar(text)
    return _build(cls, params)


#: ASCII numbers only: int() and float() also take "1_0" and non-ASCII digits, which a CLI value must not.
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _scalar(text: str) -> Any:
    text = text.strip()
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return {"true": True, "false": False}.get(text.lower(), text)
