"""Hostile-input-proof YAML reading that remembers where every node came from.

PyYAML's ``safe_load`` has three habits a reviewer of a consolidation would never notice:
it silently keeps the last of two duplicate keys, it expands aliases without bound (a
"billion laughs" document eats all memory) and YAML 1.1 reads ``NO`` (Norway) and ``off`` as
booleans. This module composes the node graph with the safe loader (no Python objects are ever
built from tags) and converts it itself, so that:

- duplicate keys are problems naming both locations;
- alias expansion is bounded by a node budget, and recursive aliases are refused;
- only ``true``/``false`` are booleans;
- every value and every key has a (line, column) by JSON path, for ``file:line:col`` messages.

It does no file I/O (``loading`` reads bytes) and knows nothing about manifest kinds.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

#: The most nodes one document may expand to (aliases included). Real manifests have a few
#: hundred; a billion-laughs document hits this within milliseconds.
MAX_NODES = 50_000
#: The deepest nesting we accept; real manifests nest five levels.
MAX_DEPTH = 64

PathKey = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader whose only booleans are true/false (YAML 1.2 core schema style)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


@dataclass(frozen=True, slots=True)
class Mark:
    line: int  # 1-based
    column: int  # 1-based


@dataclass(frozen=True, slots=True)
class YamlIssue:
    """A problem found while reading YAML, before any schema is applied."""

    mark: Mark
    path: PathKey
    message: str


@dataclass(slots=True)
class Document:
    """One YAML document: its plain value plus the marks of its values and keys."""

    data: Any
    index: int
    start: Mark
    values: dict[PathKey, Mark] = field(default_factory=dict)
    keys: dict[PathKey, Mark] = field(default_factory=dict)

    def mark(self, path: PathKey, *, key: bool = False) -> Mark:
        """Where the node at ``path`` (or its key, when ``key``) starts; the nearest enclosing
        node's mark when the path does not exist (e.g. a missing required property)."""
        table = self.keys if key else self.values
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), self.start)


class YamlError(Exception):
    """The text is not YAML we accept; ``issues`` says where and why."""

    def __init__(self, issues: list[YamlIssue]) -> None:
        self.issues = issues
        super().__init__("; ".join(i.message for i in issues))


