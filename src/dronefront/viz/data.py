"""Reading run folders (and Results) into one shape that replays, reports and plots use."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import pyarrow as pa
import pyarrow.parquet as pq

from dronefront.engine.result import Result
from dronefront.errors import UserError
from dronefront.scenario.models import SIDES, Scenario

if TYPE_CHECKING:
    import pandas as pd

    from dronefront.campaign.runner import CampaignResult

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
    #: A policy-played run's orders (``actions.parquet``; docs/rl.md), else None.
    actions: pa.Table | None = None

    @property
    def played_by(self) -> dict[str, Any] | None:
        """The manifest's note of a policy-played run (policy, control, actions file)."""
        played = self.manifest.get("played_by")
        return played if isinstance(played, dict) else None

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
    """Read a JSON file, turning a missing or broken file into a UserError (which never
    quotes the file)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError("file not found", file=str(path)) from None
    except IsADirectoryError:
        raise UserError("not JSON: a folder", file=str(path)) from None
    except UnicodeDecodeError:
        raise UserError("not JSON: binary file", file=str(path)) from None
    except json.JSONDecodeError as exc:
        raise UserError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                        file=str(path)) from None
    except (OSError, ValueError, RecursionError) as exc:
        raise UserError(f"cannot read JSON: {exc.__class__.__name__}", file=str(path)) \
            from None


def read_parquet(path: Path) -> pa.Table:
    try:
        return pq.read_table(path)
    except FileNotFoundError:
        raise UserError("file not found", file=str(path)) from None
    except (OSError, pa.ArrowException) as exc:  # the reader's text may quote the file
        raise UserError(f"not a Parquet file ({exc.__class__.__name__})", file=str(path)) \
            from None


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
    played = manifest.get("played_by")
    return RunData(manifest=manifest, summary=summary,
                   timeseries=read_parquet(path / "timeseries.parquet"),
                   events=read_parquet(path / "events.parquet"), path=path,
                   actions=(read_parquet(actions_path(path, played))
                            if isinstance(played, dict) else None))


def actions_path(folder: Path, played: dict[str, Any]) -> Path:
    """The actions table a policy-played run's manifest names (inside its folder)."""
    from dronefront.io.paths import inside

    name = played.get("actions")
    at = {"file": str(folder / "manifest.json"), "field": "played_by.actions"}
    if not isinstance(name, str):
        raise UserError("must name the run's actions table", **at)
    return inside(name, folder, **at)


MANIFEST_KEYS = ("scenario", "seed", "dronefront_version")


def scenario_from_manifest(manifest: dict[str, Any], file: str) -> Scenario:
    """Rebuild the Scenario recorded in a manifest (validated like a scenario file).

    The manifest must be dronefront's (a ``scenario`` mapping, a ``seed`` and a
    ``dronefront_version``). A raster it names is a path in a file: it must lie inside the
    run folder (see :mod:`dronefront.io.paths`).
    """
    from dronefront.io.paths import inside
    from dronefront.scenario.loader import check_raster, validate

    if not isinstance(manifest.get("scenario"), dict) or any(
            k not in manifest for k in MANIFEST_KEYS):
        raise UserError(f"not a dronefront run manifest (expected a JSON object with "
                        f"{', '.join(MANIFEST_KEYS)})", file=file)
    scenario = manifest["scenario"]
    terrain = scenario.get("terrain")
    if isinstance(terrain, dict) and isinstance(terrain.get("raster_file"), str):
        at = {"file": file, "field": "scenario.terrain.raster_file"}
        try:
            raster = inside(terrain["raster_file"], Path(file).parent, **at)
        except UserError:
            raise UserError("the run's raster file lies outside the run folder (absolute or "
                            "'..'); replay it with --scenario FILE --seed N", **at) from None
        terrain = {**terrain, "raster_file": str(check_raster(raster, **at))}
        scenario = {**scenario, "terrain": terrain}
    return validate(scenario, file=file)


def seed_from_manifest(manifest: dict[str, Any], file: str) -> int:
    """The seed recorded in a manifest."""
    seed = manifest.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise UserError(f"seed must be an integer (got a {type(seed).__name__})", file=file,
                        field="seed")
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


