"""Quadratic surrogates M(c) = g(e + b.c + c^T Q c) of a task metric, fitted by least squares through a link g."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares

LINKS = ("identity", "sigmoid", "softplus", "log")
FITS = ("linear", "nonlinear", "auto")
_EPS = 1e-6


def quadratic_features(c: np.ndarray) -> np.ndarray:
    """[1, c_1..c_T, c_i c_j for i <= j] for each row of c (N, T): (N, (T+1)(T+2)/2)."""
    c = np.atleast_2d(np.asarray(c, dtype=np.float64))
    i, j = np.triu_indices(c.shape[1])
    return np.concatenate([np.ones((c.shape[0], 1)), c, c[:, i] * c[:, j]], axis=1)


def n_coefficients(n_tasks: int) -> int:
    """Number of coefficients of a full quadratic in T variables: (T+1)(T+2)/2."""
    return (n_tasks + 1) * (n_tasks + 2) // 2


def link_forward(name: str, z: np.ndarray) -> np.ndarray:
    """g(z): the metric predicted from the quadratic's value."""
    if name == "identity":
        return z
    if name == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * z))
    if name == "softplus":
        return np.logaddexp(0.0, z)
    if name == "log":
        return np.exp(np.clip(z, -700, 700))
    raise ValueError(f"unknown link {name!r}; choose one of {LINKS}")


def link_derivative(name: str, z: np.ndarray) -> np.ndarray:
    """g'(z)."""
    if name == "identity":
        return np.ones_like(z)
    if name == "sigmoid":
        s = link_forward("sigmoid", z)
        return s * (1.0 - s)
    if name == "softplus":
        return link_forward("sigmoid", z)
    if name == "log":
        return link_forward("log", z)
    raise ValueError(f"unknown link {name!r}; choose one of {LINKS}")


def link_inverse(name: str, y: np.ndarray) -> np.ndarray:
    """g^-1(y), with y clipped into the link's range (for the linear fit on the transformed metric)."""
    if name == "identity":
        return y
    if name == "sigmoid":
        y = np.clip(y, _EPS, 1.0 - _EPS)
        return np.log(y) - np.log1p(-y)
    if name == "softplus":
        y = np.maximum(y, _EPS)
        return y + np.log(-np.expm1(-y))
    if name == "log":
        return np.log(np.maximum(y, _EPS))
    raise ValueError(f"unknown link {name!r}; choose one of {LINKS}")


def _fit_weights(features: np.ndarray, y: np.ndarray, link: str, how: str) -> np.ndarray:
    weights = np.linalg.lstsq(features, link_inverse(link, y), rcond=None)[0]
    if how == "linear" or link == "identity":
        return weights

    def residuals(w: np.ndarray) -> np.ndarray:
        return link_forward(link, features @ w) - y

    def jacobian(w: np.ndarray) -> np.ndarray:
        return link_derivative(link, features @ w)[:, None] * features

    method = "lm" if len(y) >= len(weights) else "trf"
    return least_squares(residuals, weights, jac=jacobian, method=method).x


@dataclass
class FitReport:
    """Fit quality of one surrogate: in-sample R^2, leave-one-out RMSE, and the fit that was kept."""

    r2: float
    loo_rmse: float
    fit: str
    link: str
    candidates: dict[str, float] = field(default_factory=dict)


