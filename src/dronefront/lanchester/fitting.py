"""Fit Lanchester laws to daily strength data; bootstrap intervals; choose a law by AIC/BIC.

Data: a CSV with columns ``day, a, b`` and optionally ``reinforce_a, reinforce_b``. Row ``i``
gives the strengths on ``day[i]`` *after* that day's reinforcements arrived; reinforcements on
the first row are taken to be part of the initial strengths.

The model is fitted to the **daily losses** conditional on the observed strengths: over the
interval ``(day[i-1], day[i])`` side A loses ``k_A = a[i-1] + reinforce_a[i] - a[i]``, and the
law, started from the observed ``(a[i-1], b[i-1])``, predicts the loss ``mu_A`` (closed form, or
vectorised RK4 for the generalized law). Two estimators:

* ``method="mle"`` (default): maximum likelihood with **Poisson** losses,
  ``k ~ Poisson(mu)``, independent given the observed strengths; the fit minimises the squared
  Poisson deviance residuals. Intervals come from a seeded **parametric bootstrap** (losses
  redrawn from ``Poisson(mu_hat)`` and refitted).
* ``method="ls"``: ordinary least squares on the losses, ``sum (k - mu)^2``, with a Gaussian
  likelihood (one common variance) for AIC/BIC; intervals from a seeded **residual bootstrap**
  (residuals resampled within each side).

Fit quality is reported on the strengths: the law is re-solved from the first row with the
fitted coefficients and the observed reinforcements, and compared with every row (R², RMSE).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import least_squares
from scipy.special import gammaln, xlogy

from dronefront import limits
from dronefront.arguments import check_int, check_seed
from dronefront.errors import UserError
from dronefront.lanchester.laws import (
    CLOSED_FORM_LAWS,
    LAWS,
    OVERFLOW,
    Reinforcement,
    Solution,
    check_law,
    closed_form,
    kernels,
    overflow_guard,
    solve,
)

COLUMNS = ("day", "a", "b", "reinforce_a", "reinforce_b")
REQUIRED = ("day", "a", "b")
Method = Literal["mle", "ls"]


# ------------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class StrengthData:
    """Daily strengths of both sides, with reinforcements (see the module docstring).

    Attributes:
        day, a, b: days (strictly increasing) and strengths.
        reinforce_a, reinforce_b: arrivals on each day (zeros if the column is absent).
        lines: the CSV line of each row (for error messages), or None.
        source: the file it came from, or None.
    """

    day: NDArray[np.float64]
    a: NDArray[np.float64]
    b: NDArray[np.float64]
    reinforce_a: NDArray[np.float64]
    reinforce_b: NDArray[np.float64]
    lines: NDArray[np.int64] | None = None
    source: str | None = None

    def __len__(self) -> int:
        return len(self.day)

    @property
    def losses(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Observed losses over each interval ``(day[i-1], day[i]]``, length ``n - 1``."""
        return (self.a[:-1] + self.reinforce_a[1:] - self.a[1:],
                self.b[:-1] + self.reinforce_b[1:] - self.b[1:])

    def reinforcements(self) -> list[Reinforcement]:
        """Arrivals after the first row, timed from the first day."""
        out = []
        for side, col in (("A", self.reinforce_a), ("B", self.reinforce_b)):
            for d, n in zip(self.day[1:] - self.day[0], col[1:], strict=True):
                if n > 0:
                    out.append(Reinforcement(side, float(d), float(n)))  # type: ignore[arg-type]
        return out

    def where(self, row: int) -> dict[str, object]:
        """File and line keywords for a :class:`UserError` about ``row``."""
        line = int(self.lines[row]) if self.lines is not None else None
        return {"file": self.source, "line": line}


