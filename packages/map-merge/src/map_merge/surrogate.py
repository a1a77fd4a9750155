"""Quadratic surrogates M(c) = g(e + b.c + c^T Q c) of a task metric, fitted by least squares through a link g."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

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
        return cast(np.ndarray, np.logaddexp(0.0, z))
    if name == "log":
        return cast(np.ndarray, np.exp(np.clip(z, -700, 700)))
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
        return cast(np.ndarray, np.log(y) - np.log1p(-y))
    if name == "softplus":
        y = np.maximum(y, _EPS)
        return cast(np.ndarray, y + np.log(-np.expm1(-y)))
    if name == "log":
        return cast(np.ndarray, np.log(np.maximum(y, _EPS)))
    raise ValueError(f"unknown link {name!r}; choose one of {LINKS}")


def _fit_weights(
    features: np.ndarray, y: np.ndarray, link: str, how: str, sample_weights: np.ndarray | None = None
) -> np.ndarray:
    root = np.ones(len(y)) if sample_weights is None else np.sqrt(sample_weights)
    weights = np.linalg.lstsq(features * root[:, None], link_inverse(link, y) * root, rcond=None)[0]
    if how == "linear" or link == "identity":
        return cast(np.ndarray, weights)

    def residuals(w: np.ndarray) -> np.ndarray:
        return cast(np.ndarray, root * (link_forward(link, features @ w) - y))

    def jacobian(w: np.ndarray) -> np.ndarray:
        return cast(np.ndarray, (root * link_derivative(link, features @ w))[:, None] * features)

    method = "lm" if len(y) >= len(weights) else "trf"
    return cast(np.ndarray, least_squares(residuals, weights, jac=jacobian, method=method).x)


@dataclass
class FitReport:
    """Fit quality of one surrogate: in-sample R^2, leave-one-out RMSE, and the fit that was kept."""

    r2: float
    loo_rmse: float
    fit: str
    link: str
    candidates: dict[str, float] = field(default_factory=dict)
    corrected_loo_rmse: float | None = None


SCALES = (0.1, 0.2, 0.35, 0.6)  # kernel widths tried for the residual correction (x sqrt(T))
NUGGETS = (1e-3, 1e-2, 1e-1, 1.0)


@dataclass
class ResidualCorrection:
    """A Gaussian-kernel ridge model of the quadratic's residuals: sum_i a_i exp(-|c - c_i|^2 / 2 s^2)."""

    centers: np.ndarray
    coef: np.ndarray
    scale: float

    def kernel(self, c: np.ndarray) -> np.ndarray:
        """(N, n_centers) kernel values."""
        d2 = ((np.atleast_2d(c)[:, None, :] - self.centers[None, :, :]) ** 2).sum(axis=2)
        return cast(np.ndarray, np.exp(-d2 / (2.0 * self.scale**2)))

    def value(self, c: np.ndarray) -> np.ndarray:
        """Correction at each row of c, (N,)."""
        return cast(np.ndarray, self.kernel(c) @ self.coef)

    def gradient(self, c: np.ndarray) -> np.ndarray:
        """Gradient of the correction, (N, T)."""
        c = np.atleast_2d(c)
        weighted = self.kernel(c) * self.coef[None, :]
        return cast(
            np.ndarray,
            -(weighted[:, :, None] * (c[:, None, :] - self.centers[None, :, :])).sum(axis=1) / self.scale**2,
        )


