"""Reading run folders (and Results) into one shape that replays, reports and plots use."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dronefront.engine.result import Result
from dronefront.errors import UserError
from dronefront.scenario.models import Scenario

RUN_FILES = ("manifest.json", "summary.json", "timeseries.parquet", "events.parquet")


@dataclass
class RunData:
    """What a run folder holds: the manifest, summary, per-step series and event log."""

    manifest: dict[str, Any]
    summary: dict[str, Any]
    timeseries: pa.Table
    events: pa.Table
    path: Path | None = None
    _scenario: Scenario | None = None

    @property
    def scenario(self) -> Scenario:
        """The resolved scenario, rebuilt (and validated) from the manifest."""
        if self._scenario is None:
            self._scenario = scenario_from_manifest(self.manifest, self._manifest_file())
        return self._scenario

    @property
    def seed(self) -> int:
        return int(self.manifest.get("seed", self.summary.get("seed", 0)))

    def _manifest_file(self) -> str:
        return str(self.path / "manifest.json") if self.path else "manifest.json"


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` looks like a run folder (a manifest and a summary)."""
    return path.is_dir() and (path / "manifest.json").is_file() and (
        path / "summary.json").is_file()


def read_json(path: Path) -> Any:
    """Read a JSON file, turning a missing or broken file into a UserError."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError("file not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"cannot read JSON: {exc}", file=str(path)) from None


def _read_parquet(path: Path) -> pa.Table:
    try:
        return pq.read_table(path)
    except FileNotFoundError:
        raise UserError("file not found", file=str(path)) from None
    except (OSError, pa.ArrowException) as exc:
        raise UserError(f"cannot read Parquet: {exc}", file=str(path)) from None


def load_run(path: str | Path) -> RunData:
    """Load a run folder written by ``dronefront run`` or ``Result.write``."""
    path = Path(path)
    if not path.exists():
        raise UserError("no such run folder", file=str(path))
    if not is_run_dir(path):
        raise UserError("not a run folder (needs manifest.json and summary.json)",
                        file=str(path))
    manifest = read_json(path / "manifest.json")
    if not isinstance(manifest, dict):
        raise UserError("manifest must be a JSON object", file=str(path / "manifest.json"))
    summary = read_json(path / "summary.json")
    if not isinstance(summary, dict):
        raise UserError("summary must be a JSON object", file=str(path / "summary.json"))
    return RunData(manifest=manifest, summary=summary,
                   timeseries=_read_parquet(path / "timeseries.parquet"),
                   events=_read_parquet(path / "events.parquet"), path=path)


def scenario_from_manifest(manifest: dict[str, Any], file: str) -> Scenario:
    """Rebuild the Scenario recorded in a manifest (validated like a scenario file)."""
    from dronefront.scenario.loader import validate

    if "scenario" not in manifest:
        raise UserError("manifest has no resolved scenario", file=file, field="scenario")
    return validate(manifest["scenario"], file=file)


def seed_from_manifest(manifest: dict[str, Any], file: str) -> int:
    """The seed recorded in a manifest."""
    seed = manifest.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise UserError(f"seed must be an integer (got {seed!r})", file=file, field="seed")
    return seed


def as_run_data(run: Result | RunData | str | Path) -> RunData:
    """Accept a Result, a RunData or a run folder path; return RunData."""
    if isinstance(run, RunData):
        return run
    if isinstance(run, Result):
        return RunData(manifest=run.manifest(), summary=run.summary,
                       timeseries=run.timeseries, events=run.events, _scenario=run.scenario)
    if isinstance(run, str | Path):
        return load_run(run)
    raise TypeError(f"expected a Result, RunData or run folder path, got {type(run).__name__}")


def normalized(data: Any) -> Any:
    """``data`` as it reads back from JSON (tuples become lists, keys strings)."""
    return json.loads(json.dumps(data, allow_nan=False))
