"""MinAtar games as flat-vector Gymnasium environments (``MinAtarFlat/<Game>-v1``), for MLP agents.

MinAtar (Young & Tian 2019) gives 10x10xC binary images; the agents here take flat vectors, so each
game is registered once more with its observation flattened to ``10*10*C`` floats (minimal action set,
as ``MinAtar/<Game>-v1``). Needs the ``minatar`` extra: ``pip install "sparse-drl[minatar]"``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import gymnasium as gym

__all__ = ["GAMES", "register_minatar"]

GAMES = {"breakout": "Breakout", "asterix": "Asterix", "freeway": "Freeway", "seaquest": "Seaquest"}
GAMES["space_invaders"] = "SpaceInvaders"


def _import_minatar() -> Any:
    """``minatar.gym`` without seaborn, which minatar imports only to draw frames (blocked while it
    loads unless already imported: importing it and pandas would cost seconds per process)."""
    root = logging.getLogger()
    level = root.level
    blocked = "seaborn" not in sys.modules
    if blocked:
        sys.modules["seaborn"] = None  # type: ignore[assignment]
    root.setLevel(logging.ERROR)  # minatar warns that it cannot draw frames without seaborn
    try:
        import minatar.gym
    finally:
        root.setLevel(level)
        if blocked:
            del sys.modules["seaborn"]
    return minatar.gym


def _make(game: str, **kwargs: Any) -> gym.Env[Any, Any]:
    base = _import_minatar().BaseEnv

    return gym.wrappers.FlattenObservation(base(game, use_minimal_action_set=True, **kwargs))


def register_minatar() -> list[str]:
    """Register ``MinAtarFlat/<Game>-v1`` for every MinAtar game (idempotent); returns the ids.
    ``ImportError`` naming the extra when minatar is not installed."""
    try:
        _import_minatar()
    except ImportError:
        raise ImportError('MinAtar games need minatar: pip install "sparse-drl[minatar]"') from None
    ids = []
    for game, title in GAMES.items():
        env_id = f"MinAtarFlat/{title}-v1"
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=_make, kwargs={"game": game})  # type: ignore[arg-type]  # gym's EnvCreator has no named game
        ids.append(env_id)
    return ids
