"""Load scenario files: YAML with line numbers, ``--set`` overrides, ``=expr`` fields.

Every mistake a user can make here becomes a :class:`~dronefront.errors.UserError` naming
the file, the line (where known) and the dotted field path.
"""

from __future__ import annotations

import ast
import difflib
import math
import operator
import re
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from dronefront.arguments import check_overrides, check_source
from dronefront.errors import UserError
from dronefront.io.jsonable import tree_copy
from dronefront.io.paths import inside, looks_like_file, text_problem
from dronefront.limits import check_file_size, check_yaml_events
from dronefront.scenario.models import DEFAULT_DRONE_TYPES, Scenario

BUILTIN_DIR = Path(__file__).parent / "builtin"
_INDEX = re.compile(r"-?[0-9]+")
MAX_EXPRESSION = 200
Lines = dict[tuple, int]
#: Only where DRONEFRONT_LIMITS raises yaml_depth past what the interpreter's stack holds.
TOO_DEEP = "YAML nested too deeply for the parser (lower yaml_depth in DRONEFRONT_LIMITS)"


# --------------------------------------------------------------------------- YAML
def parse_yaml(text: str, file: str) -> tuple[Any, Lines]:
    """Parse YAML text into plain data plus a map from field path to 1-based line.

    >>> data, lines = parse_yaml("a:\\n  b: [1, 2]\\n", "x.yaml")
    >>> data, lines[("a", "b")]
    ({'a': {'b': [1, 2]}}, 2)
    """
    loader = None
    try:
        check_yaml_events(text, file)  # size, depth, aliases: before the recursive composer
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
    except yaml.YAMLError as exc:
        raise UserError(f"invalid YAML: {_yaml_problem(exc)}", file=file,
                        line=_yaml_line(exc, text)) from None
    except RecursionError:
        raise UserError(TOO_DEEP, file=file) from None
    finally:
        if loader is not None:
            loader.dispose()
    lines: Lines = {}
    if node is None:
        return None, lines
    active: set[int] = set()

    def walk(n: yaml.Node, path: tuple) -> Any:
        lines.setdefault(path, n.start_mark.line + 1)
        if id(n) in active:
            raise UserError("recursive YAML alias", file=file, line=n.start_mark.line + 1,
                            field=_dotted(path) or None)
        if isinstance(n, yaml.MappingNode):
            active.add(id(n))
            out: dict = {}
            for key_node, value_node in n.value:
                key = _scalar(loader, key_node, file)
                if not isinstance(key, str | int | float | bool):
                    raise UserError(
                        "mapping keys must be plain scalars",
                        file=file, line=key_node.start_mark.line + 1,
                    )
                if key in out:
                    raise UserError(
                        "duplicate key", file=file, line=key_node.start_mark.line + 1,
                        field=_dotted((*path, key)),
                    )
                lines[(*path, key)] = key_node.start_mark.line + 1
                out[key] = walk(value_node, (*path, key))
            active.discard(id(n))
            return out
        if isinstance(n, yaml.SequenceNode):
            active.add(id(n))
            items = [walk(item, (*path, i)) for i, item in enumerate(n.value)]
            active.discard(id(n))
            return items
        return _scalar(loader, n, file, field=_dotted(path) or None)

    try:
        return walk(node, ()), lines
    except RecursionError:
        raise UserError(TOO_DEEP, file=file) from None


def _scalar(loader: yaml.SafeLoader, node: yaml.Node, file: str, field: str | None = None
            ) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise UserError("mapping keys must be plain scalars", file=file,
                        line=node.start_mark.line + 1)
    try:
        return loader.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        problem = _yaml_problem(exc) if isinstance(exc, yaml.YAMLError) else str(exc)
        raise UserError(f"invalid YAML value: {problem}", file=file,
                        line=node.start_mark.line + 1, field=field) from None