def json_path(path: PathKey) -> str:
    """``('subscriptions', 1, 'quantity')`` -> ``$.subscriptions[1].quantity``."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", part):
            out += f".{part}"
        else:
            out += "[" + repr(part) + "]"
    return out


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


class _Converter:
    def __init__(self, loader: _Loader, doc: Document) -> None:
        self.loader = loader
        self.doc = doc
        self.budget = MAX_NODES
        self.issues: list[YamlIssue] = []
        self.active: set[int] = set()
        self.scalars: dict[int, Any] = {}

    def convert(self, node: yaml.Node, path: PathKey) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise _Refused(
                _mark(node),
                path,
                f"the document expands to more than {MAX_NODES:,} values (through YAML "
                "aliases, perhaps a 'billion laughs' bomb); manifests this large are refused",
            )
        if len(path) > MAX_DEPTH:
            raise _Refused(_mark(node), path, f"nesting deeper than {MAX_DEPTH} levels")
        if id(node) in self.active:
            raise _Refused(_mark(node), path, "a YAML alias refers to itself (recursive alias)")
        self.doc.values.setdefault(path, _mark(node))
        if isinstance(node, yaml.ScalarNode):
            if id(node) not in self.scalars:
                self.scalars[id(node)] = self._scalar(node)
            return self.scalars[id(node)]
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.convert(child, (*path, i)) for i, child in enumerate(node.value)]
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
        finally:
            self.active.discard(id(node))
        raise _Refused(_mark(node), path, f"unsupported YAML node {type(node).__name__}")

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag.startswith("tag:yaml.org,2002:") and node.tag.rsplit(":", 1)[1] in {
            "str", "int", "float", "bool", "null", "timestamp", "binary", "merge",
        }:  # fmt: skip
            value = self.loader.construct_object(node, deep=True)
            if isinstance(value, dt.date | bytes):
                return str(node.value)
            return value
        # Custom tags (!!python/object, !Ref, ...) are never constructed: keep the text.
        return str(node.value)

    def _pairs(self, node: yaml.MappingNode, path: PathKey) -> Iterator[tuple[Any, yaml.Node]]:
        """Key/value pairs with YAML merge keys (``<<: *base``) expanded, explicit keys last."""
        explicit: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else []
                for source in sources or [value_node]:
                    if not isinstance(source, yaml.MappingNode):
                        raise _Refused(_mark(source), path, "a merge key '<<' needs a mapping")
                    yield from self._pairs(source, path)
            else:
                explicit.append((key_node, value_node))
        for key_node, value_node in explicit:
            yield key_node, value_node

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        seen: dict[Any, Mark] = {}
        explicit = {id(k) for k, _ in node.value}
        for key_node, value_node in self._pairs(node, path):
            if not isinstance(key_node, yaml.ScalarNode):
                self.issues.append(
                    YamlIssue(_mark(key_node), path, "a mapping key must be a plain scalar")
                )
                continue
            key = self._scalar(key_node)
            if not isinstance(key, str):
                key = str(key_node.value)
            where = _mark(key_node)
            if key in seen and id(key_node) in explicit:
                first = seen[key]
                self.issues.append(
                    YamlIssue(
                        where,
                        (*path, key),
                        f"duplicate key '{key}' (first defined at line {first.line}, column "
                        f"{first.column}); YAML keeps only the last one, so one of the two "
                        "values would be silently ignored: remove or merge them",
                    )
                )
            if id(key_node) in explicit:
                seen[key] = where
            self.doc.keys[(*path, key)] = where
            self.doc.values.pop((*path, key), None)
            out[key] = self.convert(value_node, (*path, key))
        return out


class _Refused(Exception):
    def __init__(self, mark: Mark, path: PathKey, message: str) -> None:
        self.issue = YamlIssue(mark, path, message)
        super().__init__(message)


def parse_documents(text: str) -> tuple[list[Document], list[YamlIssue]]:
    """Every document of ``text`` with its marks, and the problems found on the way.

    Raises ``YamlError`` when the text is not YAML at all (syntax error, tab indentation);
    problems inside otherwise readable documents (duplicate keys) are returned so that all of
    them are reported in one run.
    """
    loader = _Loader(text)
    documents: list[Document] = []
    issues: list[YamlIssue] = []
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # pragma: no cover - check_node guarantees a node
                break
            doc = Document(data=None, index=index, start=_mark(node))
            converter = _Converter(loader, doc)
            try:
                doc.data = converter.convert(node, ())
            except _Refused as refused:
                raise YamlError([*issues, *converter.issues, refused.issue]) from None
            issues.extend(converter.issues)
            documents.append(doc)
            index += 1
    except yaml.MarkedYAMLError as exc:
        raise YamlError([_syntax_issue(exc, text)]) from None
    except RecursionError:
        raise YamlError(
            [YamlIssue(Mark(1, 1), (), f"nesting too deep to read (over {MAX_DEPTH} levels)")]
        ) from None
    finally:
        loader.dispose()
    return documents, issues


def _syntax_issue(exc: yaml.MarkedYAMLError, text: str) -> YamlIssue:
    mark = exc.problem_mark or exc.context_mark
    if exc.context_mark is not None and "end of stream" in (exc.problem or ""):
        # An unclosed quote or bracket: the useful place is where it was opened.
        mark = exc.context_mark
    where = Mark(mark.line + 1, mark.column + 1) if mark is not None else Mark(1, 1)
    problem = (exc.problem or "invalid YAML").strip()
    line = text.splitlines()[where.line - 1] if where.line - 1 < len(text.splitlines()) else ""
    if "\t" in problem or "'\\t'" in problem or ("\t" in line and "tab" not in problem):
        message = (
            "a tab character is used for indentation; YAML allows only spaces there: "
            "replace the tabs with spaces"
        )
    else:
        context = f" {exc.context}" if exc.context else ""
        message = f"not valid YAML: {problem}{context}".rstrip()
    return YamlIssue(where, (), message)
