"""Hostile-input-proof YAML reading that remembers where every node came from.

PyYAML's ``safe_load`` has three habits a reviewer of a consolidation would never notice:
it silently keeps the last of two duplicate keys, it expands aliases without bound (a
"billion laughs" document eats all memory) and YAML 1.1 reads ``NO`` (Norway) and ``off`` as
booleans. This module composes the node graph with the safe loader (no Python objects are ever
built from tags) and converts it itself, so that:

- duplicate keys are problems naming both locations;
- alias expansion is bounded by the size of its output (values and characters), and recursive
  aliases are refused;
- merge keys (``<<``) follow the spec (explicit keys win; among merged mappings the first wins);
- integers are plain decimal (``010``, ``0x10``, ``1_000``, ``1:30`` are problems) and keys
  hold no control characters;
- only ``true``/``false`` are booleans;
- every value and every key has a (line, column) by JSON path, for ``file:line:col`` messages.

It does no file I/O (``loading`` reads bytes) and knows nothing about manifest kinds.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

#: The most values one document may expand to, aliases included (each value keeps its location,
#: so this bounds memory). Real manifests have a few hundred; a billion-laughs document hits
#: this within milliseconds.
MAX_NODES = 50_000
#: The most characters of strings one document may expand to, each string counted every time
#: it is used: a few thousand aliases of one huge string are refused as fast as a billion laughs.
#: One 1 MiB file without aliases stays under 1,048,576.
MAX_CHARS = 4_000_000
#: The deepest nesting we accept; real manifests nest five levels.
MAX_DEPTH = 64

PathKey = tuple[str | int, ...]

_INT = "tag:yaml.org,2002:int"
_STR = "tag:yaml.org,2002:str"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
#: The only spelling of an integer accepted: YAML 1.1 also reads 010 (octal), 0x10, 0b10, 1_000
#: and 1:30 (base 60) as numbers, which surprises everyone who wrote them.
_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
#: C0 and C1 control characters and DEL: never part of a key.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _only_true_false(loader: type[Any]) -> None:
    """Make ``true``/``false`` the only booleans of ``loader`` (YAML 1.2 core schema style)."""
    loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool",
        re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        list("tTfF"),
    )


class _PyLoader(yaml.SafeLoader):
    """The pure-Python SafeLoader, used where PyYAML was built without libyaml."""


_only_true_false(_PyLoader)
#: The parsers by name. libyaml (PyYAML's C extension) scans and composes about ten times
#: faster; both yield the same node graph with the same marks, which ``_Converter`` turns into
#: values, so every check below runs the same way on either.
LOADERS: dict[str, type[Any]] = {"python": _PyLoader}
if getattr(yaml, "__with_libyaml__", False):  # pragma: no branch - the wheels ship libyaml

    class _CLoader(yaml.CSafeLoader):
        """libyaml's parser with the Python resolver and constructor (same rules)."""

    _only_true_false(_CLoader)
    LOADERS["libyaml"] = _CLoader