def _yaml_problem(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    return f"{context}: {problem}" if context else str(problem)


def _yaml_line(exc: yaml.YAMLError, text: str) -> int | None:
    if isinstance(exc, yaml.reader.ReaderError):
        return text[: exc.position].count("\n") + 1
    problem = getattr(exc, "problem_mark", None)
    context = getattr(exc, "context_mark", None)
    # An unclosed quote or bracket is found at the end of the file; where it opened helps.
    if context is not None and (problem is None or "end of stream" in str(
            getattr(exc, "problem", ""))):
        return context.line + 1
    if problem is not None:
        return problem.line + 1
    return None


def parse_value(raw: str, file: str) -> Any:
    """A ``--set`` value: YAML if it parses, else the plain string."""
    if not raw.strip():
        return None
    try:
        return parse_yaml(raw, file)[0]
    except UserError as exc:
        if "recursive" in exc.message or "value" in exc.message:
            raise UserError(exc.message, file=file) from None
        return raw


def _dotted(path: Iterable) -> str:
    return ".".join(str(p) for p in path)


# --------------------------------------------------------------------------- overrides
def apply_override(data: dict, assignment: str, file: str = "--set") -> None:
    """Apply one ``PATH=VALUE`` override in place; VALUE is parsed as YAML.

    >>> d = {"a": {"b": [1, {"c": 2}]}}
    >>> apply_override(d, "a.b.1.c=5"); d
    {'a': {'b': [1, {'c': 5}]}}
    """
    if "=" not in assignment:
        raise UserError(f"expected PATH=VALUE, got {assignment!r}", file=file)
    path_text, _, raw = assignment.partition("=")
    try:
        value = parse_value(raw, file)
    except UserError as exc:
        raise UserError(exc.message, file=file, field=path_text.strip()) from None
    set_path(data, path_text, value, file=file)


def set_path(data: dict, dotted: str, value: Any, file: str) -> None:
    """Set the field at a dotted path (list items by index), creating mappings as needed."""
    path = [p for p in str(dotted).strip().split(".") if p]
    if not path:
        raise UserError(f"empty field path {dotted!r}", file=file)
    _builtin_type(data, path)
    node: Any = data
    for depth, key in enumerate(path):
        last = depth == len(path) - 1
        where = _dotted(path[: depth + 1])
        if isinstance(node, list):
            if not _INDEX.fullmatch(key):
                raise UserError(f"list index expected, got {key!r}", file=file, field=where)
            index = int(key)
            if not -len(node) <= index < len(node):
                raise UserError(
                    f"index {index} out of range (list has {len(node)} items)",
                    file=file, field=where,
                )
            if last:
                node[index] = value
            else:
                node = node[index]
        elif isinstance(node, dict):
            if last:
                node[key] = value
            else:
                node = node.setdefault(key, {})
        else:
            raise UserError(
                f"cannot set a field inside a {type(node).__name__}", file=file, field=where
            )


def _builtin_type(data: dict, path: list[str]) -> None:
    """A field of a built-in drone type the file does not declare (``drone_types.bomber.
    lethality.0.kill``) changes a copy of the built-in definition, so nested fields exist."""
    from dronefront.scenario.models import DEFAULT_DRONE_TYPES

    if len(path) < 3 or path[0] != "drone_types" or path[1] not in DEFAULT_DRONE_TYPES:
        return
    types = data.get("drone_types")
    if types is None:
        types = data["drone_types"] = {}
    if isinstance(types, dict) and path[1] not in types:
        types[path[1]] = DEFAULT_DRONE_TYPES[path[1]].model_dump(mode="json")


# --------------------------------------------------------------------------- expressions
def _power(base: float, exponent: float) -> float:
    if abs(exponent) > 64:
        raise ValueError("exponent too large")
    return float(base) ** exponent


_BINOPS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: _power,
}
_FUNCS = {
    "min": min, "max": max, "abs": abs, "round": round, "int": int, "float": float,
    "ceil": math.ceil, "floor": math.floor, "sqrt": math.sqrt,
}