@dataclass
class QuadraticSurrogate:
    """A fitted surrogate of one task metric over the coefficient vector c."""

    weights: np.ndarray
    link: str
    n_tasks: int
    report: FitReport

    def value(self, c: np.ndarray) -> np.ndarray:
        """Predicted metric at each row of c (N, T) -> (N,)."""
        return link_forward(self.link, quadratic_features(c) @ self.weights)

    def gradient(self, c: np.ndarray) -> np.ndarray:
        """Gradient of the predicted metric with respect to c, (N, T)."""
        c = np.atleast_2d(np.asarray(c, dtype=np.float64))
        t = self.n_tasks
        linear = self.weights[1 : t + 1]
        q = np.zeros((t, t))
        q[np.triu_indices(t)] = self.weights[t + 1 :]
        dz = linear[None, :] + c @ (q + q.T)
        z = quadratic_features(c) @ self.weights
        return link_derivative(self.link, z)[:, None] * dz

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (weights, link, number of tasks, fit report)."""
        return {"weights": self.weights.tolist(), "link": self.link, "n_tasks": self.n_tasks} | {
            "report": vars(self.report)
        }

    @classmethod
    def from_dict(cls, data: dict) -> QuadraticSurrogate:
        """Rebuild a surrogate written by ``to_dict``; raises ValueError on a malformed entry."""
        try:
            weights = np.asarray(data["weights"], dtype=np.float64)
            n_tasks, link = int(data["n_tasks"]), str(data["link"])
            report = FitReport(**data["report"])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"malformed surrogate entry: {error}") from error
        if (
            link not in LINKS
            or weights.shape != (n_coefficients(n_tasks),)
            or not np.all(np.isfinite(weights))
        ):
            raise ValueError(
                f"malformed surrogate entry (link {link!r}, {weights.size} weights, {n_tasks} tasks)"
            )
        return cls(weights, link, n_tasks, report)


def _r2(y: np.ndarray, predicted: np.ndarray) -> float:
    total = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - predicted) ** 2)) / total if total > 0 else 1.0


def _loo_rmse(features: np.ndarray, y: np.ndarray, link: str, how: str) -> float:
    n = len(y)
    if n <= features.shape[1]:
        return float("nan")
    errors = np.empty(n)
    for k in range(n):
        keep = np.arange(n) != k
        w = _fit_weights(features[keep], y[keep], link, how)
        errors[k] = link_forward(link, features[k] @ w) - y[k]
    return float(np.sqrt(np.mean(errors**2)))


def fit_surrogate(
    c: np.ndarray, y: np.ndarray, link: str = "identity", fit: str = "auto"
) -> QuadraticSurrogate:
    """Fit one quadratic surrogate to metric values y (N,) at coefficient vectors c (N, T).

    ``fit="linear"`` solves least squares on g^-1(y); ``"nonlinear"`` minimises the squared error of
    g(quadratic) as upstream (Levenberg-Marquardt, started from the linear solution); ``"auto"`` fits
    both and keeps the one with the lower leave-one-out error.
    """
    c = np.atleast_2d(np.asarray(c, dtype=np.float64))
    y = np.asarray(y, dtype=np.float64)
    if link not in LINKS:
        raise ValueError(f"unknown link {link!r}; choose one of {LINKS}")
    if fit not in FITS:
        raise ValueError(f"unknown fit {fit!r}; choose one of {FITS}")
    if c.shape[0] != y.shape[0]:
        raise ValueError(f"{c.shape[0]} coefficient vectors but {y.shape[0]} metric values")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"metric values must be finite, got {y[~np.isfinite(y)][:3]}")
    features = quadratic_features(c)
    if features.shape[0] < features.shape[1]:
        raise ValueError(
            f"a quadratic in {c.shape[1]} variables needs >= {features.shape[1]} points, got {len(y)}"
        )
    candidates = (
        ["linear", "nonlinear"]
        if fit == "auto" and link != "identity"
        else [fit if link != "identity" else "linear"]
    )
    scores = {how: _loo_rmse(features, y, link, how) for how in candidates}
    best = min(candidates, key=lambda how: (np.nan_to_num(scores[how], nan=np.inf), candidates.index(how)))
    weights = _fit_weights(features, y, link, best)
    report = FitReport(_r2(y, link_forward(link, features @ weights)), scores[best], best, link, scores)
    return QuadraticSurrogate(weights, link, c.shape[1], report)


def choose_link(y: np.ndarray, maximize: bool) -> str:
    """Default link: sigmoid for accuracies in [0, 1], softplus for positive losses, else identity."""
    if maximize and np.all((y >= 0) & (y <= 1)):
        return "sigmoid"
    if not maximize and np.all(y > 0):
        return "softplus"
    return "identity"