#: The parser ``parse_documents`` uses: libyaml when PyYAML has it. Tests switch ``parser`` to
#: run the hostile-input suite on both.
DEFAULT_PARSER = "libyaml" if "libyaml" in LOADERS else "python"
parser = DEFAULT_PARSER


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
    def __init__(self, loader: Any, doc: Document) -> None:
        self.loader = loader
        self.doc = doc
        self.nodes = MAX_NODES
        self.chars = MAX_CHARS
        self.issues: list[YamlIssue] = []
        self.active: set[int] = set()
        self.scalars: dict[int, Any] = {}
        self.merged: dict[int, list[tuple[str, yaml.Node, yaml.Node]]] = {}
        self.merging: set[int] = set()

    def spend(self, nodes: int, chars: int, node: yaml.Node, path: PathKey) -> None:
        """Charge the expansion budgets; refuse the document when one runs out."""
        self.nodes -= nodes
        self.chars -= chars
        if self.nodes < 0 or self.chars < 0:
            what = (
                f"{MAX_NODES:,} values" if self.nodes < 0 else f"{MAX_CHARS:,} characters of text"
            )
            raise _Refused(
                _mark(node),
                path,
                f"the document expands to more than {what} (through YAML aliases, perhaps a "
                "'billion laughs' bomb); manifests this large are refused",
            )

    def convert(self, node: yaml.Node, path: PathKey) -> Any:
        self.spend(1, 0, node, path)
        if len(path) > MAX_DEPTH:
            raise _Refused(_mark(node), path, f"nesting deeper than {MAX_DEPTH} levels")
        if id(node) in self.active:
            raise _Refused(_mark(node), path, "a YAML alias refers to itself (recursive alias)")
        self.doc.values.setdefault(path, _mark(node))
        if isinstance(node, yaml.ScalarNode):
            key = id(node)
            if key in self.scalars:
                value = self.scalars[key]
            else:
                value = self.scalars[key] = self._scalar(node)
                if node.tag == _INT and not _DECIMAL.fullmatch(node.value):
                    self.issues.append(YamlIssue(_mark(node), path, _int_hint(node.value, value)))
            if isinstance(value, str):
                self.spend(0, len(value), node, path)
            return value
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
        if node.tag == _STR:  # most values: what the constructor would return, without it
            return str(node.value)
        if node.tag == _TIMESTAMP:
            # Dates stay the text as written (the schemas want strings), and are never
            # constructed: a date the calendar lacks (2026-02-30) would raise in PyYAML.
            return str(node.value)
        if node.tag.startswith("tag:yaml.org,2002:") and node.tag.rsplit(":", 1)[1] in {
            "str", "int", "float", "bool", "null", "timestamp", "binary", "merge",
        }:  # fmt: skip
            value = self.loader.construct_object(node, deep=True)
            if isinstance(value, dt.date | bytes):
                return str(node.value)
            return value
        # Custom tags (!!python/object, !Ref, ...) are never constructed: keep the text.
        return str(node.value)

    def _key(self, key_node: yaml.ScalarNode, path: PathKey) -> str:
        key = self._scalar(key_node)
        if not isinstance(key, str):
            key = str(key_node.value)
        if _CONTROL.search(key):
            self.issues.append(
                YamlIssue(
                    _mark(key_node),
                    (*path, key),
                    f"the key {key!r} contains a control character "
                    f"({_CONTROL.findall(key)[0]!r}); keys are plain names: remove it",
                )
            )
        return key

    def _pairs(
        self, node: yaml.MappingNode, path: PathKey
    ) -> list[tuple[str, yaml.Node, yaml.Node]]:
        """The mapping's key/value pairs with YAML merge keys (``<<``) applied as the merge-key
        spec says: an explicit key overrides a merged one, and among merged mappings the first
        that has a key wins. Duplicate keys, explicit or inside a merged mapping, are problems.
        Computed once per mapping node (a merged mapping is often shared through an alias)."""
        done = self.merged.get(id(node))
        if done is not None:
            return done
        if id(node) in self.merging:
            raise _Refused(_mark(node), path, "a YAML merge ('<<') includes its own mapping")
        self.merging.add(id(node))
        try:
            explicit: dict[str, tuple[yaml.Node, yaml.Node]] = {}
            merged: dict[str, tuple[yaml.Node, yaml.Node]] = {}
            merge_key: yaml.Node | None = None
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE:
                    if merge_key is not None:
                        first = _mark(merge_key)
                        self.issues.append(
                            YamlIssue(
                                _mark(key_node),
                                (*path, "<<"),
                                f"a second merge key '<<' (the first is at line {first.line}, "
                                f"column {first.column}); YAML parsers disagree on what two of "
                                "them mean: merge all mappings in one, e.g. `<<: [*a, *b]`",
                            )
                        )
                    merge_key = key_node
                    sources = (
                        value_node.value
                        if isinstance(value_node, yaml.SequenceNode)
                        else [value_node]
                    )
                    for source in sources:
                        if not isinstance(source, yaml.MappingNode):
                            raise _Refused(_mark(source), path, "a merge key '<<' needs a mapping")
                        for key, k, v in self._pairs(source, path):
                            merged.setdefault(key, (k, v))
                    continue
                if not isinstance(key_node, yaml.ScalarNode):
                    self.issues.append(
                        YamlIssue(_mark(key_node), path, "a mapping key must be a plain scalar")
                    )
                    continue
                key = self._key(key_node, path)
                if key in explicit:
                    self._duplicate(key_node, explicit[key][0], path, key)
                explicit[key] = (key_node, value_node)
        finally:
            self.merging.discard(id(node))
        pairs = [(key, k, v) for key, (k, v) in merged.items() if key not in explicit]
        pairs += [(key, k, v) for key, (k, v) in explicit.items()]
        self.spend(len(pairs), 0, node, path)
        self.merged[id(node)] = pairs
        return pairs

    def _duplicate(
        self, key_node: yaml.Node, first_node: yaml.Node, path: PathKey, key: str
    ) -> None:
        first = _mark(first_node)
        self.issues.append(
            YamlIssue(
                _mark(key_node),
                (*path, key),
                f"duplicate key '{key}' (first defined at line {first.line}, column "
                f"{first.column}); YAML keeps only the last one, so one of the two "
                "values would be silently ignored: remove or merge them",
            )
        )

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key, key_node, value_node in self._pairs(node, path):
            self.doc.keys[(*path, key)] = _mark(key_node)
            self.doc.values.pop((*path, key), None)
            out[key] = self.convert(value_node, (*path, key))
        return out


