"""A structural checker for the LogQL subset the lab's dashboards and Loki rules use.

PyPI has no LogQL parser (as of 2026-12), so this recursive-descent parser accepts:

    query    := [aggregation [grouping] "("] range_fn "(" log "[" duration "]" ")" [")" [grouping]]
                [comparison number]
             |  log
    log      := "{" matcher ("," matcher)* "}" stage*
    stage    := ("|=" | "!=" | "|~" | "!~") string
             |  "|" ("json" | "logfmt")
             |  "|" label ("=" | "!=" | "=~" | "!~") string
             |  "|" "line_format" string

It rejects what Loki rejects in that subset: a selector whose matchers all match the
empty string, unknown functions, invalid regular expressions (checked with Python's re,
close to but not the same as Go's RE2) and trailing input.
NOTE: only a compose run proves that Loki accepts a query and returns data.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

RANGE_FUNCTIONS = {"count_over_time", "rate", "bytes_over_time", "bytes_rate", "absent_over_time"}
AGGREGATIONS = {"sum", "avg", "min", "max", "count", "topk", "bottomk"}
MATCH_OPS = ("=~", "!~", "!=", "=")
LINE_FILTERS = ("|=", "!=", "|~", "!~")
COMPARISONS = (">=", "<=", "==", "!=", ">", "<")

TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|`[^`]*`)
      | (?P<duration>\d+(?:ms|s|m|h|d|w|y))
      | (?P<number>\d+(?:\.\d+)?)
      | (?P<op>\|=|\|~|!=|!~|=~|==|>=|<=|[{}()\[\],|=<>])
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)


class LogQLError(ValueError):
    """Invalid query for the supported subset."""


@dataclass
class Matcher:
    label: str
    op: str
    value: str


@dataclass
class LogQuery:
    """What the checker found in one query."""

    selector: list[Matcher]
    label_filters: list[Matcher] = field(default_factory=list)
    parsers: list[str] = field(default_factory=list)
    range: str = ""
    functions: list[str] = field(default_factory=list)
    grouping: list[str] = field(default_factory=list)


def tokenize(query: str) -> list[tuple[str, str]]:
    tokens = []
    position = 0
    while position < len(query):
        if query[position:].strip() == "":
            break
        match = TOKEN.match(query, position)
        if not match:
            raise LogQLError(f"unexpected input at offset {position}: {query[position:position + 20]!r}")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def unquote(token: str) -> str:
    if token.startswith("`"):
        return token[1:-1]
    return json.loads(token)


class _Parser:
    def __init__(self, query: str) -> None:
        self.tokens = tokenize(query)
        self.index = 0

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        position = self.index + offset
        return self.tokens[position] if position < len(self.tokens) else None

    def take(self, kind: str | None = None, value: str | None = None) -> str:
        token = self.peek()
        if token is None:
            raise LogQLError(f"unexpected end of query, expected {value or kind}")
        if (kind and token[0] != kind) or (value and token[1] != value):
            raise LogQLError(f"expected {value or kind}, found {token[1]!r}")
        self.index += 1
        return token[1]

    def at(self, value: str) -> bool:
        token = self.peek()
        return token is not None and token[1] == value

    def parse(self) -> LogQuery:
        token = self.peek()
        if token and token[0] == "ident":
            result = self.metric()
        else:
            result = self.log()
        if self.peek() is not None:
            raise LogQLError(f"trailing input: {self.peek()[1]!r}")
        return result

    def grouping(self) -> list[str]:
        self.take("ident")
        self.take("op", "(")
        labels = [self.take("ident")]
        while self.at(","):
            self.take("op", ",")
            labels.append(self.take("ident"))
        self.take("op", ")")
        return labels

    def metric(self) -> LogQuery:
        name = self.take("ident")
        functions = [name]
        grouping: list[str] = []
        if name in AGGREGATIONS:
            if self.at("by") or self.at("without"):
                grouping = self.grouping()
            self.take("op", "(")
            inner = self.range_function()
            self.take("op", ")")
            if self.at("by") or self.at("without"):
                grouping = self.grouping()
            functions.extend(inner.functions)
            result = inner
        elif name in RANGE_FUNCTIONS:
            self.index -= 1
            result = self.range_function()
        else:
            raise LogQLError(f"unknown function {name!r}")
        result.functions = functions
        result.grouping = grouping
        token = self.peek()
        if token and token[1] in COMPARISONS:
            self.take("op")
            self.take("number")
        return result

    def range_function(self) -> LogQuery:
        name = self.take("ident")
        if name not in RANGE_FUNCTIONS:
            raise LogQLError(f"unknown range function {name!r}")
        self.take("op", "(")
        result = self.log()
        self.take("op", "[")
        result.range = self.take("duration")
        self.take("op", "]")
        self.take("op", ")")
        result.functions = [name]
        return result

    def matcher(self) -> Matcher:
        label = self.take("ident")
        op = self.take("op")
        if op not in MATCH_OPS:
            raise LogQLError(f"invalid match operator {op!r} for label {label}")
        value = unquote(self.take("string"))
        if op in ("=~", "!~"):
            check_regex(value)
        return Matcher(label, op, value)

    def log(self) -> LogQuery:
        self.take("op", "{")
        selector = [self.matcher()]
        while self.at(","):
            self.take("op", ",")
            selector.append(self.matcher())
        self.take("op", "}")
        if all(matches_empty(matcher) for matcher in selector):
            raise LogQLError("the stream selector needs at least one matcher that does not match the empty string")
        result = LogQuery(selector=selector)
        while (token := self.peek()) is not None and token[1] in (*LINE_FILTERS, "|"):
            self.stage(result)
        return result

    def stage(self, result: LogQuery) -> None:
        operator = self.take("op")
        if operator in LINE_FILTERS:
            value = unquote(self.take("string"))
            if operator in ("|~", "!~"):
                check_regex(value)
            return
        name = self.take("ident")
        if name in ("json", "logfmt"):
            result.parsers.append(name)
        elif name == "line_format":
            self.take("string")
        else:
            self.index -= 1
            result.label_filters.append(self.matcher())


def check_regex(value: str) -> None:
    try:
        re.compile(value)
    except re.error as error:
        raise LogQLError(f"invalid regular expression {value!r}: {error}") from error


def matches_empty(matcher: Matcher) -> bool:
    """Return True when `matcher` also selects streams without the label."""
    if matcher.op == "=":
        return matcher.value == ""
    if matcher.op == "=~":
        return re.fullmatch(matcher.value, "") is not None
    if matcher.op == "!=":
        return matcher.value != ""
    return re.fullmatch(matcher.value, "") is None


def parse(query: str) -> LogQuery:
    """Parse `query` or raise LogQLError naming what is wrong."""
    return _Parser(query.strip()).parse()
