"""The RLlib adapter (skipped without ray): the env steps, and the config carries upstream's values."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("ray.rllib")

from rice_n.train.rllib import register_rllib_env, rllib_env_creator, upstream_rllib_config


def test_rllib_env_steps_and_config() -> None:
    env = rllib_env_creator({"protocol": "none"})
    obs, _ = env.reset(seed=0)
    assert len(obs) == 27
    actions = {
        a: env.action_space[a].sample() if isinstance(env.action_space, dict) else env.action_space.sample()
        for a in obs
    }
    obs, rew, term, _, _ = env.step(actions)
    assert len(rew) == 27 and not term["__all__"]
    cfg = upstream_rllib_config()
    assert cfg["gamma"] == 0.92 and cfg["train_batch_size"] == 2000
    assert cfg["multiagent"]["policy_mapping_fn"]("region_3") == "regions"
    assert register_rllib_env() == "rice-n"
