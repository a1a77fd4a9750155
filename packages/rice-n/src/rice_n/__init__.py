"""The RICE-N multi-region climate-economy simulator, negotiation protocols and multi-agent RL."""

__version__ = "0.1.0"

from rice_n.batch import BatchRiceEnv, InvalidActionError
from rice_n.compare import compare
from rice_n.dynamics import Controls, Mode, RiceState, activity_step, initial_state
from rice_n.env import RiceParallelEnv, parallel_env
from rice_n.evaluate import EvalResult, evaluate_actor, evaluate_policy, write_evaluation
from rice_n.gym_env import RiceSingleAgentEnv
from rice_n.metrics import climate_index, economic_index, hypervolume, pareto_front
from rice_n.params import ParamsError, RiceParams, default_params, load_params
from rice_n.protocols import (
    PROTOCOLS,
    Bilateral,
    ClimateClub,
    NoNegotiation,
    Protocol,
    ProtocolError,
    protocol_spec,
    register_protocol,
    resolve_protocol,
)

__all__ = [
    "PROTOCOLS",
    "BatchRiceEnv",
    "Bilateral",
    "ClimateClub",
    "Controls",
    "EvalResult",
    "InvalidActionError",
    "Mode",
    "NoNegotiation",
    "ParamsError",
    "Protocol",
    "ProtocolError",
    "RiceParallelEnv",
    "RiceParams",
    "RiceSingleAgentEnv",
    "RiceState",
    "__version__",
    "activity_step",
    "climate_index",
    "compare",
    "default_params",
    "economic_index",
    "evaluate_actor",
    "evaluate_policy",
    "hypervolume",
    "initial_state",
    "load_params",
    "parallel_env",
    "pareto_front",
    "protocol_spec",
    "register_protocol",
    "resolve_protocol",
    "write_evaluation",
]
