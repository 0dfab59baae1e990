"""Terrain raster: class per cell, with concealment, cover and movement looked up per point."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import NamedTuple

import numba as nb
import numpy as np

from dronefront.engine.geometry import points_in_polygon
from dronefront.errors import UserError
from dronefront.limits import check_file_size
from dronefront.scenario.models import Terrain


@dataclass(frozen=True)
class TerrainRaster:
    """Class index per cell (row 0 at ``y0``) and per-class effect tables."""

    x0: float
    y0: float
    cell: float
    classes: tuple[str, ...]
    grid: np.ndarray  # (ny, nx) int8 class index
    concealment: np.ndarray  # per class
    cover: np.ndarray
    movement: np.ndarray
    default: int

    def lookup(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Class index at each point; points off the raster get the default class."""
        return _lookup(tuple(Ground.of(self)), np.asarray(x, np.float64).ravel(),
                       np.asarray(y, np.float64).ravel()).reshape(np.shape(x))


class Ground(NamedTuple):
    """Kernel view of a raster for class lookups (the raster's own grid and origin)."""

    grid: np.ndarray  # int8 (ny, nx) class index, row 0 at y0
    x0: float  # m
    y0: float  # m
    cell: float  # m
    default: int  # class off the raster

    @classmethod
    def of(cls, raster: TerrainRaster) -> Ground:
        return cls(raster.grid, raster.x0, raster.y0, raster.cell, raster.default)


@nb.njit(inline="always", cache=True)
def raster_cell(x, y, x0, y0, cell, nx, ny):
    """``(row, column)`` of the raster cell under ``(x, y)``; ``(-1, -1)`` off the raster.

    The class there is ``grid[row, col]``, else the default class. Scalars only: a helper
    handed the grid would cost a reference-count pair per call.
    """
    cx = int(np.floor((x - x0) / cell))
    cy = int(np.floor((y - y0) / cell))
    if 0 <= cx < nx and 0 <= cy < ny:
        return cy, cx
    return -1, -1


@nb.njit(cache=True)
def _lookup(ground, x, y):
    t = Ground(*ground)
    grid = t.grid
    ny, nx = grid.shape
    out = np.empty(x.shape[0], np.int8)
    for i in range(x.shape[0]):
        cy, cx = raster_cell(x[i], y[i], t.x0, t.y0, t.cell, nx, ny)
        out[i] = grid[cy, cx] if cy >= 0 else t.default
    return out


def rasterize(terrain: Terrain) -> TerrainRaster:
    """Paint the terrain's features (in order) over its default class."""
    table = terrain.all_classes()
    names = tuple(table)
    index = {name: i for i, name in enumerate(names)}
    x0, y0, x1, y1 = terrain.bounds
    cell = terrain.cell_size
    nx = max(1, int(np.ceil((x1 - x0) / cell)))
    ny = max(1, int(np.ceil((y1 - y0) / cell)))
    if nx * ny > 50_000_000:
        raise UserError(
            f"terrain raster of {nx}x{ny} cells is too large; raise cell_size",
            field="terrain.cell_size",
        )
    grid = np.full((ny, nx), index[terrain.default], np.int8)
    if terrain.raster_file:
        grid = _read_raster(terrain.raster_file, index, grid.shape)
    cx = x0 + (np.arange(nx) + 0.5) * cell
    cy = y0 + (np.arange(ny) + 0.5) * cell
    for feature in terrain.features:
        if feature.rect is not None:
            fx0, fy0, fx1, fy1 = feature.rect
            cols = (cx >= min(fx0, fx1)) & (cx < max(fx0, fx1))
            rows = (cy >= min(fy0, fy1)) & (cy < max(fy0, fy1))
            grid[np.ix_(rows, cols)] = index[feature.terrain]
        else:
            px, py = np.meshgrid(cx, cy)
            grid[points_in_polygon(px, py, feature.polygon)] = index[feature.terrain]
    return TerrainRaster(
        x0=x0, y0=y0, cell=cell, classes=names, grid=grid,
        concealment=np.array([table[n].concealment for n in names]),
        cover=np.array([table[n].cover for n in names]),
        movement=np.array([table[n].movement for n in names]),
        default=index[terrain.default],
    )


def _read_raster(path: str, index: dict[str, int], shape: tuple[int, int]) -> np.ndarray:
    """Read a CSV of class names; errors say what was expected, never what the file holds."""
    at = {"file": path, "field": "terrain.raster_file"}
    expected = f"a CSV of terrain class names, {shape[0]} rows x {shape[1]} columns"
    check_file_size(path, path, "input_bytes", field="terrain.raster_file")
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = [[c.strip() for c in row] for row in csv.reader(handle) if row]
    except FileNotFoundError:
        raise UserError("raster file not found", **at) from None
    except (UnicodeDecodeError, csv.Error):
        raise UserError(f"not a raster (expected {expected}): binary or malformed file",
                        **at) from None
    except OSError as exc:
        raise UserError(f"cannot read raster: {exc.strerror or exc.__class__.__name__}",
                        **at) from None
    if len(rows) != shape[0] or any(len(r) != shape[1] for r in rows):
        found = f"{len(rows)} rows" + (f" of {len(rows[0])} columns" if rows else "")
        raise UserError(f"not a raster to fit bounds/cell_size (expected {expected}, found "
                        f"{found})", **at)
    grid = np.empty(shape, np.int8)
    for r, row in enumerate(rows):
        for c, name in enumerate(row):
            if name not in index:
                raise UserError(
                    f"column {c + 1} is not a terrain class (known: {', '.join(index)})",
                    file=path, line=r + 1, field="terrain.raster_file",
                )
            grid[shape[0] - 1 - r, c] = index[name]
    return grid


def points_in_area(
    x: np.ndarray, y: np.ndarray, rect: tuple | None, polygon: list | None
) -> np.ndarray:
    """Whether each point lies in a rectangle (x0, y0, x1, y1) or a polygon."""
    if rect is not None:
        x0, y0, x1, y1 = rect
        return (x >= min(x0, x1)) & (x <= max(x0, x1)) & (y >= min(y0, y1)) & (y <= max(y0, y1))
    return points_in_polygon(x, y, polygon)