def _int_hint(text: str, value: Any) -> str:
    """Why a YAML 1.1 integer spelt other than in plain decimal is refused, and what to write."""
    sign = "-" if text.startswith("-") else ""
    bare = text.lstrip("+-")
    quote = f", or quote it ('{text}') if it is text"
    if bare[:2] in ("0x", "0X", "0b", "0B"):
        base = "hexadecimal" if bare[1] in "xX" else "binary"
        return f"YAML 1.1 reads {text} as the {base} number {value}: write {value}{quote}"
    if ":" in bare:
        return f"YAML 1.1 reads {text} as the base-60 number {value}: write {value}{quote}"
    digits = sign + (bare.replace("_", "").lstrip("0") or "0")
    if bare.startswith("0"):
        return (
            f"YAML 1.1 reads {text} as the octal number {value}: write {digits} (without the "
            f"leading zero) if that is what you meant{quote}"
        )
    return f"YAML 1.1 reads {text} as {value}, dropping the underscores: write {digits}{quote}"


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
    documents: list[Document] = []
    issues: list[YamlIssue] = []
    try:
        loader = LOADERS[parser](text)  # the pure-Python reader checks the characters here
    except yaml.reader.ReaderError:
        raise YamlError([_unprintable_issue(text)]) from None
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
        if "maximum nesting depth" in (exc.problem or ""):  # libyaml's own limit (1,000)
            raise YamlError([_too_deep()]) from None
        raise YamlError([_syntax_issue(exc, text)]) from None
    except yaml.reader.ReaderError:
        raise YamlError([_unprintable_issue(text)]) from None
    except RecursionError:  # the pure-Python parser's limit
        raise YamlError([_too_deep()]) from None
    finally:
        loader.dispose()
    return documents, issues


def _too_deep() -> YamlIssue:
    return YamlIssue(Mark(1, 1), (), f"nesting too deep to read (over {MAX_DEPTH} levels)")


#: The characters YAML does not allow in a document (its "printable" set, tabs and line breaks
#: aside), which both parsers refuse before any node exists.
_UNPRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


def _unprintable_issue(text: str) -> YamlIssue:
    """Where the first character YAML refuses is, and what to do about it."""
    found = _UNPRINTABLE.search(text)
    if found is None:  # pragma: no cover - the parsers refuse exactly this set
        return YamlIssue(Mark(1, 1), (), "not valid YAML: a character YAML does not allow")
    before = text[: found.start()]
    line = before.count("\n") + 1
    column = found.start() - (before.rfind("\n") + 1) + 1
    char = found.group()
    code = ord(char)
    escape = f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
    return YamlIssue(
        Mark(line, column),
        (),
        f"the control character U+{code:04X} is not allowed in YAML, not even inside quotes: "
        f'remove it, or write it as the escape "{escape}" in a double-quoted string',
    )


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
