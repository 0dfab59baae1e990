"""Install an ABC calibration into the package: the posterior file and the campaign medians.

``python -m dronefront.experiments.install --store STORE --calibration NAME [--medians]``
writes ``src/dronefront/scenario/builtin/posteriors/<scenario>.yaml`` (the particles and a
provenance block: data file and its SHA-256, method and settings, date, version and the
command that reproduces it), which ``dronefront campaign NAME --posterior`` runs. With
``--medians`` it also writes the posterior medians (floats to 3 significant digits) into
the built-in campaign file, editing each value where it stands (:func:`edit_values`), so
the file keeps its comments, key order and flow mappings, and replaces the file's leading
comment block with the provenance (:func:`provenance_comment`). A fitted path the file
lacks is added to its mapping with a ``# posterior median`` comment. ``make calibration``
runs the calibration and this.
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


def _keys(path: str) -> list[str]:
    parts = path.split(".")
    if parts[0] == "engagement_overrides" and len(parts) > 1:
        return [parts[0], ".".join(parts[1:])]
    return parts


def _scalar_text(value: Any, plain_dates: bool) -> str:
    """``value`` as one YAML flow scalar; an ISO date string stays unquoted where the file
    wrote a plain date (so it still loads as a date)."""
    if isinstance(value, float):
        value = float(f"{value:.3g}")
    if plain_dates and isinstance(value, str):
        try:
            if isinstance(yaml.safe_load(value), dt.date):
                return value
        except yaml.YAMLError:
            pass
    text = yaml.safe_dump([value], default_flow_style=True, width=10**6).strip()
    return text[1:-1]


def edit_values(text: str, values: dict[str, Any]) -> str:
    r"""Set dotted paths of a campaign file's YAML ``text`` to ``values``, in place.

    Each value's scalar is replaced where it stands, so comments, key order, blank lines
    and flow mappings stay as written; ``engagement_overrides`` keeps the rest of the path
    as one key. A path whose last key is missing is added to its mapping (a new line in a
    block mapping, ``, key: value`` before a flow mapping's ``}``) with a ``# posterior
    median`` comment; a missing key higher up, or a path to a list or mapping, is an error.

    >>> text = "a: 1  # kept\nb: {c: 2.0, d: x}\nengagement_overrides:\n  u.0.k: 3\n"
    >>> print(edit_values(text, {"a": 5, "b.c": 0.123456, "engagement_overrides.u.0.k": 4,
    ...                          "engagement_overrides.v": 1.5}), end="")
    a: 5  # kept
    b: {c: 0.123, d: x}
    engagement_overrides:
      u.0.k: 4
      v: 1.5  # posterior median
    """
    from yaml.nodes import MappingNode, ScalarNode, SequenceNode

    root = yaml.compose(text)
    edits: list[tuple[int, int, str]] = []
    for path, value in values.items():
        node, keys = root, _keys(path)
        for i, key in enumerate(keys):
            last = i == len(keys) - 1
            found = None
            if isinstance(node, MappingNode):
                found = next((v for k, v in node.value if k.value == key), None)
            elif isinstance(node, SequenceNode) and key.isdigit() and int(key) < len(node.value):
                found = node.value[int(key)]
            if found is None:
                if not (last and isinstance(node, MappingNode) and node.value):
                    raise ValueError(f"{path}: the file has no {key!r} to set")
                edits.append(_insertion(text, node, key, _scalar_text(value, True)))
                break
            node = found
        else:
            if not isinstance(node, ScalarNode):
                raise ValueError(f"{path}: not a single value in the file")
            edits.append((node.start_mark.index, node.end_mark.index,
                          _scalar_text(value, node.style is None)))
    for start, end, new in sorted(edits, key=lambda e: e[0], reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _insertion(text: str, mapping: Any, key: str, value: str) -> tuple[int, int, str]:
    if mapping.flow_style:
        close = mapping.end_mark.index - 1  # the closing brace
        return close, close, f", {key}: {value}"
    indent = mapping.value[0][0].start_mark.column
    after = text.find("\n", mapping.value[-1][1].end_mark.index)
    at = len(text) if after < 0 else after + 1
    prefix = "" if after >= 0 else "\n"
    return at, at, f"{prefix}{' ' * indent}{key}: {value}  # posterior median\n"


def provenance_comment(text: str, lines: list[str]) -> str:
    r"""Replace the leading comment block of YAML ``text`` (its first lines that start with
    ``#``) with ``lines``, each written as a comment.

    >>> provenance_comment("# old\n# old too\nkey: 1  # stays\n", ["new"])
    '# new\nkey: 1  # stays\n'
    """
    body = text.splitlines(keepends=True)
    first = next((i for i, line in enumerate(body) if not line.startswith("#")), len(body))
    return "".join(f"# {line}".rstrip() + "\n" for line in lines) + "".join(body[first:])


def header_lines(post: Any, scenario: str) -> list[str]:
    """The campaign file's provenance comment for an installed posterior (lines of at most
    90 characters, the reproducing command on its own lines)."""
    import textwrap

    p = post.provenance
    settings = p.get("settings") or {}
    digest = str(p.get("data_sha256", ""))[:8]
    text = (f"Calibrated {p['date']}: the values marked \"posterior median\" are the medians "
            f"of an ABC-SMC posterior (pyABC; {settings.get('population')} particles, "
            f"{p['generations']} generations, {p.get('replicates')} replicates per particle, "
            f"{p.get('runs')} campaign runs, final epsilon {p['final_epsilon']:.3f}) fitted to "
            f"examples/{p['data']} (SHA-256 {digest}...) up to {p.get('end')}, with every "
            "engagement mechanic of docs/model.md on. Reproduce with")
    command = textwrap.wrap(str(p["command"]), 84, break_on_hyphens=False)
    tail = (f"The posterior itself is posteriors/{scenario}.yaml (provenance block inside): "
            f"`dronefront campaign {scenario} --posterior` runs draws from it instead of this "
            "point.")
    return [*textwrap.wrap(text, 88, break_on_hyphens=False),
            *(f"  {line}" + (" \\" if i < len(command) - 1 else "")
              for i, line in enumerate(command)),
            *textwrap.wrap(tail, 88, break_on_hyphens=False)]


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
            "calibration": e.key[:16], "command": command,
            "replicates": e.spec.get("replicates"),
            "runs": (int(generations["simulations"].sum())  # runs: replicates included
                     if "simulations" in generations else None),
            "end": (e.spec.get("overrides") or {}).get("end")}


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
        text = edit_values(target.read_text(encoding="utf-8"), post.medians())
        written.append(write_text(target, provenance_comment(text, header_lines(post,
                                                                                scenario))))
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
