"""The batched RICE-N environment: N independent episodes stepped at once, arrays in, arrays out.

All episodes run in lockstep (same env step, same stage), so they start and end together. The numpy
backend runs on the CPU in float64; the torch backend runs on any device (float64 by default, float32 on
request). See the package README, section "API for training".
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from rice_n._backend import make_ops
from rice_n._kernel import NumpyKernel
from rice_n.dynamics import Constants, Controls, Mode, RiceState, activity_step, initial_state, resolve_mode
from rice_n.metrics import climate_index, economic_index
from rice_n.params import RiceParams, load_params
from rice_n.protocols import Protocol, resolve_protocol
from rice_n.spaces import Layout, make_layout

MASK_VIOLATION = ("ignore", "clip", "raise")
_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


class InvalidActionError(ValueError):
    """An action is out of range, of the wrong shape, or not a finite number."""


def build_params(
    params: RiceParams | None = None,
    regions: str | Path | None = None,
    constants: str | Path | None = None,
    **overrides: Any,
) -> RiceParams:
    """The params of an env: ``params`` if given (with overrides), else loaded from the data files."""
    if params is not None:
        if regions is not None or constants is not None:
            raise ValueError("pass either params or regions/constants, not both")
        return params.replace(**overrides) if overrides else params
    return load_params(regions, constants, **overrides)


class BatchRiceEnv:
    """``num_envs`` RICE-N episodes stepped together.

    Args:
        num_envs: number of episodes B.
        protocol: ``"none"``, ``"bilateral"`` or a :class:`rice_n.Protocol` instance.
        mode: ``"upstream"`` (default, reproduces upstream numbers) or ``"paper"`` (or a Mode).
        params: a :class:`RiceParams`; by default the shipped 27-region calibration.
        regions, constants: paths of a region table / constants YAML (instead of ``params``).
        num_discrete_action_levels: levels per action dim (upstream 10; fraction = level / levels).
        backend: ``"numpy"`` or ``"torch"``; ``device`` and ``dtype`` for torch.
        mask_violation: what a checked step does with a mitigation below the agreed floor:
            ``"ignore"`` (upstream: masks are computed, never enforced), ``"clip"`` (raise it to the
            floor) or ``"raise"`` (InvalidActionError).
        observe: build observations on every step (False: step returns ``obs=None``; call
            :meth:`observations` when needed; much faster for large batches).
        obs_dtype: dtype of observations (float32 by default).
        record: keep the state after every env step in :attr:`history` (off by default).
        observe_last_reward: at negotiation steps, keep the last activity step's utility in the private
            'reward' feature (False, the default, shows 0 there as upstream does: upstream carries every
            state key forward through negotiation steps except the rewards).
        **overrides: any :class:`RiceParams` field.
    """

    def __init__(
        self,
        num_envs: int = 1,
        protocol: str | Protocol = "none",
        mode: str | Mode = "upstream",
        params: RiceParams | None = None,
        regions: str | Path | None = None,
        constants: str | Path | None = None,
        num_discrete_action_levels: int = 10,
        backend: str = "numpy",
        device: Any = None,
        dtype: Any = None,
        mask_violation: str = "ignore",
        observe: bool = True,
        obs_dtype: Any = None,
        record: bool = False,
        observe_last_reward: bool = False,
        **overrides: Any,
    ) -> None:
        if not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        if mask_violation not in MASK_VIOLATION:
            raise ValueError(f"mask_violation must be one of {MASK_VIOLATION}, got {mask_violation!r}")
        self.params = build_params(params, regions, constants, **overrides)
        self.mode = resolve_mode(mode)
        self.protocol = resolve_protocol(protocol)
        self.ops = make_ops(backend, dtype, device)
        self.backend = backend
        self.num_envs = int(num_envs)
        self.n_agents = self.params.n_regions
        self.layout: Layout = make_layout(
            self.n_agents, int(num_discrete_action_levels), self.protocol, self.mode
        )
        self.levels = self.layout.levels
        self.n_stages = 1 + self.protocol.n_negotiation_stages
        self.episode_length = self.params.n_steps * self.n_stages
        self.mask_violation = mask_violation
        self.observe_on_step = bool(observe)
        self.record = bool(record)
        self.observe_last_reward = bool(observe_last_reward)
        self.history: list[RiceState] = []
        self.consts = Constants(self.params, self.ops)
        if backend == "torch":
            import torch

            self.obs_dtype = torch.float32 if obs_dtype is None else obs_dtype
        else:
            self.obs_dtype = np.dtype(np.float32 if obs_dtype is None else obs_dtype)
        self._eye = self.ops.eye(self.n_agents)
        self._scale = 1.0 / self.levels
        nvec = self.layout.nvec
        self._expected_shape = (self.num_envs, self.n_agents, self.n_actions)
        self._uniform_levels = int(nvec[0]) if bool(np.all(nvec == nvec[0])) else None
        self._nvec_unsigned: dict[np.dtype, np.ndarray] = {}
        self._kernel = (
            NumpyKernel(self.consts, self.mode, self.num_envs, self.params.n_steps, self.n_stages > 1)
            if backend == "numpy" and self.ops.dtype == np.float64
            else None
        )
        # protocol hooks that do something (the base class's do nothing: skipped on the fast path)
        self._hooks = {
            name: getattr(getattr(self.protocol, name), "__func__", None) is not getattr(Protocol, name)
            for name in ("adjust_controls", "mitigation_floor", "observe")
        }
        p = self.params
        self._years = [int(p.start_year + p.delta * t) for t in range(p.n_steps + 1)]
        self._reset_arrays()

    # ------------------------------------------------------------------ properties
    @property
    def action_nvec(self) -> np.ndarray:
        """Levels of each action dim (``[10]*57`` for 27 regions, no negotiation)."""
        nvec: np.ndarray = self.layout.nvec.copy()
        return nvec

    @property
    def n_actions(self) -> int:
        """Number of action dims D."""
        return self.layout.n_actions

    @property
    def obs_dim(self) -> int:
        """Number of observation features F (1043 for 27 regions, no negotiation)."""
        return self.layout.obs_dim

    @property
    def mask_dim(self) -> int:
        """Length of the flat action mask (sum of ``action_nvec``; 570 without negotiation)."""
        return self.layout.mask_dim

    @property
    def timestep(self) -> int:
        """Env steps taken in the current episodes (negotiation stages included)."""
        return self._timestep

    @property
    def next_stage(self) -> int:
        """Stage of the next env step: 0 = activity, 1.. = negotiation stages."""
        return (self._timestep + 1) % self.n_stages

    @property
    def done(self) -> bool:
        """True once the episodes have reached their last step."""
        return self._timestep >= self.episode_length

    # ------------------------------------------------------------------ reset / step
    def _reset_arrays(self) -> None:
        b, n = self.num_envs, self.n_agents
        self.state: RiceState = (
            initial_state(self.consts, b) if self._kernel is None else self._kernel.reset()
        )
        self.pstate = self.protocol.init_state(self.ops, b, n)
        self._timestep = 0
        self._stage = 0
        self._mask: Any = None
        self._floor_levels: Any = None
        self._floor_source: Any = None
        self.episode_reward = self.ops.zeros((b, n))
        self.episode_gross_output = self.ops.zeros((b,))
        self._T_AT_0 = self.state.T[..., 0]
        self._update_mask()
        self.history = [self.state] if self.record else []

    def reset(self, seed: int | None = None) -> tuple[Any, Any]:
        """Start B new episodes; returns ``(obs (B, N, F) or None, action_mask (B, N, mask_dim))``.

        The model is deterministic: ``seed`` is accepted for API symmetry and has no effect.
        """
        del seed
        self._reset_arrays()
        return (self.observations() if self.observe_on_step else None), self._mask

    def step(self, actions: Any) -> tuple[Any, Any, Any, bool, dict[str, Any]]:
        """Step all episodes with integer actions ``(B, N, D)`` in ``[0, action_nvec)``.

        Returns ``(obs (B, N, F) or None, action_mask (B, N, mask_dim), reward (B, N), done, info)``.
        ``done`` is a bool shared by all episodes; ``info`` holds ``stage`` (of the step just taken),
        ``activity_step`` and ``year``. Raises :class:`InvalidActionError` on a bad action.
        """
        a = self._check_actions(actions)
        return self._step(a, checked=True)

    def step_unchecked(self, fractions: Any) -> tuple[Any, Any, Any, bool, dict[str, Any]]:
        """Step with action *fractions* ``(B, N, D)`` (level / levels; decisions as 0/1), unchecked.

        Any value in [0, 1] is accepted (e.g. savings 1.0, which the discrete space cannot express:
        upstream's index bounds use it). No range, mask or NaN check is made.
        """
        f = self.ops.asarray(fractions)
        if tuple(f.shape) != (self.num_envs, self.n_agents, self.n_actions):
            raise InvalidActionError(
                f"fractions must have shape {(self.num_envs, self.n_agents, self.n_actions)}, got {tuple(f.shape)}"
            )
        return self._step(f, checked=False)

    def _extra_divisor(self) -> Any:
        if not hasattr(self, "_xdiv"):
            extra = self.protocol.extra_fraction_scale(self.n_agents, self.levels)
            self._xdiv = self.ops.asarray(1.0 / np.array(extra, dtype=np.float64))
        return self._xdiv

    def _check_actions(self, actions: Any) -> Any:
        ops = self.ops
        expected = self._expected_shape
        if self.backend == "numpy":
            a = np.asarray(actions)
            if a.dtype.kind == "i" and a.shape == expected and self._in_range(a):
                return a
        if self.backend == "torch":
            a = ops.as_int(actions)
            shape, is_float = tuple(a.shape), bool(a.is_floating_point())  # type: ignore[union-attr]
        else:
            a = np.asarray(actions)
            shape = a.shape
            if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
                raise InvalidActionError(f"actions must be numeric, got dtype {a.dtype}")
            is_float = np.issubdtype(a.dtype, np.floating)
        if shape != expected:
            raise InvalidActionError(
                f"actions must have shape {expected} (episodes, regions, dims), got {shape}"
            )
        if is_float:
            if not ops.isfinite_all(a):
                raise InvalidActionError("actions contain NaN or infinity")
            if bool((a != a.round()).any()):
                raise InvalidActionError(
                    "actions must be whole numbers (action levels), got fractional values"
                )
        nvec = self.layout.nvec
        uniform = self._uniform_levels is not None
        low = a.min()
        if bool(low < 0):
            raise InvalidActionError(f"actions must be >= 0, got {float(low)}")
        if uniform:
            if bool(a.max() >= int(nvec[0])):
                self._raise_range(a)
        else:
            limit = self.ops.as_int(nvec) if self.backend == "torch" else nvec
            if bool((a >= limit).any()):
                self._raise_range(a)
        return a

    def _in_range(self, a: np.ndarray) -> bool:
        """True when every signed-integer level is in ``[0, nvec)``, in one pass: negative values viewed as
        unsigned are huge, so ``level < nvec`` checks both bounds."""
        u = a.view(_UNSIGNED[a.dtype.itemsize])
        if self._uniform_levels is not None:
            return int(np.maximum.reduce(u, axis=None)) < self._uniform_levels  # u.max() without its wrapper
        limit = self._nvec_unsigned.get(u.dtype)
        if limit is None:  # nvec in the unsigned type (capped at its largest value: levels never reach it)
            limit = np.array([min(int(v), np.iinfo(u.dtype).max) for v in self.layout.nvec], dtype=u.dtype)
            self._nvec_unsigned[u.dtype] = limit
        return not np.logical_or.reduce(np.greater_equal(u, limit), axis=None)

    def _raise_range(self, a: Any) -> None:
        arr = self.ops.to_numpy(a) if self.backend == "torch" else np.asarray(a)
        bad = np.argwhere(arr >= self.layout.nvec)[0]
        e, r, d = (int(x) for x in bad)
        raise InvalidActionError(
            f"action {arr[e, r, d]!r} of episode {e}, region {r}, dim {d} is out of range "
            f"[0, {int(self.layout.nvec[d]) - 1}] (use step_unchecked for fractions in [0, 1])"
        )

    def _controls(self, src: Any, checked: bool) -> Controls:
        """Activity controls from integer levels (checked) or fractions (unchecked)."""
        lay = self.layout
        if checked and self._kernel is not None:
            head = src[..., : lay.n_activity]
            if self.num_envs == 1:
                f = np.divide(head, float(self.levels))  # one call: cast and divide
            else:  # cast first: dividing contiguous floats beats a casting ufunc loop on large batches
                f = np.empty(head.shape)
                np.copyto(f, head)
                np.divide(f, float(self.levels), out=f)
            ctl = object.__new__(Controls)  # the frozen dataclass's __init__ sets each field the slow way
            ctl.__dict__.update(
                savings=f[..., 0],
                mitigation=f[..., 1],
                export_limit=f[..., 2],
                import_bids=f[..., lay.import_slots],
                tariffs=f[..., lay.tariff_slots],
            )
            return ctl
        if checked:
            div, levels = self.ops.divide, float(self.levels)
            head = div(src[..., :3], levels)
            return Controls(
                savings=head[..., 0],
                mitigation=head[..., 1],
                export_limit=head[..., 2],
                import_bids=div(src[..., lay.import_slots], levels, scratch="bids_in"),  # a temporary
                tariffs=div(src[..., lay.tariff_slots], levels),  # kept in the state: a new array
            )
        return Controls(
            savings=src[..., 0],
            mitigation=src[..., 1],
            export_limit=src[..., 2],
            import_bids=src[..., lay.import_slots],
            tariffs=src[..., lay.tariff_slots],
        )

    def _step(self, src: Any, checked: bool) -> tuple[Any, Any, Any, bool, dict[str, Any]]:
        t = self._timestep
        if t >= self.episode_length:
            raise RuntimeError("the episodes are over: call reset() before stepping again")
        t += 1
        self._timestep = t
        stage = t % self.n_stages
        self._stage = stage
        if stage == 0:
            ctl = self._controls(src, checked)
            if checked and self.mask_violation != "ignore" and self._floor_levels is not None:
                ctl = self._apply_floor(ctl, src)
            if self._hooks["adjust_controls"]:
                ctl = self.protocol.adjust_controls(self.ops, ctl, self.pstate, self.state)
            kernel = self._kernel
            if kernel is not None and kernel.can_step(self.state):
                state = self.state = kernel.step(self.state, ctl)
                reward = state.reward
                self.episode_reward = self.episode_reward + reward
                # ndarray.sum is add.reduce behind a Python wrapper: the same sums
                self.episode_gross_output = self.episode_gross_output + np.add.reduce(state.gross_output, -1)
            else:
                self.state = activity_step(self.consts, self.mode, self.state, ctl)
                reward = self.state.reward
                self.episode_reward = self.episode_reward + reward
                self.episode_gross_output = self.episode_gross_output + self.state.gross_output.sum(-1)
        else:
            extra = src[..., self.layout.n_activity :]
            if checked:
                div = self._extra_divisor()
                extra = np.divide(extra, div) if self._kernel is not None else self.ops.divide(extra, div)
            self.pstate = self.protocol.negotiate(self.ops, stage, extra, self.pstate, self.state)
            reward = self.ops.zeros((self.num_envs, self.n_agents))
        if self._hooks["mitigation_floor"]:
            self._update_mask()
        if self.record:
            self.history.append(self.state)
        at = self.state.t
        info = {
            "stage": stage,
            "activity_step": at,
            "year": self._years[at] if at < len(self._years) else self.year,
        }
        obs = self.observations() if self.observe_on_step else None
        return obs, self._mask, reward, t >= self.episode_length, info

    def _apply_floor(self, ctl: Controls, levels: Any) -> Controls:
        below = levels[..., 1] < self._floor_levels
        if bool(below.any()):
            if self.mask_violation == "raise":
                idx = np.argwhere(self.ops.to_numpy(below))[0]
                raise InvalidActionError(
                    f"mitigation level of episode {int(idx[0])}, region {int(idx[1])} is below the agreed "
                    f"floor (masked action); mask_violation='raise'"
                )
            floor = self._floor_levels * self._scale
            return ctl.replace(mitigation=self.ops.maximum(ctl.mitigation, self.ops.asarray(floor)))
        return ctl

    @property
    def year(self) -> int:
        """Calendar year of the current state (2015 at reset)."""
        return int(self.params.start_year + self.params.delta * self.state.t)

    # ------------------------------------------------------------------ masks and observations
    def _update_mask(self) -> None:
        """Recompute the action mask when the mitigation floor changes (cached otherwise)."""
        floor = self.protocol.mitigation_floor(self.ops, self.pstate, self.state)
        if floor is not None and floor is self._floor_source and self._mask is not None:
            return  # the same (never mutated) floor array as last time: the mask is unchanged
        self._floor_source = floor
        b, n = self.num_envs, self.n_agents
        if floor is None:
            if self._mask is None:
                self._mask = self.ops.ones_mask((b, n, self.mask_dim))
            self._floor_levels = None
            return
        k = self.ops.round(floor * self.levels)
        if (
            self._mask is not None
            and self._floor_levels is not None
            and bool((k == self._floor_levels).all())
        ):
            return
        mask = self.ops.ones_mask((b, n, self.mask_dim))
        sl = self.layout.mitigation_mask_slice
        allowed = self.ops.arange(self.levels)[None, None, :] >= k[..., None]
        mask[..., sl] = allowed.astype(np.int8) if self.backend == "numpy" else allowed.to(mask.dtype)
        self._mask = mask
        self._floor_levels = k

    def action_mask(self) -> Any:
        """The current action mask ``(B, N, mask_dim)`` (int8, 1 = allowed); do not modify it."""
        return self._mask

    def observation_parts(self) -> dict[str, Any]:
        """The observation without repetition: ``shared`` ``(B, S)`` (global and public features, the
        same for every region) and ``private`` ``(B, N, P)``, float64 (the backend's dtype).

        Region i's full observation is ``[one_hot(i), shared, private[:, i]]``
        (F = N + S + P); building only the parts is about N times cheaper for large batches.
        """
        ops, s = self.ops, self.state
        b, n = self.num_envs, self.n_agents
        extra = self.protocol.observe(ops, self._stage, self.pstate, s)
        glob = [
            s.T / 10.0,
            s.M / 1e4,
            s.F_EX[:, None],
            s.E_land[:, None],
            ops.zeros((b, 1)) + self._timestep / 100.0,
        ]
        if extra is not None:
            glob.append(extra[0])
        public = [
            s.K / 1e4,
            s.capital_depreciation,
            s.L / 1e4,
            s.gross_output / 1e3,
            s.investment / 1e3,
            s.consumption / 1e3,
            s.savings,
            s.mitigation,
            s.export_limit,
            s.D / 1e3,
            s.tariffs.reshape(b, n * n) / 100.0,
        ]
        private = [
            s.A / 100.0,
            s.sigma * 10.0,
            s.mitigation_cost,
            s.damages,
            s.abatement_cost,
            s.production / 1e3,
            s.utility,
            s.social_welfare,
            s.reward if (self._stage == 0 or self.observe_last_reward) else ops.zeros((b, n)),
        ]
        priv = ops.concat([x[..., None] for x in private] + ([extra[1]] if extra is not None else []), -1)
        return {"shared": ops.concat(glob + public, -1), "private": priv}

    def observations(self) -> Any:
        """Observation features ``(B, N, F)`` in upstream's layout (see the README)."""
        kernel = self._kernel
        if kernel is not None and self.state is kernel.state:
            out = np.empty((self.num_envs, self.n_agents, self.layout.obs_dim), dtype=self.obs_dtype)
            extra = (
                self.protocol.observe(self.ops, self._stage, self.pstate, self.state)
                if self._hooks["observe"]
                else None
            )
            zero_reward = not (self._stage == 0 or self.observe_last_reward)
            return kernel.observations(self._timestep, zero_reward, extra, out)
        parts = self.observation_parts()
        shared, priv = parts["shared"], parts["private"]
        b, n = self.num_envs, self.n_agents
        out = self.ops.empty((b, n, self.layout.obs_dim), dtype=self.obs_dtype)
        out[..., :n] = self._eye
        g = n + shared.shape[-1]
        out[..., n:g] = shared[:, None, :]
        out[..., g:] = priv
        return out

    # ------------------------------------------------------------------ metrics
    def episode_metrics(self) -> dict[str, np.ndarray]:
        """Per-episode headline metrics so far, each ``(B,)`` numpy: temperature_rise, gross_output,
        climate_index, economic_index, episode_reward (summed over regions), carbon_mass (final M_AT)."""
        ops = self.ops
        tr = ops.to_numpy(self.state.T[..., 0] - self._T_AT_0)
        go = ops.to_numpy(self.episode_gross_output)
        return {
            "temperature_rise": tr,
            "gross_output": go,
            "climate_index": climate_index(tr),
            "economic_index": economic_index(go),
            "episode_reward": ops.to_numpy(self.episode_reward.sum(-1)),
            "carbon_mass": ops.to_numpy(self.state.M[..., 0]),
        }

    def state_numpy(self) -> dict[str, Any]:
        """The current state as a dict of numpy arrays (and ``t``)."""
        return {
            f.name: (
                getattr(self.state, f.name)
                if f.name == "t"
                else self.ops.to_numpy(getattr(self.state, f.name))
            )
            for f in fields(RiceState)
        }