def fit_correction(c: np.ndarray, residual: np.ndarray) -> tuple[ResidualCorrection | None, float]:
    """Kernel ridge fit of residuals; width and nugget chosen by closed-form leave-one-out error. Returns
    (None, rms residual) when no setting predicts the held-out residuals better than zero."""
    c = np.atleast_2d(c)
    best: tuple[ResidualCorrection | None, float] = (None, float(np.sqrt(np.mean(residual**2))))
    d2 = ((c[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)
    for scale in SCALES:
        width = scale * np.sqrt(c.shape[1])
        k = np.exp(-d2 / (2.0 * width**2))
        for nugget in NUGGETS:
            inverse = np.linalg.inv(k + nugget * np.eye(len(c)))
            coef = inverse @ residual
            loo = float(np.sqrt(np.mean((coef / np.diag(inverse)) ** 2)))
            if loo < best[1]:
                best = (ResidualCorrection(c.copy(), coef, float(width)), loo)
    return best


@dataclass
class QuadraticSurrogate:
    """A fitted surrogate of one task metric over the coefficient vector c: g(quadratic), plus an optional
    kernel correction of its residuals (``correction``) that honours the real evaluations locally."""

    weights: np.ndarray
    link: str
    n_tasks: int
    report: FitReport
    correction: ResidualCorrection | None = None

    def value(self, c: np.ndarray) -> np.ndarray:
        """Predicted metric at each row of c (N, T) -> (N,)."""
        base = link_forward(self.link, quadratic_features(c) @ self.weights)
        return base if self.correction is None else base + self.correction.value(c)

    def gradient(self, c: np.ndarray) -> np.ndarray:
        """Gradient of the predicted metric with respect to c, (N, T)."""
        c = np.atleast_2d(np.asarray(c, dtype=np.float64))
        t = self.n_tasks
        linear = self.weights[1 : t + 1]
        q = np.zeros((t, t))
        q[np.triu_indices(t)] = self.weights[t + 1 :]
        dz = linear[None, :] + c @ (q + q.T)
        z = quadratic_features(c) @ self.weights
        gradient = link_derivative(self.link, z)[:, None] * dz
        return cast(
            np.ndarray, gradient if self.correction is None else gradient + self.correction.gradient(c)
        )

    def corrected(self, c: np.ndarray, y: np.ndarray) -> QuadraticSurrogate:
        """This surrogate plus a kernel model of its residuals at (c, y), when that predicts held-out
        residuals better than none; ``report.corrected_loo_rmse`` records its leave-one-out error."""
        base = QuadraticSurrogate(self.weights, self.link, self.n_tasks, self.report)
        correction, loo = fit_correction(c, y - base.value(c))
        report = FitReport(**(vars(self.report) | {"corrected_loo_rmse": loo if correction else None}))
        return QuadraticSurrogate(self.weights, self.link, self.n_tasks, report, correction)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (weights, link, number of tasks, fit report)."""
        correction = self.correction
        return {
            "weights": self.weights.tolist(),
            "link": self.link,
            "n_tasks": self.n_tasks,
            "report": vars(self.report),
            "correction": None
            if correction is None
            else {
                "centers": correction.centers.tolist(),
                "coef": correction.coef.tolist(),
                "scale": correction.scale,
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QuadraticSurrogate:
        """Rebuild a surrogate written by ``to_dict``; raises ValueError on a malformed entry."""
        try:
            weights = np.asarray(data["weights"], dtype=np.float64)
            n_tasks, link = int(data["n_tasks"]), str(data["link"])
            report = FitReport(**data["report"])
            raw = data.get("correction")
            correction = (
                None
                if raw is None
                else ResidualCorrection(
                    np.asarray(raw["centers"], dtype=np.float64).reshape(-1, int(data["n_tasks"])),
                    np.asarray(raw["coef"], dtype=np.float64).reshape(-1),
                    float(raw["scale"]),
                )
            )
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
        if correction is not None and (
            len(correction.centers) != len(correction.coef)
            or not (np.all(np.isfinite(correction.coef)) and np.all(np.isfinite(correction.centers)))
            or not correction.scale > 0
        ):
            raise ValueError("malformed surrogate entry (residual correction)")
        return cls(weights, link, n_tasks, report, correction)


def _r2(y: np.ndarray, predicted: np.ndarray) -> float:
    total = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - predicted) ** 2)) / total if total > 0 else 1.0


def _loo_rmse(
    features: np.ndarray, y: np.ndarray, link: str, how: str, sample_weights: np.ndarray | None = None
) -> float:
    n = len(y)
    if n <= features.shape[1]:
        return float("nan")
    errors = np.empty(n)
    for k in range(n):
        keep = np.arange(n) != k
        w = _fit_weights(
            features[keep], y[keep], link, how, None if sample_weights is None else sample_weights[keep]
        )
        errors[k] = link_forward(link, features[k] @ w) - y[k]
    mean_weights = np.ones(n) if sample_weights is None else sample_weights / sample_weights.sum() * n
    return float(np.sqrt(np.mean(mean_weights * errors**2)))


def fit_surrogate(
    c: np.ndarray,
    y: np.ndarray,
    link: str = "identity",
    fit: str = "auto",
    sample_weights: np.ndarray | None = None,
) -> QuadraticSurrogate:
    """Fit one quadratic surrogate to metric values y (N,) at coefficient vectors c (N, T).

    ``fit="linear"`` solves least squares on g^-1(y); ``"nonlinear"`` minimises the squared error of
    g(quadratic) as upstream (Levenberg-Marquardt, started from the linear solution); ``"auto"`` fits
    both and keeps the one with the lower leave-one-out error. ``sample_weights`` (N,) weight the squared
    errors (a fit that trusts some samples more, e.g. those near the front).
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
    scores = {how: _loo_rmse(features, y, link, how, sample_weights) for how in candidates}
    best = min(candidates, key=lambda how: (np.nan_to_num(scores[how], nan=np.inf), candidates.index(how)))
    weights = _fit_weights(features, y, link, best, sample_weights)
    report = FitReport(_r2(y, link_forward(link, features @ weights)), scores[best], best, link, scores)
    return QuadraticSurrogate(weights, link, c.shape[1], report)


def choose_link(y: np.ndarray, maximize: bool) -> str:
    """Default link: sigmoid for accuracies in [0, 1], softplus for positive losses, else identity."""
    if maximize and np.all((y >= 0) & (y <= 1)):
        return "sigmoid"
    if not maximize and np.all(y > 0):
        return "softplus"
    return "identity"
