"""A downstream script using stable-grad-rl's quickstart, type-checked against the installed package."""

from __future__ import annotations

import torch

from stable_grad_rl import (
    PQN,
    PQNConfig,
    grad_norms,
    gradient_spread,
    make_mlp,
    make_optimizer,
    make_vec_env,
    representation_metrics,
)


def one_step() -> None:
    """The paper's intervention (multi-skip + LayerNorm, Kron) for one supervised step."""
    net = make_mlp(32, 10, kind="multiskip", depth=5, width=256, layernorm=True)
    opt = make_optimizer("kron", net.parameters(), lr=1e-3)
    x, y = torch.randn(512, 32), torch.randint(0, 10, (512,))
    loss = torch.nn.functional.cross_entropy(net(x), y)
    opt.zero_grad()
    torch.autograd.backward(loss)  # typed, unlike Tensor.backward (strict mypy)
    print(gradient_spread(grad_norms(net)))
    opt.step()
    print(representation_metrics(net, x))


def train_pqn() -> None:
    """Any network and optimizer in a PQN agent on CartPole."""
    envs = make_vec_env("CartPole-v1", num_envs=32, seed=0)
    q_net = make_mlp(4, 2, kind="multiskip", depth=3, width=128, layernorm=True)
    agent = PQN(
        envs, q_net, make_optimizer("radam", q_net.parameters(), 1e-3), PQNConfig(total_timesteps=8_192)
    )
    while agent.iteration < agent.total_iterations:
        agent.step()
    print(agent.summary())
