"""Out-of-sample checks of a Bayesian calibration: a time split and leave-one-source-out.

- :func:`time_split`: fit (ABC-SMC) only the observations dated on or before ``split``,
  forecast from that posterior, and check each later observation against its 90% predictive
  interval (a hit when the interval overlaps the observed interval).
- :func:`leave_one_source_out`: for each source of the observations CSV (its ``source``
  column), fit without that source's rows and check its observations the same way.

:func:`markdown` renders both as a block of ``docs/validation.md`` between the markers
:data:`BEGIN` and :data:`END` (:func:`write_section` replaces that block and nothing else,
so other sections of the file are left as they are). Run all of it with
``python -m dronefront.experiments.validation docs [--quick]`` (``make validation-calibration``).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime as dt
import os
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from dronefront.experiments.abc import ABCResult, ABCSettings, calibrate_abc
from dronefront.experiments.calibration import CalibrationPlan, load_calibration
from dronefront.experiments.forecast import Posterior, forecast
from dronefront.validation.page import CALIBRATION_BEGIN as BEGIN
from dronefront.validation.page import CALIBRATION_END as END

KURSK = Path(__file__).resolve().parents[3] / "examples" / "calibrate-kursk.yaml"
SPLIT = dt.date(2024, 12, 27)


def posterior_of(result: ABCResult, plan: CalibrationPlan) -> Posterior:
    """The posterior of an ABC result, with ``plan``'s observations to check against."""
    params = list(result.plan.spec.parameters)
    return Posterior(result.plan.spec.name, result.plan.model.name, result.plan.scenario,
                     result.plan.fixed, result.particles[["weight", *params]].copy(), params,
                     plan.observations, {"calibration": result.key})


def _checked(result: ABCResult, plan: CalibrationPlan, wanted: list[Any], draws: int,
             executor: str, workers: int | None) -> pd.DataFrame:
    last = max(o.date for o in plan.observations)
    post = posterior_of(result, plan)
    post.observations = wanted
    fc = forecast(post, last, draws=draws, executor=executor, workers=workers)
    return fc.checks()


def time_split(file: str | os.PathLike = KURSK, split: dt.date = SPLIT, *,
               settings: ABCSettings | None = None, store: str | os.PathLike,
               draws: int = 40, executor: str = "local", workers: int | None = None
               ) -> pd.DataFrame:
    """Later observations against the 90% predictive interval of a fit up to ``split``."""
    plan = load_calibration(file)
    result = calibrate_abc(plan, settings=settings, until=split, store=store,
                           executor=executor, workers=workers)
    later = [o for o in plan.observations if o.date > split]
    return _checked(result, plan, later, draws, executor, workers)


