"""Model merging with an amortized Pareto front (MAP): quadratic surrogates, Bayesian and nested variants."""

from map_merge.amortized import METHODS, amortized_front
from map_merge.cache import CachedEvaluator
from map_merge.checkpoints import CheckpointError, load_state_dict
from map_merge.evaluators import MergeObjective, classification_evaluator
from map_merge.front import AmortizedFront
from map_merge.merge import dare, stream_dare, stream_merge, stream_ties, task_arithmetic, ties
from map_merge.pareto import (
    front_quality,
    generational_distance,
    hypervolume,
    inverted_generational_distance,
    kkt_residual,
    non_dominated,
)
from map_merge.sampling import default_budget, grid_points, initial_points, uniform_points
from map_merge.surrogate import QuadraticSurrogate, fit_surrogate
from map_merge.task_vectors import TaskVectors, task_vectors

__version__ = "0.1.0"

__all__ = [
    "METHODS",
    "AmortizedFront",
    "CachedEvaluator",
    "CheckpointError",
    "MergeObjective",
    "QuadraticSurrogate",
    "TaskVectors",
    "__version__",
    "amortized_front",
    "classification_evaluator",
    "dare",
    "default_budget",
    "fit_surrogate",
    "front_quality",
    "generational_distance",
    "grid_points",
    "hypervolume",
    "initial_points",
    "inverted_generational_distance",
    "kkt_residual",
    "load_state_dict",
    "non_dominated",
    "stream_dare",
    "stream_merge",
    "stream_ties",
    "task_arithmetic",
    "task_vectors",
    "ties",
    "uniform_points",
]
