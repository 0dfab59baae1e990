"""Install an ABC calibration into the package: the posterior file and the campaign medians.

``python -m dronefront.experiments.install --store STORE --calibration NAME [--medians]``
writes ``src/dronefront/scenario/builtin/posteriors/<scenario>.yaml`` (the particles and a
provenance block: data file and its SHA-256, method and settings, date, version and the
command that reproduces it), which ``dronefront campaign NAME --posterior`` runs. With
``--medians`` it also writes the posterior medians into the built-in campaign file, with the
provenance as a comment block at its top (the file is rewritten by PyYAML: key order is
kept, comments inside it are not). ``make calibration`` runs the calibration and this.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import sys
from pathlib import Path
from typing import Any

import yaml

from dronefront.experiments.forecast import load_posterior, write_posterior_file

BUILTIN = Path(__file__).resolve().parents[1] / "scenario" / "builtin"
COMMAND = ("dronefront calibrate examples/calibrate-kursk.yaml --method abc --executor "
           "processes --store runs/calibration.duckdb")


def set_path(data: dict, path: str, value: Any) -> None:
    """Set a dotted path in a campaign mapping; ``engagement_overrides`` keeps the rest of
    the path as one key (that is how campaign files write engagement overrides).

    >>> d = {"force": {"size": 1}, "engagement_overrides": {}}
    >>> set_path(d, "force.size", 2); set_path(d, "engagement_overrides.a.0.b", 3); d
    {'force': {'size': 2}, 'engagement_overrides': {'a.0.b': 3}}
    """
    parts = path.split(".")
    if parts[0] == "engagement_overrides":
        data.setdefault("engagement_overrides", {})[".".join(parts[1:])] = value
        return
    node: Any = data
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if isinstance(node, list):
        node[int(parts[-1])] = value
    else:
        node[parts[-1]] = value


def provenance(store: str, name: str, command: str) -> dict[str, Any]:
    """Where a posterior came from: data, method, date, version, command."""
    from dronefront import __version__
    from dronefront.experiments.store import open_store

    with open_store(store) as db:
        e = [x for x in db.select(name) if x.design.get("sampler") == "abc-smc"][-1]
        stored = db.posterior(e.key)
    assert stored is not None
    _, generations = stored
    data_file = Path(e.file).parent / e.spec["observed"]["file"]
    digest = hashlib.sha256(data_file.read_bytes()).hexdigest() if data_file.is_file() else ""
    return {"data": str(e.spec["observed"]["file"]), "data_sha256": digest,
            "method": "ABC-SMC (pyABC), uniform priors over the calibration file's ranges, "
                      "distance = weighted interval loss of the replicate mean",
            "settings": e.design.get("settings"), "until": e.design.get("until"),
            "generations": len(generations),
            "final_epsilon": float(generations.epsilon.iloc[-1]),
            "date": dt.date.today().isoformat(), "dronefront_version": __version__,
            "calibration": e.key[:16], "command": command}


def install(store: str, name: str, *, scenario: str = "kursk-campaign", medians: bool = False,
            folder: Path = BUILTIN, command: str = COMMAND) -> list[Path]:
    """Write the posterior file (and with ``medians`` the campaign's medians)."""
    post = load_posterior(name, store)
    post.provenance = provenance(store, name, command)
    post.name = scenario
    fixed = {text.split("=", 1)[0]: yaml.safe_load(text.split("=", 1)[1])
             for text in post.fixed}
    written = [write_posterior_file(folder / "posteriors" / f"{scenario}.yaml", post, fixed)]
    if medians:
        from dronefront.io.outputs import write_text

        target = folder / f"{scenario}.yaml"
        data = yaml.safe_load(target.read_text(encoding="utf-8"))
        for path, value in post.medians().items():
            set_path(data, path, value)
        head = ["# Calibrated: the fitted values below are the posterior medians of"]
        head += [f"#   {k}: {v}" for k, v in post.provenance.items()]
        head += [f"# Posterior draws: posteriors/{scenario}.yaml "
                 f"(dronefront campaign {scenario} --posterior)."]
        body = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=96)
        written.append(write_text(target, "\n".join(head) + "\n" + body))
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m dronefront.experiments.install")
    parser.add_argument("--store", required=True)
    parser.add_argument("--calibration", required=True)
    parser.add_argument("--scenario", default="kursk-campaign")
    parser.add_argument("--medians", action="store_true")
    parser.add_argument("--command", default=COMMAND)
    args = parser.parse_args(argv)
    for path in install(args.store, args.calibration, scenario=args.scenario,
                        medians=args.medians, command=args.command):
        print(f"installed -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