def read_strength_csv(path: str | Path) -> StrengthData:
    """Read ``day, a, b[, reinforce_a, reinforce_b]`` from a CSV file.

    Blank lines and lines starting with ``#`` are skipped; an empty reinforcement cell is 0.
    Every problem raises :class:`UserError` naming the file, line and column.

    Args:
        path: the CSV file.

    Returns:
        The :class:`StrengthData`.
    """
    name = str(path)
    p = Path(path)
    if not p.exists():
        raise UserError("file not found", file=name)
    if not p.is_file():
        raise UserError("not a regular file", file=name)
    limits.check_file_size(p, name, "input_bytes")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UserError("not a CSV of day,a,b: binary file (not UTF-8 text)", file=name) \
            from None
    except OSError as exc:
        raise UserError(f"cannot read the file: {exc.strerror or exc.__class__.__name__}",
                        file=name) from None
    if "\0" in text:
        raise UserError("not a CSV of day,a,b: binary file", file=name)
    rows = [(i + 1, r) for i, r in enumerate(csv.reader(text.splitlines()))
            if r and any(c.strip() for c in r) and not r[0].lstrip().startswith("#")]
    if not rows:
        raise UserError("empty file; expected a header row: day,a,b[,reinforce_a,reinforce_b]",
                        file=name, line=1)
    header_line, header = rows[0]
    cols = [c.strip().lower() for c in header]
    for k, c in enumerate(cols):
        if c not in COLUMNS:  # the header is not quoted: the file may not be a CSV at all
            raise UserError(f"unknown column: header column {k + 1} is not one of "
                            f"{', '.join(COLUMNS)}",
                            file=name, line=header_line)
        if cols.count(c) > 1:
            raise UserError("duplicate column", file=name, line=header_line, field=c)
    for c in REQUIRED:
        if c not in cols:
            raise UserError(f"missing column (expected {', '.join(COLUMNS)})",
                            file=name, line=header_line, field=c)
    if len(rows) < 3:
        raise UserError(f"need at least 2 data rows, found {len(rows) - 1}",
                        file=name, line=rows[-1][0])
    values = {c: np.zeros(len(rows) - 1) for c in COLUMNS}
    for j, (line, row) in enumerate(rows[1:]):
        if len(row) != len(cols):
            raise UserError(f"expected {len(cols)} fields, found {len(row)}",
                            file=name, line=line)
        for c, cell in zip(cols, row, strict=True):
            cell = cell.strip()
            if cell == "" and c.startswith("reinforce"):
                continue
            if cell == "":
                raise UserError("missing value", file=name, line=line, field=c)
            try:
                v = float(cell)
            except ValueError:
                raise UserError("not a number", file=name, line=line, field=c) from None
            if not math.isfinite(v):
                raise UserError("not a finite number", file=name, line=line, field=c)
            if c != "day" and v < 0:
                raise UserError(f"must be >= 0, got {v:g}", file=name, line=line, field=c)
            values[c][j] = v
        if j and values["day"][j] <= values["day"][j - 1]:
            raise UserError(f"days must increase: {values['day'][j]:g} follows "
                            f"{values['day'][j - 1]:g}", file=name, line=line, field="day")
    lines = np.array([line for line, _ in rows[1:]], dtype=np.int64)
    return StrengthData(values["day"], values["a"], values["b"], values["reinforce_a"],
                        values["reinforce_b"], lines, name)


