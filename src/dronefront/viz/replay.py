"""A self-contained HTML replay of one engagement.

The page carries everything: its own vanilla JavaScript and CSS (``viz/static``) and the
recorded data, packed into one binary blob (little-endian arrays, each 8-byte aligned),
compressed with zlib and base64-encoded. The browser inflates it with
``DecompressionStream('deflate')``. Positions are quantised to int16 on a common grid
(``origin + q * scale``), stored as per-frame differences and split into low and high
byte planes, which deflate compresses well because soldiers move little between frames.
Statuses and postures are stored as change lists (frame, soldier, new value).
"""

from __future__ import annotations

import base64
import html
import json
import re
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from dronefront.engine.state import DRONE_ROLES, POSTURES, ROLES
from dronefront.errors import UserError
from dronefront.io.jsonable import jsonable
from dronefront.scenario.models import SIDES
from dronefront.viz.data import (
    is_run_dir,
    read_json,
    scenario_from_manifest,
    seed_from_manifest,
)
from dronefront.viz.record import MAX_SOLDIERS, Recording, record_run

STATIC = Path(__file__).with_name("static")
VERSION = re.compile(r"\d[\w.+-]{0,30}")
#: Terrain rasters above this many cells are subsampled for display.
MAX_TERRAIN_CELLS = 4_000_000
#: How long a drone's track is drawn behind it, in simulated seconds.
TRACK_SECONDS = 60.0

SIDE_COLORS = {
    "attacker": ("#1f5fd6", "#86b4ff", "#14213d"),  # healthy, wounded, killed
    "defender": ("#d62728", "#ffa38f", "#4a1010"),
}
TERRAIN_COLORS = {
    "open": "#e9e5cc", "treeline": "#9fc27f", "forest": "#5f8f52", "village": "#c7b3a0",
    "trench": "#9c7b58", "road": "#a8a8a8",
}
EXTRA_TERRAIN_COLORS = ("#d9c7e8", "#c2dde8", "#e8d2c2", "#cfe8c2", "#e8e2c2")
DRONE_COLORS = {
    "isr_quad": "#17becf", "isr_fixed_wing": "#0d7f8c", "fpv_radio": "#ff7f0e",
    "fpv_fibre": "#b8860b", "bomber": "#9467bd", "loitering": "#e377c2",
}
EXTRA_DRONE_COLORS = ("#2ca02c", "#8c564b", "#7f7f7f", "#bcbd22", "#393b79", "#ad494a")
#: Event kinds drawn as flashes: code, colour, label, shape. Shapes: ``disc`` (a blast, the
#: size of its lethal radius; layer "blasts"), ``cross`` (a drone lost; layer "losses"),
#: ``ring``, ``triangle`` and ``square`` (markers of what the layers, autonomy and casualty
#: care did; layer "marks"). ``intercept_miss`` is an ``intercept`` event with value 0.
BLASTS = {
    "strike": (0, "#ff7f0e", "drone strike", "disc"),
    "bomb": (1, "#9467bd", "bomb", "disc"),
    "shell": (2, "#7a3b10", "artillery shell", "disc"),
    "shoot_down": (3, "#111111", "drone shot down", "cross"),
    "jam_loss": (4, "#555555", "drone lost to jamming", "cross"),
    "crash": (5, "#777777", "drone crashed", "cross"),
    "miss": (6, "#e377c2", "drone dive missed", "cross"),
    "failure": (7, "#999999", "drone sortie failed", "cross"),
    "intercept": (8, "#2ca02c", "drone downed by an interceptor", "cross"),
    "intercept_miss": (9, "#98df8a", "interceptor missed", "ring"),
    "autonomous": (10, "#bcbd22", "drone guiding itself (autonomous leg)", "triangle"),
    "misidentified": (11, "#d62728", "autonomous dive on the wrong target", "ring"),
    "rf_detection": (12, "#17becf", "RF detection of a drone or jammer", "ring"),
    "site_destroyed": (13, "#8c564b", "drone team or jammer destroyed", "square"),
    "evacuated": (14, "#1a9850", "casualty evacuated", "square"),
}


