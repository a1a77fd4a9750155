"""PQN, PPO and DQN agents that accept any network and optimizer."""

from stable_grad_rl.agents.base import Agent
from stable_grad_rl.agents.dqn import DQN, DQNConfig, ReplayBuffer
from stable_grad_rl.agents.ppo import PPO, ActorCritic, PPOConfig, gae
from stable_grad_rl.agents.pqn import PQN, PQNConfig, q_lambda_returns

__all__ = [
    "DQN",
    "PPO",
    "PQN",
    "ActorCritic",
    "Agent",
    "DQNConfig",
    "PPOConfig",
    "PQNConfig",
    "ReplayBuffer",
    "gae",
    "q_lambda_returns",
]
