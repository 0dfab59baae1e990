"""Which report a PATH gets: the registry of report kinds, :func:`build_report` and
:func:`write_report`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dronefront.engine.result import Result
from dronefront.errors import UserError
from dronefront.viz.data import RunData, as_run_data


@dataclass(frozen=True)
class ReportKind:
    """A kind of PATH that ``dronefront report`` understands."""

    name: str
    detect: Callable[[Path], bool]
    render: Callable[..., str]
    compare: bool = False  # render(path, compare=[...]) takes folders to compare with
    options: tuple[str, ...] = ()  # keyword options of build_report that render takes


_KINDS: list[ReportKind] = []


def register_report_kind(name: str, detect: Callable[[Path], bool],
                         render: Callable[..., str], *, compare: bool = False,
                         options: Sequence[str] = ()) -> None:
    """Teach :func:`build_report` a new kind of PATH (replacing one of the same name).

    With ``compare=True``, ``render`` is called as ``render(path, compare=[...])`` and
    receives the ``--compare`` folders (an empty list when none were given). ``options``
    names keyword options of :func:`build_report` (e.g. ``"experiment"``) that ``render``
    accepts; each is passed when it is given (not None).
    """
    _KINDS[:] = [k for k in _KINDS if k.name != name]
    _KINDS.append(ReportKind(name, detect, render, compare, tuple(options)))


def report_kinds() -> list[str]:
    """Names of the kinds of PATH that reports exist for."""
    return [k.name for k in _KINDS]


def build_report(path: Any, compare: Any = None, **options: Any) -> str:
    """The HTML report for PATH (a run folder, campaign folder or experiment store), or for
    a Result, RunData, CampaignResult or CampaignData.

    ``options``: keyword options of a kind, e.g. ``experiment="NAME"`` to report one
    experiment of a store (its name or the start of its hash).

    ``compare``: another campaign (folder or CampaignResult), or a list of them, to show
    next to a campaign (e.g. the same campaign with learning off). Without it, a campaign
    folder is compared with its siblings of the same campaign and seed but other learning
    flags (see :func:`campaign_counterparts`).
    """
    others = _as_list(compare)
    given = {k: v for k, v in options.items() if v is not None}
    if given and not isinstance(path, str | Path):
        raise UserError(f"--{next(iter(given))} applies to experiment stores only",
                        field=f"--{next(iter(given))}")
    if isinstance(path, Result | RunData):
        if others:
            raise UserError("--compare applies to campaign folders only", field="--compare")
        from dronefront.viz.report.run import run_report

        return run_report(as_run_data(path))
    if not isinstance(path, str | Path):
        from dronefront.viz.data import as_campaign_data
        from dronefront.viz.report.campaign import campaign_report

        return campaign_report(as_campaign_data(path), others)
    path = Path(path)
    if not path.exists():
        raise UserError("no such file or folder", file=str(path))
    for kind in _KINDS:
        if kind.detect(path):
            what = kind.name.replace("_", " ")
            for name in given:
                if name not in kind.options:
                    raise UserError(f"--{name} does not apply to a {what}", file=str(path),
                                    field=f"--{name}")
            if kind.compare:
                return kind.render(path, compare=others, **given)
            if others:
                raise UserError(f"--compare does not apply to a {what}",
                                file=str(path), field="--compare")
            return kind.render(path, **given)
    raise UserError(
        f"cannot report on this: not a {' or '.join(k.replace('_', ' ') for k in report_kinds())}"
        " (a run folder holds manifest.json and summary.json; a campaign folder also "
        "daily.parquet; an experiment store is the .duckdb file of dronefront experiment "
        "run or calibrate)", file=str(path),
    )


def _as_list(compare: Any) -> list[Any]:
    if compare is None:
        return []
    if isinstance(compare, list | tuple):
        return list(compare)
    return [compare]


def write_report(path: Any, out: str | Path, compare: Any = None, **options: Any) -> Path:
    """Write the report for PATH to ``out`` atomically (missing folders are created);
    returns the output path."""
    from dronefront.io.outputs import check_output, write_text

    out = check_output(out, "out", make_parents=True)
    return write_text(out, build_report(path, compare, **options), make_parents=True)

