"""MinAtar games as flat-vector Gymnasium environments (``MinAtarFlat/<Game>-v1``), for MLP agents.

MinAtar (Young & Tian 2019) gives 10x10xC binary images; the agents here take flat vectors, so each
game is registered once more with its observation flattened to ``10*10*C`` floats (minimal action set,
as ``MinAtar/<Game>-v1``). Needs the ``minatar`` extra: ``pip install "sparse-drl[minatar]"``.
"""

from __future__ import annotations

import logging
from typing import Any

import gymnasium as gym

__all__ = ["GAMES", "register_minatar"]

GAMES = {"breakout": "Breakout", "asterix": "Asterix", "freeway": "Freeway", "seaquest": "Seaquest"}
GAMES["space_invaders"] = "SpaceInvaders"


def _make(game: str, **kwargs: Any) -> gym.Env[Any, Any]:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # minatar.gym warns about seaborn (only its pixel rendering needs it)
    try:
        from minatar.gym import BaseEnv
    finally:
        root.setLevel(level)

    return gym.wrappers.FlattenObservation(BaseEnv(game, use_minimal_action_set=True, **kwargs))


def register_minatar() -> list[str]:
    """Register ``MinAtarFlat/<Game>-v1`` for every MinAtar game (idempotent); returns the ids.
    ``ImportError`` naming the extra when minatar is not installed."""
    try:
        import minatar  # noqa: F401
    except ImportError:
        raise ImportError('MinAtar games need minatar: pip install "sparse-drl[minatar]"') from None
    ids = []
    for game, title in GAMES.items():
        env_id = f"MinAtarFlat/{title}-v1"
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=_make, kwargs={"game": game})
        ids.append(env_id)
    return ids