def write_strength_csv(data: StrengthData, path: str | Path) -> None:
    """Write ``data`` as a CSV that :func:`read_strength_csv` reads back (atomically)."""
    from dronefront.io.outputs import atomic_file

    with atomic_file(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for row in zip(data.day, data.a, data.b, data.reinforce_a, data.reinforce_b,
                       strict=True):
            w.writerow([f"{v:.10g}" for v in row])


# --------------------------------------------------------------------------- one-step model


def one_step(law: str, a: NDArray[np.float64], b: NDArray[np.float64], dt: NDArray[np.float64],
             alpha: float, beta: float, p: float = 0.0, q: float = 1.0, substeps: int = 8
             ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Strengths after ``dt`` days from ``(a, b)``, vectorised over intervals.

    Exact closed forms for square, linear, logarithmic and mixed; classical RK4 with
    ``substeps`` steps per interval (clamped at zero) for the generalized law.
    """
    if law in CLOSED_FORM_LAWS:
        return closed_form(law, a, b, alpha, beta, dt)
    h = np.asarray(dt, dtype=float) / substeps
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)

    def f(u, v):
        ga, gb = kernels(law, u, v, p, q)
        return -beta * ga, -alpha * gb

    for _ in range(substeps):
        k1 = f(x, y)
        k2 = f(x + 0.5 * h * k1[0], y + 0.5 * h * k1[1])
        k3 = f(x + 0.5 * h * k2[0], y + 0.5 * h * k2[1])
        k4 = f(x + h * k3[0], y + h * k3[1])
        x = np.maximum(x + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0]), 0.0)
        y = np.maximum(y + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1]), 0.0)
    return x, y


def synthetic_data(law: str, a0: float, b0: float, alpha: float, beta: float, *, days: int,
                   p: float = 0.0, q: float = 1.0, reinforcements: Iterable[Reinforcement] = (),
                   seed: int | None = 0) -> StrengthData:
    """Daily strengths with Poisson noise: each day's losses are ``Poisson(mu)``, where ``mu``
    is the law's loss over that day from the current (noisy) strengths; reinforcements arrive
    at whole days (day 0 arrivals are part of the initial strengths).

    >>> d = synthetic_data("square", 1000, 800, alpha=0.02, beta=0.01, days=10, seed=1)
    >>> len(d), bool(d.a[-1] < 1000 and d.b[-1] < 800)
    (11, True)
    """
    law = check_law(law)
    rng = np.random.default_rng(seed)
    n = int(days) + 1
    ra, rb = np.zeros(n), np.zeros(n)
    for r in reinforcements:
        d = int(round(r.day))
        if d < n:
            (ra if r.side == "A" else rb)[d] += round(r.count)
    a, b = np.zeros(n), np.zeros(n)
    a[0], b[0] = round(a0) + ra[0], round(b0) + rb[0]
    for i in range(1, n):  # sequential by nature: each day starts from the last noisy state
        ea, eb = one_step(law, a[i - 1:i], b[i - 1:i], np.ones(1), alpha, beta, p, q)
        mu = np.array([a[i - 1] - ea[0], b[i - 1] - eb[0]])
        k = np.minimum(rng.poisson(np.maximum(mu, 0.0)), [a[i - 1], b[i - 1]])
        a[i], b[i] = a[i - 1] - k[0] + ra[i], b[i - 1] - k[1] + rb[i]
    return StrengthData(np.arange(n, dtype=float), a, b, ra, rb, None, None)


# ---------------------------------------------------------------------------------- fitting


def param_names(law: str) -> tuple[str, ...]:
    """Names of the fitted parameters: alpha, beta (and p, q for the generalized law)."""
    return ("alpha", "beta", "p", "q") if law == "generalized" else ("alpha", "beta")


@dataclass(frozen=True)
class FitResult:
    """A fitted law.

    Attributes:
        law, method: the law and the estimator ("mle": Poisson, "ls": least squares).
        params: point estimates by name (alpha, beta and for the generalized law p, q).
        ci: bootstrap percentile intervals by name (nan if ``n_boot`` was 0).
        level: the intervals' coverage, e.g. 0.95.
        boot: bootstrap estimates, shape ``(n_boot, len(params))``.
        loglik, n_obs, n_params, aic, bic: likelihood and information criteria (n_obs counts
            the daily losses of both sides; n_params includes the variance for "ls").
        r2, rmse: fit of the re-solved trajectory to the observed strengths.
        r2_losses, rmse_losses: fit of the one-day predicted losses to the observed losses.
        fitted: the re-solved trajectory on the data's days.
    """

    law: str
    method: str
    params: dict[str, float]
    ci: dict[str, tuple[float, float]]
    level: float
    boot: NDArray[np.float64]
    loglik: float
    n_obs: int
    n_params: int
    aic: float
    bic: float
    r2: float
    rmse: float
    r2_losses: float
    rmse_losses: float
    fitted: Solution
    data: StrengthData = field(repr=False)


@dataclass
class _Problem:
    law: str
    a: NDArray[np.float64]
    b: NDArray[np.float64]
    dt: NDArray[np.float64]
    ka: NDArray[np.float64]
    kb: NDArray[np.float64]

    def mu(self, theta: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        alpha, beta = math.exp(theta[0]), math.exp(theta[1])
        p, q = (theta[2], theta[3]) if len(theta) > 2 else (0.0, 1.0)
        ea, eb = one_step(self.law, self.a, self.b, self.dt, alpha, beta, p, q)
        return self.a - ea, self.b - eb


def _residuals(theta, prob: _Problem, ka, kb, method: str) -> NDArray[np.float64]:
    mua, mub = prob.mu(theta)
    k = np.concatenate([ka, kb])
    mu = np.maximum(np.concatenate([mua, mub]), 1e-300)
    if method == "ls":
        return k - mu
    dev = 2.0 * (xlogy(k, k) - xlogy(k, mu) - (k - mu))
    return np.sign(k - mu) * np.sqrt(np.maximum(dev, 0.0))


def _loglik(prob: _Problem, theta, method: str) -> float:
    mua, mub = prob.mu(theta)
    k = np.concatenate([prob.ka, prob.kb])
    mu = np.maximum(np.concatenate([mua, mub]), 1e-300)
    if method == "ls":
        n = k.size
        s2 = max(float(np.sum((k - mu) ** 2)) / n, 1e-300)
        return -0.5 * n * (math.log(2 * math.pi * s2) + 1.0)
    return float(np.sum(xlogy(k, mu) - mu - gammaln(k + 1.0)))


def _start(prob: _Problem, ka, kb, p: float, q: float) -> NDArray[np.float64]:
    """Euler moment estimate: alpha = sum(k_B) / sum(g_B * dt), likewise beta."""
    ga, gb = kernels(prob.law, prob.a, prob.b, p, q)
    alpha = max(float(np.sum(kb)), 0.5) / max(float(np.sum(gb * prob.dt)), 1e-300)
    beta = max(float(np.sum(ka)), 0.5) / max(float(np.sum(ga * prob.dt)), 1e-300)
    theta = [math.log(alpha), math.log(beta)]
    return np.array(theta + ([p, q] if prob.law == "generalized" else []))


_EXP_BOUNDS = (0.0, 3.0)


def _optimize(prob: _Problem, ka, kb, method: str, x0=None) -> NDArray[np.float64]:
    gen = prob.law == "generalized"
    lo = [-np.inf, -np.inf] + [_EXP_BOUNDS[0]] * 2 * gen
    hi = [np.inf, np.inf] + [_EXP_BOUNDS[1]] * 2 * gen
    if x0 is None:
        starts = [(0.0, 1.0), (1.0, 1.0), (1.0, 0.0), (0.5, 0.5)] if gen else [(0.0, 1.0)]
        cands = [_start(prob, ka, kb, p, q) for p, q in starts]
        x0 = min(cands, key=lambda th: float(np.sum(_residuals(th, prob, ka, kb, method)**2)))
    res = least_squares(_residuals, x0, args=(prob, ka, kb, method), bounds=(lo, hi),
                        method="trf", x_scale=1.0, xtol=1e-10, ftol=1e-10, gtol=1e-10)
    return res.x


def _problem(data: StrengthData, law: str, method: str) -> _Problem:
    ka, kb = data.losses
    a, b, dt = data.a[:-1], data.b[:-1], np.diff(data.day)
    if method == "mle":
        for side, k in (("a", ka), ("b", kb)):
            bad = np.flatnonzero(k < -1e-9)
            if bad.size:
                i = int(bad[0]) + 1
                raise UserError(
                    f"strength rises by {-k[i - 1]:g} without a matching reinforcement "
                    f"(add reinforce_{side} or use the least-squares method)",
                    field=side, **data.where(i))  # type: ignore[arg-type]
    ok = (a > 0) & (b > 0)
    if ok.sum() < 2:
        raise UserError("fewer than 2 days with both sides in the field", file=data.source)
    return _Problem(law, a[ok], b[ok], dt[ok], np.maximum(ka[ok], 0.0) if method == "mle"
                    else ka[ok], np.maximum(kb[ok], 0.0) if method == "mle" else kb[ok])


def _r2_rmse(obs: Sequence[NDArray[np.float64]], pred: Sequence[NDArray[np.float64]]
             ) -> tuple[float, float]:
    ss_res = sum(float(np.sum((o - p) ** 2)) for o, p in zip(obs, pred, strict=True))
    ss_tot = sum(float(np.sum((o - o.mean()) ** 2)) for o in obs)
    n = sum(o.size for o in obs)
    return (1.0 - ss_res / ss_tot if ss_tot > 0 else math.nan), math.sqrt(ss_res / n)


def fit(data: StrengthData, law: str = "square", *, method: Method = "mle",
        n_boot: int = 200, seed: int | None = 0, level: float = 0.95) -> FitResult:
    """Fit a law's coefficients (and the generalized law's exponents) to daily strengths.

    Args:
        data: from :func:`read_strength_csv` or :func:`synthetic_data`.
        law: square, linear, logarithmic, mixed or generalized.
        method: "mle" (Poisson likelihood of daily losses) or "ls" (least squares).
        n_boot: bootstrap replicates for the intervals (0 skips them).
        seed: seed for the bootstrap's :func:`numpy.random.default_rng`.
        level: coverage of the percentile intervals.

    Returns:
        A :class:`FitResult`.

    Raises:
        UserError: a bad argument, or data so large that the fit overflows.

    >>> d = synthetic_data("square", 2000, 1500, alpha=0.02, beta=0.03, days=30, seed=2)
    >>> f = fit(d, "square", n_boot=100, seed=3)
    >>> lo, hi = f.ci["alpha"]
    >>> bool(lo < 0.02 < hi), f.r2 > 0.99
    (True, True)
    """
    n_boot = check_int(n_boot, "n_boot", minimum=0)
    seed = None if seed is None else check_seed(seed)
    with overflow_guard("the data", also=(ValueError,)):  # math.log of an overflowed sum
        res = _fit(data, law, method=method, n_boot=n_boot, seed=seed, level=level)
    if not all(math.isfinite(v) for v in (*res.params.values(), res.loglik)):
        raise UserError(OVERFLOW.format(what="the data"))
    return res


def _fit(data: StrengthData, law: str = "square", *, method: Method = "mle",
         n_boot: int = 200, seed: int | None = 0, level: float = 0.95) -> FitResult:
    """:func:`fit` without the overflow checks."""
    law = check_law(law)
    if method not in ("mle", "ls"):
        raise UserError(f"unknown method {method!r}; use mle or ls", field="method")
    if not 0 < level < 1:
        raise UserError(f"must be between 0 and 1, not {level}", field="level")
    limits.check("replicates", n_boot, field="n_boot", unit="bootstrap replicates")
    prob = _problem(data, law, method)
    theta = _optimize(prob, prob.ka, prob.kb, method)
    names = param_names(law)
    mua, mub = prob.mu(theta)

    boot = np.empty((max(int(n_boot), 0), len(names)))
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        ra, rb = prob.ka - mua, prob.kb - mub
        for i in range(int(n_boot)):
            if method == "mle":
                ka, kb = rng.poisson(np.maximum(mua, 0)), rng.poisson(np.maximum(mub, 0))
            else:
                ka = mua + rng.choice(ra, size=ra.size, replace=True)
                kb = mub + rng.choice(rb, size=rb.size, replace=True)
            boot[i] = _optimize(prob, ka.astype(float), kb.astype(float), method, x0=theta)
        boot[:, :2] = np.exp(boot[:, :2])
    est = np.concatenate([np.exp(theta[:2]), theta[2:]])
    tail = 100 * (1 - level) / 2
    ci = {}
    for j, nm in enumerate(names):
        if n_boot > 0:
            lo, hi = np.percentile(boot[:, j], [tail, 100 - tail])
            ci[nm] = (float(lo), float(hi))
        else:
            ci[nm] = (math.nan, math.nan)

    loglik = _loglik(prob, theta, method)
    n_obs = 2 * prob.a.size
    k = len(names) + (method == "ls")
    params = {nm: float(v) for nm, v in zip(names, est, strict=True)}
    t = data.day - data.day[0]
    sol = solve(law, data.a[0], data.b[0], params["alpha"], params["beta"],
                p=params.get("p", 0.0), q=params.get("q", 1.0), days=float(t[-1]),
                reinforcements=data.reinforcements(), t_eval=t)
    r2, rmse = _r2_rmse([data.a, data.b], [sol.a, sol.b])
    r2l, rmsel = _r2_rmse([prob.ka, prob.kb], [mua, mub])
    return FitResult(law, method, params, ci, level, boot, loglik, n_obs, k,
                     2 * k - 2 * loglik, k * math.log(n_obs) - 2 * loglik, r2, rmse, r2l, rmsel,
                     sol, data)


@dataclass(frozen=True)
class Selection:
    """Laws ranked by an information criterion.

    Attributes:
        fits: every candidate's fit (without bootstrap), by law.
        best: the law with the lowest criterion.
        criterion: "aic" or "bic".
        best_fit: the best law refitted with bootstrap intervals.
    """

    fits: dict[str, FitResult]
    best: str
    criterion: str
    best_fit: FitResult

    def table(self) -> list[dict[str, float | str | int]]:
        """Rows sorted by the criterion: law, k, loglik, aic, delta_aic, bic, delta_bic, weight
        (Akaike or Schwarz weight under the chosen criterion)."""
        aic = {law: f.aic for law, f in self.fits.items()}
        bic = {law: f.bic for law, f in self.fits.items()}
        crit = aic if self.criterion == "aic" else bic
        lo = min(crit.values())
        w = {law: math.exp(-0.5 * (v - lo)) for law, v in crit.items()}
        tot = sum(w.values())
        rows = []
        for law in sorted(self.fits, key=crit.__getitem__):
            f = self.fits[law]
            rows.append({"law": law, "k": f.n_params, "loglik": f.loglik, "aic": f.aic,
                         "delta_aic": f.aic - min(aic.values()), "bic": f.bic,
                         "delta_bic": f.bic - min(bic.values()), "weight": w[law] / tot})
        return rows


def select_law(data: StrengthData, laws: Iterable[str] = LAWS, *, method: Method = "mle",
               criterion: Literal["aic", "bic"] = "aic", n_boot: int = 200,
               seed: int | None = 0, level: float = 0.95) -> Selection:
    """Fit every law in ``laws`` and pick the one with the lowest AIC (or BIC).

    >>> d = synthetic_data("linear", 1000, 900, alpha=2e-5, beta=3e-5, days=40, seed=4)
    >>> select_law(d, ("square", "linear", "logarithmic"), n_boot=0).best
    'linear'
    """
    if criterion not in ("aic", "bic"):
        raise UserError(f"unknown criterion {criterion!r}; use aic or bic", field="criterion")
    names = [check_law(law) for law in laws]
    if not names:
        raise UserError("no laws to compare", field="laws")
    fits = {law: fit(data, law, method=method, n_boot=0) for law in names}
    best = min(fits, key=lambda law: getattr(fits[law], criterion))
    best_fit = fit(data, best, method=method, n_boot=n_boot, seed=seed, level=level)
    return Selection(fits, best, criterion, best_fit)