def sources(plan: CalibrationPlan) -> dict[int, str]:
    """The ``source`` column of the observations CSV by line (empty when it has none)."""
    with open(plan.observed_file, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if "source" not in (reader.fieldnames or []):
            return {}
        out: dict[int, str] = {}
        for row in reader:
            out[reader.line_num] = (row.get("source") or "").strip()
        return out


def leave_one_source_out(file: str | os.PathLike = KURSK, *,
                         settings: ABCSettings | None = None, store: str | os.PathLike,
                         draws: int = 40, executor: str = "local",
                         workers: int | None = None) -> pd.DataFrame:
    """Per source: its observations against the 90% interval of a fit without them."""
    plan = load_calibration(file)
    by_line = sources(plan)
    frames = []
    for source in dict.fromkeys(by_line.values()):
        mine = [o for o in plan.observations if by_line.get(o.line) == source]
        rest = [o for o in plan.observations if by_line.get(o.line) != source]
        if not mine or not rest:
            continue
        kept = [dataclasses.replace(o, index=i) for i, o in enumerate(rest)]
        from dronefront.io.rundir import sha256_of

        sub = dataclasses.replace(plan, observations=kept,
                                  key=sha256_of({"plan": plan.key, "without": source}))
        result = calibrate_abc(sub, settings=settings, store=store, executor=executor,
                               workers=workers)
        frame = _checked(result, plan, mine, draws, executor, workers)
        frame.insert(0, "left_out", source)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _interval(low: Any, high: Any) -> str:
    def f(v: Any) -> str:
        return "" if v is None or pd.isna(v) else f"{v:,.0f}"

    if f(low) and f(high):
        return f"{f(low)}-{f(high)}" if f(low) != f(high) else f(low)
    return f">= {f(low)}" if f(low) else f"<= {f(high)}"


def markdown(split_table: pd.DataFrame, loso_table: pd.DataFrame, *, split: dt.date,
             settings: ABCSettings, draws: int, seconds: float, command: str) -> str:
    """The validation block (markers included)."""
    lines = [BEGIN, "", "## Calibration: out-of-sample checks", "",
             f"ABC-SMC ({settings.population} particles, up to {settings.generations} "
             f"generations, at most {settings.max_runs} runs) on the current mechanics, then "
             f"{draws} posterior draws with fresh seeds. A check is a **hit** when the 90% "
             "predictive interval (5-95% over draws) overlaps the reported interval. "
             f"Reproduce with `{command}` ({seconds / 60:.0f} min on this machine).", "",
             f"### Time split: fitted up to {split}, later observations", "",
             "| date | series | reported | 90% predictive | median | result |",
             "|---|---|---|---|---|---|"]
    for r in split_table.itertuples(index=False):
        lines.append(f"| {r.date} | {r.series} | {_interval(r.low, r.high)} | "
                     f"{r.q05:,.0f}-{r.q95:,.0f} | {r.median:,.0f} | "
                     f"{'hit' if r.hit else 'miss'} |")
    lines += ["", "### Leave one source out", "",
              "| left out | date | series | reported | 90% predictive | median | result |",
              "|---|---|---|---|---|---|---|"]
    for r in loso_table.itertuples(index=False):
        lines.append(f"| {r.left_out} | {r.date} | {r.series} | "
                     f"{_interval(r.low, r.high)} | {r.q05:,.0f}-{r.q95:,.0f} | "
                     f"{r.median:,.0f} | {'hit' if r.hit else 'miss'} |")
    lines += ["", END, ""]
    return "\n".join(lines)


def write_section(path: str | os.PathLike, block: str) -> Path:
    """Replace the block between :data:`BEGIN` and :data:`END` in ``path`` (appended when
    absent), atomically."""
    from dronefront.io.outputs import write_text

    path = Path(path)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        text = head + block + tail
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + block
    return write_text(path, text)


def main(argv: list[str] | None = None) -> int:
    """``python -m dronefront.experiments.validation DOCS_DIR [--quick]``."""
    parser = argparse.ArgumentParser(prog="python -m dronefront.experiments.validation")
    parser.add_argument("docs", type=Path)
    parser.add_argument("--store", type=Path, default=Path("runs/validation.duckdb"))
    parser.add_argument("--quick", action="store_true",
                        help="small budget (24 particles, 3 generations, 20 draws)")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    settings = ABCSettings(population=24, generations=3, max_runs=450) if args.quick \
        else ABCSettings()
    draws = 20 if args.quick else 40
    executor = "processes"
    started = time.perf_counter()
    split = time_split(settings=settings, store=args.store, draws=draws, executor=executor,
                       workers=args.workers)
    loso = leave_one_source_out(settings=settings, store=args.store, draws=draws,
                                executor=executor, workers=args.workers)
    command = "python -m dronefront.experiments.validation docs" + (
        " --quick" if args.quick else "")
    block = markdown(split, loso, split=SPLIT, settings=settings, draws=draws,
                     seconds=time.perf_counter() - started, command=command)
    out = write_section(args.docs / "validation.md", block)
    print(f"calibration validation -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