# --------------------------------------------------------------------------- public API
def build_replay(recording: Recording, *, title: str | None = None) -> str:
    """The replay page for a recording, as one HTML string."""
    meta, arrays = _encode(recording)
    by = recording.played_by
    played = f", played by {by.get('policy', '?')}" if by else ""
    meta["title"] = title or f"{recording.scenario.name} (seed {recording.seed}{played})"
    blob, specs = _pack(arrays)
    meta["arrays"] = specs
    data = base64.b64encode(zlib.compress(blob, 9)).decode("ascii")
    return _page(meta, data)


def write_replay(recording: Recording, out: str | Path, *, title: str | None = None) -> Path:
    """Write the replay page of ``recording`` to ``out`` atomically (missing folders are
    created); returns the path."""
    from dronefront.io.outputs import check_output, write_text

    out = check_output(out, "out", make_parents=True)
    return write_text(out, build_replay(recording, title=title), make_parents=True)


def record_from_run_dir(
    run_dir: str | Path, every: int = 1, *, max_soldiers: int = MAX_SOLDIERS,
    progress: Callable[[int, int], None] | None = None,
) -> Recording:
    """Re-simulate a run folder from its manifest and check it against its summary.

    Raises UserError when the folder is not a run folder or the re-simulated summary
    differs from ``summary.json`` (e.g. written by another engine version).
    """
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise UserError("no such run folder", file=str(run_dir))
    if not is_run_dir(run_dir):
        raise UserError("not a run folder (needs manifest.json and summary.json)",
                        file=str(run_dir))
    manifest_file = run_dir / "manifest.json"
    manifest = read_json(manifest_file)
    if not isinstance(manifest, dict):
        raise UserError("manifest must be a JSON object", file=str(manifest_file))
    scenario = scenario_from_manifest(manifest, str(manifest_file))
    seed = seed_from_manifest(manifest, str(manifest_file))
    stored = read_json(run_dir / "summary.json")
    played = manifest.get("played_by")
    sim = _played_sim(run_dir, played, scenario, seed) if played is not None else None
    recording = record_run(scenario, seed, every=every, max_soldiers=max_soldiers,
                           progress=progress, sim=sim)
    recording.played_by = played
    again = jsonable(recording.result.summary)
    if again != stored:
        where = _first_difference(again, stored) or "summary"
        raise UserError(
            f"re-simulating this run gives a different result at {where}, so a replay would "
            "not show this run (was it written by another engine version? it says dronefront "
            f"{_version(manifest, 'dronefront_version')}, numpy "
            f"{_version(manifest, 'numpy_version')}); re-run it, or use --scenario NAME "
            "--seed N",
            file=str(run_dir / "summary.json"),
        )
    return recording


def _played_sim(run_dir: Path, played: Any, scenario: Any, seed: int) -> Any:
    """The engine of a policy-played run, driven by its recorded orders (docs/rl.md)."""
    from dronefront.viz.data import actions_path, read_parquet

    file = str(run_dir / "manifest.json")
    if not isinstance(played, dict):
        raise UserError("must be a mapping (policy, control, batteries, decision_every, "
                        "actions)", file=file, field="played_by")
    every = played.get("decision_every")
    if not isinstance(every, int) or isinstance(every, bool) or every < 1:
        raise UserError("must be a whole number of steps >= 1", file=file,
                        field="played_by.decision_every")
    if not isinstance(played.get("batteries"), bool):
        raise UserError("must be true or false", file=file, field="played_by.batteries")
    table = read_parquet(actions_path(run_dir, played))
    from dronefront.rl.core import Engagement, Replayer

    engagement = Engagement(scenario, seed, control=played.get("control"),
                            decision_interval=every * scenario.dt,
                            batteries=played["batteries"], events=True)
    try:
        return Replayer(engagement, table)
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"not an actions table ({exc.__class__.__name__})",
                        file=str(run_dir / str(played["actions"]))) from None


def _version(manifest: dict[str, Any], key: str) -> str:
    """A version recorded in a manifest, shown only if it looks like one."""
    value = manifest.get(key)
    return value if isinstance(value, str) and VERSION.fullmatch(value) else "?"


