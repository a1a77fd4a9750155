"""Negotiation protocols: pluggable classes that add negotiation stages, actions, observations and masks.

An episode has ``n_steps`` activity steps; a protocol with ``n_negotiation_stages = k`` runs k negotiation
stages before each activity step, so an episode has ``n_steps * (k + 1)`` env steps and the stage of env
step ``i`` (1-based) is ``i % (k + 1)`` (stages 1..k negotiate, stage 0 is the activity step), as
upstream. To write your own protocol, subclass :class:`Protocol` (see :class:`ClimateClub` for a
protocol with no negotiation stage and :class:`Bilateral` for upstream's).

Every method works on batched arrays (leading axis B) through ``ops`` (numpy or torch).
"""

from __future__ import annotations

from typing import Any

from rice_n.dynamics import Controls, RiceState

Array = Any
PState = dict[str, Array]


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
        decisions = extra[..., 2 * n : 3 * n] * (1.0 - ops.eye(n))
        promised, requested = pstate["promised"], pstate["requested"]
        by_promise = promised * decisions.swapaxes(-1, -2)
        by_request = requested.swapaxes(-1, -2) * decisions
        floor = ops.amax(ops.maximum(by_promise, by_request), -1)
        return {**pstate, "decisions": decisions, "min_mitigation": floor}

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

    name = "club"

    def __init__(
        self, members: list[int] | tuple[int, ...], min_mitigation: float = 0.5, tariff: float = 0.3
    ):
        if not 0.0 <= min_mitigation <= 1.0:
            raise ValueError(f"min_mitigation must lie in [0, 1], got {min_mitigation!r}")
        if not 0.0 <= tariff <= 1.0:
            raise ValueError(f"tariff must lie in [0, 1], got {tariff!r}")
        self.members = tuple(int(m) for m in members)
        self.min_mitigation = float(min_mitigation)
        self.tariff = float(tariff)

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


PROTOCOLS: dict[str, type[Protocol]] = {"none": NoNegotiation, "bilateral": Bilateral}


def resolve_protocol(protocol: str | Protocol) -> Protocol:
    """A protocol instance from ``"none"``, ``"bilateral"`` or an instance."""
    if isinstance(protocol, Protocol):
        return protocol
    if isinstance(protocol, str) and protocol in PROTOCOLS:
        return PROTOCOLS[protocol]()
    raise ValueError(f"unknown protocol {protocol!r}; use 'none', 'bilateral' or a rice_n.Protocol instance")
