"""Action and observation layouts of RICE-N (upstream's: 57 activity slots, 1043 features for 27 regions)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rice_n.dynamics import Mode
from rice_n.protocols import Protocol

#: Number of global features before the protocol's: T (2), M (3), F_EX, E_land, timestep.
N_GLOBAL = 8
#: Per-region public quantities (each N features): K, capital depreciation, L, Q, I, C, s, mu, x_max, D.
N_PUBLIC_PER_REGION = 10
#: Private scalar features: A, sigma, theta_1, Omega, Lambda, Y, U, social welfare, reward.
N_PRIVATE = 9


@dataclass(frozen=True)
class Layout:
    """Slot layout of actions, masks and observation features for N regions and a protocol.

    Action dims: ``[savings, mitigation, export_limit, <N trade slots>, <N trade slots>, <protocol dims>]``.
    In upstream mode slots ``3..3+N-1`` are read as tariffs and ``3+N..3+2N-1`` as import bids (upstream's
    swap); in paper mode the other way round. ``tariff_slots`` / ``import_slots`` give the slices in use.
    """

    n_regions: int
    levels: int
    nvec: np.ndarray
    n_activity: int
    tariff_slots: slice
    import_slots: slice
    obs_dim: int
    mask_dim: int
    mask_offsets: np.ndarray
    global_dim: int
    private_dim: int

    @property
    def n_actions(self) -> int:
        """Number of action dims (57 for 27 regions without negotiation, 138 with bilateral)."""
        return int(self.nvec.size)

    @property
    def mitigation_mask_slice(self) -> slice:
        """Slice of the flat action mask holding the mitigation levels."""
        start = int(self.mask_offsets[1])
        return slice(start, start + self.levels)


def make_layout(n_regions: int, levels: int, protocol: Protocol, mode: Mode) -> Layout:
    """The layout for ``n_regions`` regions, ``levels`` discrete levels per action and a protocol."""
    if levels < 2:
        raise ValueError(f"num_discrete_action_levels must be >= 2, got {levels!r}")
    n = n_regions
    n_activity = 3 + 2 * n
    nvec = np.array([levels] * n_activity + list(protocol.extra_nvec(n, levels)), dtype=np.int64)
    first, second = slice(3, 3 + n), slice(3 + n, 3 + 2 * n)
    tariff_slots, import_slots = (first, second) if mode.swap_trade_slots else (second, first)
    mask_offsets = np.concatenate([[0], np.cumsum(nvec)[:-1]])
    global_dim = N_GLOBAL + protocol.global_obs_dim()
    private_dim = N_PRIVATE + protocol.private_obs_dim(n)
    obs_dim = n + global_dim + N_PUBLIC_PER_REGION * n + n * n + private_dim
    return Layout(
        n_regions=n,
        levels=levels,
        nvec=nvec,
        n_activity=n_activity,
        tariff_slots=tariff_slots,
        import_slots=import_slots,
        obs_dim=obs_dim,
        mask_dim=int(nvec.sum()),
        mask_offsets=mask_offsets,
        global_dim=global_dim,
        private_dim=private_dim,
    )
