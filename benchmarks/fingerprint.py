"""Bit-for-bit fingerprint of the engine's output: a guard for refactors.

Hashes, for every built-in engagement scenario and seeds 1-3, the summary JSON, the time
series and the event table, plus a 10-day ``kursk-campaign`` run (its daily, doctrine and
engagements tables and its summary). Prints one SHA-256 per item, then the overall hash.
A refactor that claims identical results must leave every line unchanged. Usage::

    python benchmarks/fingerprint.py              # everything (a few minutes on one core)
    python benchmarks/fingerprint.py --quick      # seed 1 only, no campaign
    python benchmarks/fingerprint.py --expect HASH  # exit status 1 unless the overall matches
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time

import numpy as np
import pyarrow as pa

#: Overrides that keep the slow scenarios' runs short (the fingerprint needs coverage, not size).
OVERRIDES = {"reference-open-field": ["parameters.N=3000"]}
SEEDS = (1, 2, 3)


def table_bytes(table: pa.Table) -> bytes:
    """Canonical bytes of a table: each column's name, type and values, chunking ignored."""
    h = hashlib.sha256()
    h.update(str(table.num_rows).encode())
    for name in table.column_names:
        column = table.column(name).combine_chunks()
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        h.update(f"\0{name}\0{column.type}\0".encode())
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            h.update(json.dumps(column.to_pylist()).encode())
            continue
        values = column.to_numpy(zero_copy_only=False)
        h.update(np.ascontiguousarray(values).tobytes())
        h.update(np.asarray(column.is_null()).tobytes())
    return h.digest()


def json_bytes(data: object) -> bytes:
    """Canonical bytes of JSON-able data (floats by repr, keys sorted)."""
    return json.dumps(data, sort_keys=True, allow_nan=True).encode()


def digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def engagement_items(seeds: tuple[int, ...]):
    """(label, hash) for each built-in engagement scenario and seed."""
    import yaml

    from dronefront.engine.sim import Sim
    from dronefront.scenario.loader import BUILTIN_DIR, builtin_names, load_scenario

    for name in builtin_names():
        raw = yaml.safe_load((BUILTIN_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
        if raw.get("kind", "engagement") == "campaign":
            continue
        spec = load_scenario(name, OVERRIDES.get(name, []))
        for seed in seeds:
            result = Sim(spec, seed=seed).run()
            yield f"{name} seed={seed} summary", digest(json_bytes(result.summary))
            yield f"{name} seed={seed} timeseries", digest(table_bytes(result.timeseries))
            yield f"{name} seed={seed} events", digest(table_bytes(result.events))


def campaign_items():
    """(label, hash) for the 10-day kursk-campaign run."""
    from dronefront import run_campaign

    result = run_campaign("kursk-campaign", seed=1, days=10)
    for name in ("daily", "doctrine", "engagements"):
        yield f"kursk-campaign days=10 {name}", digest(table_bytes(getattr(result, name)))
    yield "kursk-campaign days=10 summary", digest(json_bytes(result.summary))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="seed 1 only, no campaign")
    parser.add_argument("--expect", help="the overall hash a refactor must reproduce")
    args = parser.parse_args()
    started = time.perf_counter()
    overall = hashlib.sha256()
    items = engagement_items((1,) if args.quick else SEEDS)
    for label, value in (*items, *(() if args.quick else campaign_items())):
        print(f"{value[:16]}  {label}", flush=True)
        overall.update(f"{label}={value}\n".encode())
    print(f"{overall.hexdigest()}  overall ({time.perf_counter() - started:.0f} s)")
    if args.expect and args.expect != overall.hexdigest():
        sys.exit(f"fingerprint differs from {args.expect}")


if __name__ == "__main__":
    main()
