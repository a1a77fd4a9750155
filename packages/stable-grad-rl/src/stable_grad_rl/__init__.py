"""Gradient-flow interventions that let deep-RL networks scale in depth and width.

Castanyer et al. 2025: multi-skip residual MLPs, LayerNorm and the Kron optimizer, with PQN, PPO and
DQN agents, gradient-flow diagnostics and the non-stationary supervised experiment.
"""

__version__ = "0.1.0"

from stable_grad_rl.agents import DQN, PPO, PQN, ActorCritic, DQNConfig, PPOConfig, PQNConfig
from stable_grad_rl.diagnostics import (
    GradFlowRecorder,
    collect_activations,
    dead_fraction,
    dormant_fraction,
    effective_rank,
    grad_norms,
    gradient_spread,
    penultimate_features,
    representation_metrics,
    srank,
    weight_norms,
)
from stable_grad_rl.envs import make_vec_env
from stable_grad_rl.evidence import EvidenceConfig, run_evidence
from stable_grad_rl.networks import (
    AtariCNN,
    ImpalaCNN,
    NetworkConfig,
    build_network,
    count_params,
    make_mlp,
    mlp_param_count,
    paper_depth,
)
from stable_grad_rl.nonstationary import NonStationaryConfig, NonStationaryTrainer, make_phase_data
from stable_grad_rl.optim import make_optimizer
from stable_grad_rl.sweep import INTERVENTIONS, SweepConfig, run_sweep, run_sweep_ray
from stable_grad_rl.train import TrainConfig, make_trainer, run_training

__all__ = [
    "DQN",
    "INTERVENTIONS",
    "PPO",
    "PQN",
    "ActorCritic",
    "AtariCNN",
    "DQNConfig",
    "EvidenceConfig",
    "GradFlowRecorder",
    "ImpalaCNN",
    "NetworkConfig",
    "NonStationaryConfig",
    "NonStationaryTrainer",
    "PPOConfig",
    "PQNConfig",
    "SweepConfig",
    "TrainConfig",
    "__version__",
    "build_network",
    "collect_activations",
    "count_params",
    "dead_fraction",
    "dormant_fraction",
    "effective_rank",
    "grad_norms",
    "gradient_spread",
    "make_mlp",
    "make_optimizer",
    "make_phase_data",
    "make_trainer",
    "make_vec_env",
    "mlp_param_count",
    "paper_depth",
    "penultimate_features",
    "representation_metrics",
    "run_evidence",
    "run_sweep",
    "run_sweep_ray",
    "run_training",
    "srank",
    "weight_norms",
]