def _first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """The first path where the re-simulated summary ``a`` and the stored ``b`` differ,
    named by ``a``'s own keys only (the stored file is not quoted)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(b) - set(a):
            return (path.lstrip(".") or "summary") + " (the stored summary has extra fields)"
        for key in sorted(a, key=str):
            if key not in b:
                return f"{path}.{key}".lstrip(".")
            found = _first_difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if a != b:
        return path.lstrip(".") or "summary"
    return None


# --------------------------------------------------------------------------- encoding
def _quantizer(recording: Recording) -> tuple[float, float, float, tuple[float, ...]]:
    """Origin (x, y), scale and the extent (x0, y0, x1, y1) that int16 positions cover."""
    sc = recording.scenario
    xs = [recording.x.ravel(), recording.drone_x[recording.drone_state == 1],
          recording.drone_x[0]]
    ys = [recording.y.ravel(), recording.drone_y[recording.drone_state == 1],
          recording.drone_y[0]]
    bx0, by0, bx1, by1 = sc.terrain.bounds
    jam = recording.result.state.jammers
    xs += [np.array([bx0, bx1]), jam.x]
    ys += [np.array([by0, by1]), jam.y]
    allx = np.concatenate([np.asarray(v, np.float64).ravel() for v in xs])
    ally = np.concatenate([np.asarray(v, np.float64).ravel() for v in ys])
    allx, ally = allx[np.isfinite(allx)], ally[np.isfinite(ally)]
    x0, x1, y0, y1 = allx.min(), allx.max(), ally.min(), ally.max()
    span = max(x1 - x0, y1 - y0, 1.0)
    scale = max(span / 64000.0, 1e-3)
    return (x0 + x1) / 2, (y0 + y1) / 2, scale, (x0, y0, x1, y1)


def _quantize(v: np.ndarray, origin: float, scale: float) -> np.ndarray:
    v = np.nan_to_num(np.asarray(v, np.float64), nan=origin)
    return np.clip(np.rint((v - origin) / scale), -32767, 32767).astype(np.int16)


def _delta16(q: np.ndarray) -> np.ndarray:
    """Per-frame differences (wrapping int16) split into low and high byte planes."""
    d = q.astype(np.int32)
    d[1:] -= q[:-1].astype(np.int32)
    d16 = d.astype(np.int16).ravel()
    planes = d16.astype("<i2").view(np.uint8).reshape(-1, 2)
    return np.concatenate([planes[:, 0], planes[:, 1]])


def _changes(values: np.ndarray, baseline: np.ndarray) -> tuple[np.ndarray, ...]:
    """(frame, column, value) wherever ``values[f]`` differs from the frame before."""
    prev = np.vstack([baseline[None, :], values[:-1]])
    frame, col = np.nonzero(values != prev)
    return (frame.astype(np.int32), col.astype(np.int32),
            values[frame, col].astype(np.int8))


def _palette(names: list[str], known: dict[str, str], extra: tuple[str, ...]) -> list[str]:
    out, k = [], 0
    for name in names:
        if name in known:
            out.append(known[name])
        else:
            out.append(extra[k % len(extra)])
            k += 1
    return out


def _encode(rec: Recording) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    result = rec.result
    state = result.state
    sc = rec.scenario
    ox, oy, scale, (qx0, qy0, qx1, qy1) = _quantizer(rec)
    arrays: dict[str, np.ndarray] = {}
    n_frames, n = rec.x.shape
    m = rec.drone_x.shape[1]

    arrays["frame_step"] = rec.steps.astype(np.int32)
    arrays["sx"] = _delta16(_quantize(rec.x, ox, scale))
    arrays["sy"] = _delta16(_quantize(rec.y, oy, scale))
    s = state.soldiers
    idx = rec.soldier_index
    arrays["s_side"] = s.side[idx].astype(np.int8)
    arrays["s_unit"] = s.unit[idx].astype(np.int32)
    arrays["s_platoon"] = s.platoon[idx].astype(np.int32)
    arrays["s_role"] = s.role[idx].astype(np.int8)
    arrays["s_index"] = idx.astype(np.int32)
    arrays["s_cause"] = s.cause[idx].astype(np.int16)
    arrays["st_frame"], arrays["st_soldier"], arrays["st_value"] = _changes(
        rec.status, np.zeros(n, np.int8))
    arrays["po_start"] = rec.posture[0].astype(np.int8)
    arrays["po_frame"], arrays["po_soldier"], arrays["po_value"] = _changes(
        rec.posture, rec.posture[0])

    flying = rec.drone_state == 1
    arrays["dx"] = _delta16(_quantize(rec.drone_x, ox, scale))
    arrays["dy"] = _delta16(_quantize(rec.drone_y, oy, scale))
    arrays["d_sortie"] = np.where(flying, rec.drone_sortie, -1).astype(np.int32).ravel()
    arrays["d_phase"] = rec.drone_phase.astype(np.int8).ravel()
    arrays["d_side"] = state.drones.side.astype(np.int8)
    arrays["d_type"] = state.drones.dtype.astype(np.int16)

    blasts = _blasts(rec)
    arrays.update(blasts)

    steps = sc.steps
    ts = result.timeseries
    counts = np.zeros((steps, 2, 4), np.int32)
    if ts.num_rows:
        row = np.asarray(ts.column("step").to_numpy(), np.int64)
        side = np.array([SIDES.index(v) for v in ts.column("side").to_pylist()])
        for k, col in enumerate(("healthy", "wounded", "killed", "drones_flying")):
            counts[row, side, k] = ts.column(col).to_numpy()
    arrays["series"] = counts.ravel()

    terrain = state.terrain
    grid = terrain.grid
    step = max(1, int(np.ceil(np.sqrt(grid.size / MAX_TERRAIN_CELLS))))
    grid = grid[::step, ::step]
    arrays["terrain"] = np.ascontiguousarray(grid.astype(np.uint8)).ravel()

    span = max(qx1 - qx0, qy1 - qy0)
    lim = (qx0 - 10 * span, qy0 - 10 * span, qx1 + 10 * span, qy1 + 10 * span)
    objectives = []
    for obj in sc.objectives:
        if obj.rect is not None:
            x0, y0, x1, y1 = obj.rect
            points = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        else:
            points = list(obj.polygon or [])
        points = [(float(np.clip(x, lim[0], lim[2])), float(np.clip(y, lim[1], lim[3])))
                  for x, y in points]
        objectives.append({"name": obj.name, "points": points})
    jammers = []
    for side_index, side_name in enumerate(SIDES):
        for j in getattr(sc.sides, side_name).jammers:
            jammers.append({"name": j.name, "side": side_index, "x": j.position[0],
                            "y": j.position[1], "radius": j.radius, "strength": j.strength,
                            "active": j.active})

    sx_all, sy_all = rec.x[np.isfinite(rec.x)], rec.y[np.isfinite(rec.y)]
    bx0, by0, bx1, by1 = sc.terrain.bounds
    view = [float(min(bx0, sx_all.min(initial=bx0))), float(min(by0, sy_all.min(initial=by0))),
            float(max(bx1, sx_all.max(initial=bx1))), float(max(by1, sy_all.max(initial=by1)))]
    type_names = list(state.types.names)
    initial = [int(np.count_nonzero(s.side == i)) for i in range(2)]
    meta: dict[str, Any] = {
        "format": 1,
        "scenario": sc.name,
        "seed": rec.seed,
        "dt": rec.dt,
        "steps": steps,
        "duration": steps * rec.dt,
        "every": rec.every,
        "frames": n_frames,
        "soldiers": n,
        "total_soldiers": rec.total_soldiers,
        "initial": initial,
        "drones": m,
        "origin": [ox, oy],
        "scale": scale,
        "view": view,
        "note": rec.note(),
        "track_seconds": TRACK_SECONDS,
        "terrain": {
            "x0": terrain.x0, "y0": terrain.y0, "cell": terrain.cell * step,
            "nx": int(grid.shape[1]), "ny": int(grid.shape[0]),
            "classes": list(terrain.classes),
            "colors": _palette(list(terrain.classes), TERRAIN_COLORS, EXTRA_TERRAIN_COLORS),
        },
        "objectives": objectives,
        "jammers": jammers,
        "sides": list(SIDES),
        "side_colors": [list(SIDE_COLORS[name]) for name in SIDES],
        "statuses": ["healthy", "wounded", "killed"],
        "postures": list(POSTURES),
        "roles": list(ROLES),
        "units": list(state.unit_names),
        "weapons": list(state.weapon_names),
        "drone_types": [
            {"name": name, "role": DRONE_ROLES[int(state.types.role[k])],
             "color": color, "link": "radio" if state.types.radio[k] else "fibre"}
            for k, (name, color) in enumerate(zip(
                type_names, _palette(type_names, DRONE_COLORS, EXTRA_DRONE_COLORS),
                strict=True))
        ],
        "phases": ["transit", "attack", "on station", "return"],
        "blast_kinds": [{"name": k, "color": c, "label": label, "shape": shape}
                        for k, (_, c, label, shape) in sorted(BLASTS.items(),
                                                              key=lambda i: i[1][0])],
    }
    return meta, arrays


def _blasts(rec: Recording) -> dict[str, np.ndarray]:
    """Strikes, bombs and shells (with lethal radius), drone losses and the markers of
    ``BLASTS``, by time."""
    state = rec.result.state
    ev = rec.result.events
    kinds = np.array(ev.column("kind").to_pylist(), dtype=object)
    value = ev.column("value").to_numpy(zero_copy_only=False)
    kinds[(kinds == "intercept") & (value == 0.0)] = "intercept_miss"
    keep = np.isin(kinds, list(BLASTS))
    names = list(state.weapon_names)
    weapon = np.array([names.index(w) if w in names else -1
                       for w in np.array(ev.column("weapon").to_pylist(), dtype=object)[keep]],
                      np.int16)
    kinds = kinds[keep]
    actor = ev.column("actor").to_numpy()[keep]
    radius = np.zeros(kinds.size, np.float32)
    n_types = len(state.types.names)
    type_reach = state.types.rings[:, :, 0].max(axis=1) if n_types else np.zeros(0)
    bat_reach = (state.batteries.rings[:, :, 0].max(axis=1)
                 if state.batteries.rings.shape[0] else np.zeros(0))
    for i, kind in enumerate(kinds):
        if kind in ("strike", "bomb") and 0 <= weapon[i] < n_types:
            radius[i] = type_reach[weapon[i]]
        elif kind == "shell" and 0 <= actor[i] < bat_reach.size:
            radius[i] = bat_reach[actor[i]]
    side = np.array([SIDES.index(v) if v in SIDES else -1
                     for v in np.array(ev.column("side").to_pylist(), dtype=object)[keep]],
                    np.int8)
    step = ev.column("step").to_numpy()[keep].astype(np.int32)
    order = np.argsort(step, kind="stable")
    return {
        "b_step": step[order],
        "b_kind": np.array([BLASTS[k][0] for k in kinds], np.int8)[order],
        "b_x": ev.column("x").to_numpy()[keep].astype(np.float32)[order],
        "b_y": ev.column("y").to_numpy()[keep].astype(np.float32)[order],
        "b_radius": radius[order],
        "b_weapon": weapon[order],
        "b_side": side[order],
    }


def _pack(arrays: dict[str, np.ndarray]) -> tuple[bytes, dict[str, dict[str, Any]]]:
    """Concatenate arrays (little-endian, 8-byte aligned); return bytes and their specs."""
    parts: list[bytes] = []
    specs: dict[str, dict[str, Any]] = {}
    offset = 0
    for name, arr in arrays.items():
        arr = np.ascontiguousarray(arr)
        dtype = arr.dtype.newbyteorder("<")
        raw = arr.astype(dtype, copy=False).tobytes()
        specs[name] = {"offset": offset, "length": int(arr.size), "dtype": arr.dtype.name}
        pad = (-len(raw)) % 8
        parts.append(raw + b"\0" * pad)
        offset += len(raw) + pad
    for name in ("sx", "sy", "dx", "dy"):
        specs[name]["dtype"] = "delta16"
        specs[name]["length"] //= 2
    return b"".join(parts), specs


def _page(meta: dict[str, Any], data: str) -> str:
    template = (STATIC / "replay.html").read_text(encoding="utf-8")
    values = {
        "TITLE": html.escape(meta["title"]),
        "CSS": (STATIC / "replay.css").read_text(encoding="utf-8"),
        "JS": (STATIC / "replay.js").read_text(encoding="utf-8"),
        "META": json.dumps(meta, allow_nan=False, separators=(",", ":")).replace("<", "\\u003c"),
        "DATA": data,
    }
    return re.sub(r"\{\{(TITLE|CSS|JS|META|DATA)\}\}", lambda mt: values[mt.group(1)], template)