def evaluate(expression: str, names: Mapping[str, float]) -> float:
    """Evaluate a safe arithmetic expression over named parameters.

    >>> evaluate("max(1, N // 100)", {"N": 3000})
    30
    >>> evaluate("50 * ceil(sqrt(N / 30)) / 2", {"N": 3000})
    250.0
    """

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in names:
                raise ValueError(f"unknown parameter {node.id!r}; known: {sorted(names)}")
            return names[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            value = ev(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in _FUNCS and not node.keywords
        ):
            return _FUNCS[node.func.id](*(ev(a) for a in node.args))
        raise ValueError(f"unsupported expression element {ast.dump(node)[:40]}")

    if len(expression) > MAX_EXPRESSION:
        raise ValueError(f"expression longer than {MAX_EXPRESSION} characters")
    try:
        return ev(ast.parse(expression.strip(), mode="eval"))
    except (SyntaxError, ValueError, TypeError, ZeroDivisionError, OverflowError,
            RecursionError, MemoryError) as exc:
        raise ValueError(f"bad expression {expression[:40]!r}: {exc}") from None


def _resolve_expressions(data: Any, names: Mapping[str, float], path: tuple = ()) -> Any:
    if isinstance(data, dict):
        return {k: _resolve_expressions(v, names, (*path, k)) for k, v in data.items()}
    if isinstance(data, list):
        return [_resolve_expressions(v, names, (*path, i)) for i, v in enumerate(data)]
    if isinstance(data, str) and data.startswith("="):
        try:
            value = evaluate(data[1:], names)
        except ValueError as exc:
            raise _PathError(path, str(exc)) from None
        return int(value) if isinstance(value, float) and value.is_integer() else value
    return data


class _PathError(Exception):
    def __init__(self, path: tuple, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def _inherit_drone_types(data: dict) -> None:
    """Expand ``base: NAME`` in declared drone types into full definitions (any order)."""
    declared = data.get("drone_types")
    if not isinstance(declared, dict):
        return
    pending = {name for name, spec in declared.items() if isinstance(spec, dict) and "base" in spec}
    while pending:
        progressed = False
        for name in sorted(pending, key=str):
            spec = declared[name]
            base = spec["base"]
            if not isinstance(base, str):
                raise _PathError(("drone_types", name, "base"), "must be a drone type name")
            if base in pending and base != name:
                continue  # expand the base first
            parent = declared.get(base) if base != name else None
            if isinstance(parent, dict):
                merged = dict(parent)
            elif base in DEFAULT_DRONE_TYPES:
                merged = DEFAULT_DRONE_TYPES[base].model_dump()
            else:
                known = sorted({*DEFAULT_DRONE_TYPES, *map(str, declared)})
                raise _PathError(
                    ("drone_types", name, "base"), f"unknown base {base!r}; known: {known}"
                )
            merged.update({k: v for k, v in spec.items() if k != "base"})
            declared[name] = merged
            pending.discard(name)
            progressed = True
        if not progressed:
            name = sorted(pending, key=str)[0]
            raise _PathError(("drone_types", name, "base"), "circular drone type bases")


# --------------------------------------------------------------------------- validation
def model_at(path: tuple, root: type[BaseModel] = Scenario) -> type[BaseModel] | None:
    """The pydantic model class that validates the mapping at ``path``, if any."""
    annotation: Any = root
    for key in path:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(key))
            if field is None:
                return None
            annotation = field.annotation
        else:
            args = typing.get_args(annotation)
            origin = typing.get_origin(annotation)
            if origin is list and args:
                annotation = args[0]
            elif origin is dict and len(args) == 2:
                annotation = args[1]
            else:
                return None
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
                return models[0] if len(models) == 1 else annotation
            annotation = args[0]
        else:
            return annotation


def line_for(path: tuple, lines: Lines) -> int | None:
    for cut in range(len(path), -1, -1):
        if path[:cut] in lines:
            return lines[path[:cut]]
    return None


def explain_error(error: Mapping[str, Any], root: type[BaseModel]) -> tuple[tuple, str]:
    """The field path and the one-line message of one pydantic error of a ``root`` model.

    An unknown field gets a "did you mean" and the valid names; a scalar input is quoted. A
    validator may name the field itself by starting its message with a dotted path
    (``"sides.attacker.units.0.drone: unknown drone type"``): relative to the model that
    raised it when its first part is a field of that model, else from the root. Under
    ``factors`` and ``parameters``, whose keys hold dots, the rest of the path is one key.
    """
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    kind = error["type"]
    if kind == "extra_forbidden":
        model = model_at(loc[:-1], root)
        names = list(model.model_fields) if model else []
        close = difflib.get_close_matches(str(loc[-1]), names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return loc, f"unknown field {loc[-1]!r}{hint} (valid: {', '.join(names)})"
    message = error["msg"].removeprefix("Value error, ")
    scalar_input = "input" in error and not isinstance(error["input"], dict | list)
    if scalar_input and kind != "missing":
        message += f" (got {error['input']!r})"
    head, sep, rest = message.partition(": ")
    if not (sep and head and " " not in head):
        return loc, message
    parts = head.split(".")
    path = tuple(int(p) if p.isdigit() else p for p in parts)
    here = model_at(loc, root)
    if here is not None and here is not root and parts[0] in here.model_fields:
        return (*loc, *path), rest
    if parts[0] in root.model_fields:
        if parts[0] in ("factors", "parameters") and len(parts) > 1:
            return (parts[0], head.partition(".")[2]), rest
        return path, rest
    if all(part.isidentifier() or part.isdigit() for part in parts):
        return (*loc, *path), rest
    return loc, message


def _with_parameters(data: dict, file: str, lines: Lines) -> dict:
    """Resolve ``parameters`` and every ``=expr`` field; expand drone type bases."""
    try:
        params = data.get("parameters") or {}
        if not isinstance(params, dict):
            raise _PathError(("parameters",), "must be a mapping of names to numbers")
        names: dict[str, float] = {}
        for key, value in params.items():
            resolved = _resolve_expressions(value, names, ("parameters", key))
            if not isinstance(resolved, int | float) or isinstance(resolved, bool):
                raise _PathError(("parameters", key), f"must be a number (got {value!r})")
            names[str(key)] = resolved
        data = _resolve_expressions(data, names)
        data["parameters"] = names
        _inherit_drone_types(data)
    except _PathError as exc:
        raise UserError(
            exc.message, file=file, line=line_for(exc.path, lines), field=_dotted(exc.path)
        ) from None
    return data


def validate(
    data: Any, *, file: str, lines: Lines | None = None, model: type[BaseModel] = Scenario
) -> Any:
    """Validate plain data as ``model`` (a :class:`Scenario` by default).

    Errors become one-line :class:`UserError` s naming the file, line and field path.
    """
    lines = lines or {}
    if not isinstance(data, dict):
        raise UserError("a scenario must be a YAML mapping", file=file, line=1)
    kind = data.get("kind", "engagement")
    expected = model.model_fields["kind"].default if "kind" in model.model_fields else "engagement"
    if kind != expected:
        raise UserError(
            f"this is a {kind} file, where {expected} was expected"
            if kind in ("campaign", "engagement") else f"unknown kind {kind!r}",
            file=file, line=lines.get(("kind",)), field="kind",
        )
    data = tree_copy(data)
    if "parameters" in model.model_fields:
        data = _with_parameters(data, file, lines)
    if "kind" not in model.model_fields:
        data.pop("kind", None)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        loc, message = explain_error(exc.errors()[0], model)
        raise UserError(
            message, file=file, line=line_for(loc, lines), field=_dotted(loc) or None
        ) from None


# --------------------------------------------------------------------------- entry points
def builtin_names() -> list[str]:
    """Names of the scenarios shipped with the package."""
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def scenario_ref(ref: str, base_dir: Path, *, file: str | None = None,
                 line: int | None = None, field: str | None = None) -> Path | str:
    """A scenario reference inside a file: a contained path, or a built-in name (as is).

    A path must name an existing file; a name must be a built-in scenario.
    """
    text = str(ref)
    if not looks_like_file(text) and "\0" not in text:
        beside = Path(base_dir) / text
        if not beside.is_file():
            if (BUILTIN_DIR / f"{text}.yaml").is_file():
                return text
            import difflib

            names = builtin_names()
            close = difflib.get_close_matches(text, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UserError(f"unknown scenario {text[:80]!r}{hint} (built-in: "
                            f"{', '.join(names)}; a file needs a .yaml suffix or a '/')",
                            file=file, line=line, field=field)
    path = inside(text, base_dir, file=file, line=line, field=field)
    if not path.is_file():
        raise UserError(f"no such scenario file {text[:200]!r} (relative to "
                        f"{Path(base_dir)})", file=file, line=line, field=field)
    return path


def resolve_path(path_or_name: str | Path) -> Path:
    """A scenario file path from a path or a built-in name."""
    candidate = Path(path_or_name)
    try:
        if candidate.suffix in (".yaml", ".yml") or candidate.exists():
            if not candidate.is_file():
                raise UserError("no such scenario file", file=str(path_or_name)[:200])
            return candidate
        builtin = BUILTIN_DIR / f"{path_or_name}.yaml"
        if builtin.is_file():
            return builtin
    except OSError as exc:
        raise UserError(f"cannot open: {exc.strerror}", file=str(path_or_name)[:200]) from None
    names = builtin_names()
    close = difflib.get_close_matches(str(path_or_name), names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise UserError(
        f"unknown scenario {str(path_or_name)!r}{hint} (built-in: {', '.join(names)})"
    )


def load_raw(path_or_name: str | Path, _depth: int = 0) -> tuple[dict, Lines, str]:
    """Read a scenario file as plain data with its line map and display name.

    A file may start from another with ``extends: NAME_OR_PATH`` and change it with
    ``overrides: {dotted.path: value}``; its other top-level keys replace the base's.
    """
    path = resolve_path(path_or_name)
    display = str(path_or_name) if path.parent != BUILTIN_DIR else f"{path.stem} (built-in)"
    check_file_size(path, display)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read file: {exc.__class__.__name__}", file=display) from None
    data, lines = _parse_cached(text, display)
    if not isinstance(data, dict):
        raise UserError("a scenario must be a YAML mapping", file=display, line=1)
    _own_paths(data, lines, path.parent, display)
    _own_lessons(data, lines, path.parent, display)
    if "extends" in data:
        data, lines = _extend(data, lines, path, display, _depth)
    return data, lines, display


#: Parsed files by (display name, text, DRONEFRONT_LIMITS): a campaign reads its engagement
#: template on every run, and a worker process runs many campaigns (an experiment or a
#: calibration), where parsing the YAML again cost ~30 ms a run.
_PARSED: dict[tuple[str, str, str], tuple[Any, Lines]] = {}
_PARSED_MAX = 32


def _parse_cached(text: str, display: str) -> tuple[Any, Lines]:
    """:func:`parse_yaml`, remembered for the same text: a private copy each call (the
    callers change the data in place), errors raised anew each time (never cached)."""
    import os

    from dronefront.limits import ENV

    key = (display, text, os.environ.get(ENV, ""))
    hit = _PARSED.get(key)
    if hit is None:
        hit = parse_yaml(text, display)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.pop(next(iter(_PARSED)))
        _PARSED[key] = hit
    return tree_copy(hit[0]), dict(hit[1])


def _own_paths(data: dict, lines: Lines, folder: Path, display: str) -> None:
    """Resolve the paths this file itself writes (not those of a base it extends, which
    were resolved against the base's own folder) inside ``folder``, in place."""
    overrides = data.get("overrides") if isinstance(data.get("overrides"), dict) else {}
    spots: list[tuple[dict, str, tuple]] = [(data, "engagement", ("engagement",)),
                                            (overrides, "engagement", ("overrides", "engagement"))]
    for holder, key, loc in ((data, "terrain", ("terrain",)),
                             (overrides, "terrain", ("overrides", "terrain"))):
        if isinstance(holder.get(key), dict):
            spots.append((holder[key], "raster_file", (*loc, "raster_file")))
    spots.append((overrides, "terrain.raster_file", ("overrides", "terrain.raster_file")))
    template = data.get("engagement_overrides")  # a campaign's changes to its template
    if isinstance(template, dict):
        spots.append((template, "terrain.raster_file",
                      ("engagement_overrides", "terrain.raster_file")))
    for holder, key, loc in spots:
        value = holder.get(key)
        if not isinstance(value, str):
            continue
        at = {"file": display, "line": line_for(loc, lines),
              "field": "terrain.raster_file" if "raster" in key else "engagement"}
        if at["field"] == "engagement":
            holder[key] = str(scenario_ref(value, folder, **at))
        else:
            holder[key] = str(check_raster(inside(value, folder, **at), **at))


def _own_lessons(data: dict, lines: Lines, folder: Path, display: str) -> None:
    """A ``lessons`` file (``lessons: FILE`` or ``lessons: {file: FILE}``) resolved inside
    ``folder``; a missing one is reported on load (its content when a run reads it)."""
    lessons = data.get("lessons")
    holder, key, loc = ((data, "lessons", ("lessons",)) if isinstance(lessons, str) else
                        (lessons, "file", ("lessons", "file")) if isinstance(lessons, dict)
                        else (None, "", ()))
    if holder is None or not isinstance(holder.get(key), str):
        return
    at = {"file": display, "line": line_for(loc, lines), "field": ".".join(loc)}
    path = inside(holder[key], folder, **at)
    if not path.is_file():
        raise UserError(f"lessons file not found: {_short(path)}", **at)
    holder[key] = str(path)


def check_raster(raster: Path, *, file: str | None = None, line: int | None = None,
                 field: str | None = "terrain.raster_file") -> Path:
    """``raster`` if it is a readable text file; otherwise a UserError saying what it is.

    The message says what was expected and what was found, never the file's content.
    """
    problem = text_problem(raster)
    if problem == "no such file":
        raise UserError(f"raster file not found: {_short(raster)}", file=file, line=line,
                        field=field)
    if problem is not None:
        raise UserError(f"not a raster (expected a CSV of terrain class names): {problem}: "
                        f"{_short(raster)}", file=file, line=line, field=field)
    return raster.resolve()


def _short(path: Path) -> str:
    return str(path)[-200:]


def load_scenario(
    path_or_name: str | Path | Scenario,
    overrides: Iterable[str] | Mapping[str, Any] | None = None,
) -> Scenario:
    """Load a built-in scenario by name or a YAML file, with optional overrides.

    Overrides are a list of ``"dotted.path=value"`` strings (as on the command line) or a
    mapping from dotted path to value; they are validated exactly like the file. Arguments
    of the wrong type (a lone string of overrides, a number for the name) raise UserError.

    >>> s = load_scenario("reference-open-field", ["parameters.N=300"])
    >>> s.sides.attacker.units[0].count
    300
    """
    check_source(path_or_name, Scenario, "scenario")
    assignments = _assignments(overrides)
    if isinstance(path_or_name, Scenario):
        if not assignments:
            return path_or_name
        data, lines, display = path_or_name.model_dump(mode="json"), {}, path_or_name.name
    else:
        data, lines, display = load_raw(path_or_name)
    for assignment in assignments:
        apply_override(data, assignment, file=f"--set {assignment}")
    _check_set_raster(data, assignments)
    try:
        return validate(data, file=display, lines=lines)
    except UserError as exc:
        if assignments and exc.field and _touches(exc.field, assignments):
            raise UserError(exc.message, file="--set", field=exc.field) from None
        raise


def _check_set_raster(data: dict, assignments: list[str]) -> None:
    """A raster named by ``--set`` is typed by the user: relative to the current folder, but
    checked like one named in a file."""
    touched = [a for a in assignments if _touches("terrain.raster_file", [a])]
    terrain = data.get("terrain")
    if touched and isinstance(terrain, dict) and isinstance(terrain.get("raster_file"), str):
        raster = check_raster(Path(terrain["raster_file"]), file=f"--set {touched[-1]}"[:240])
        terrain["raster_file"] = str(raster)


def _extend(data: dict, lines: Lines, path: Path, display: str, depth: int) -> tuple[dict, Lines]:
    base_ref = data.pop("extends")
    overrides = data.pop("overrides", None) or {}
    line = lines.get(("extends",))
    if depth > 8:
        raise UserError("extends chain too deep", file=display, line=line, field="extends")
    if not isinstance(base_ref, str):
        raise UserError("must be a scenario name or path", file=display, line=line,
                        field="extends")
    try:
        ref = scenario_ref(base_ref, path.parent, file=display, line=line, field="extends")
        base, _, _ = load_raw(ref if isinstance(ref, Path) else BUILTIN_DIR / f"{ref}.yaml",
                              depth + 1)
    except UserError as exc:
        raise UserError(exc.message, file=display, line=line, field="extends") from None
    if not isinstance(overrides, dict):
        raise UserError("must be a mapping of dotted paths to values", file=display,
                        line=lines.get(("overrides",)), field="overrides")
    for dotted, value in overrides.items():
        try:
            set_path(base, str(dotted), value, file=display)
        except UserError as exc:
            raise UserError(exc.message, file=display, line=lines.get(("overrides", dotted)),
                            field=f"overrides.{dotted}") from None
    base.update(data)
    merged_lines = {k: v for k, v in lines.items() if k and k[0] not in ("overrides",)}
    for dotted in overrides:
        parts = tuple(int(p) if p.isdigit() else p for p in str(dotted).split("."))
        merged_lines[parts] = lines.get(("overrides", dotted), 1)
    return base, merged_lines


def _assignments(overrides: Iterable[str] | Mapping[str, Any] | None) -> list[str]:
    return check_overrides(overrides)


def _touches(field: str, assignments: list[str]) -> bool:
    for assignment in assignments:
        path = assignment.partition("=")[0].strip()
        if field == path or field.startswith(path + ".") or path.startswith(field + "."):
            return True
    return False