# --------------------------------------------------------------------------- campaigns
CampaignLike: TypeAlias = "CampaignResult | CampaignData | str | Path"


@dataclass
class CampaignData:
    """What a campaign folder holds: manifest, summary, daily table and doctrine table."""

    manifest: dict[str, Any]
    summary: dict[str, Any]
    daily: pd.DataFrame
    doctrine: pd.DataFrame
    path: Path | None = None

    @property
    def learning(self) -> dict[str, bool]:
        flags = self.manifest.get("learning") or self.summary.get("learning") or {}
        return {str(k): bool(v) for k, v in flags.items()}

    @property
    def name(self) -> str:
        campaign = self.manifest.get("campaign")
        if isinstance(campaign, dict) and campaign.get("name"):
            return str(campaign["name"])
        return str(self.summary.get("campaign", "campaign"))

    @property
    def seed(self) -> Any:
        return self.manifest.get("seed", self.summary.get("seed"))

    @property
    def label(self) -> str:
        """'learning on', 'attacker learning off', 'no learning', ..."""
        return learning_label(self.learning)


def learning_label(learning: dict[str, bool]) -> str:
    """A short name for a campaign's learning flags."""
    off = [side for side in SIDES if side in learning and not learning[side]]
    if not learning or not off:
        return "learning on"
    if len(off) == len(learning):
        return "no learning"
    return " and ".join(off) + " learning off"


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The ``manifest.json`` object of a folder, or None when it is missing or unreadable
    (for sniffing what a folder is; :func:`load_run` reports the reason instead)."""
    try:
        data = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def is_campaign_dir(path: str | Path) -> bool:
    """Whether ``path`` looks like a campaign folder (a campaign manifest or daily.parquet)."""
    path = Path(path)
    if not path.is_dir():
        return False
    if (path / "daily.parquet").is_file():
        return True
    manifest = read_manifest(path) if (path / "manifest.json").is_file() else None
    return manifest is not None and "campaign" in manifest


def _campaign_frame(table: pa.Table) -> pd.DataFrame:
    import pandas as pd  # campaign reports only: replays need no pandas

    df = table.to_pandas()
    if "date" in df.columns:
        df["date"] = pd.to_datetime(df["date"])
    sort = [c for c in ("day", "battalion") if c in df.columns]
    return df.sort_values(sort, kind="stable").reset_index(drop=True) if sort else df


def load_campaign_dir(path: str | Path) -> CampaignData:
    """Load a campaign folder written by ``dronefront campaign`` or ``CampaignResult.write``."""
    path = Path(path)
    if not path.exists():
        raise UserError("no such campaign folder", file=str(path))
    if not is_campaign_dir(path):
        raise UserError("not a campaign folder (needs manifest.json, summary.json and "
                        "daily.parquet)", file=str(path))
    manifest = read_json(path / "manifest.json")
    if not isinstance(manifest, dict):
        raise UserError("manifest must be a JSON object", file=str(path / "manifest.json"))
    summary = read_json(path / "summary.json")
    if not isinstance(summary, dict):
        raise UserError("summary must be a JSON object", file=str(path / "summary.json"))
    daily = _campaign_frame(read_parquet(path / "daily.parquet"))
    doctrine_file = path / "doctrine.parquet"
    import pandas as pd

    doctrine = (_campaign_frame(read_parquet(doctrine_file)) if doctrine_file.is_file()
                else pd.DataFrame(columns=["day", "date", "battalion", "dimension", "option",
                                           "probability"]))
    return CampaignData(manifest, summary, daily, doctrine, path)


def as_campaign_data(campaign: CampaignLike) -> CampaignData:
    """Accept a CampaignResult, a CampaignData or a campaign folder path."""
    if isinstance(campaign, CampaignData):
        return campaign
    if isinstance(campaign, str | Path):
        return load_campaign_dir(campaign)
    from dronefront.campaign.runner import CampaignResult

    if isinstance(campaign, CampaignResult):
        return CampaignData(campaign.manifest(), campaign.summary,
                            _campaign_frame(campaign.daily), _campaign_frame(campaign.doctrine))
    raise TypeError("expected a CampaignResult, CampaignData or campaign folder path, got "
                    f"{type(campaign).__name__}")
