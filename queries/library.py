"""The named queries: one ``.rq`` file per competency question, and their runner.

Each file starts with comment lines that say what it asks::

    # question: Which CAR T products target which antigens?
    # parameter: product (iri) restricts the answer to one product [default: cke:tisagenlecleucel]
    # example: cartkg query product-antigens --graph out/cartkg.ttl

A query that reads the corpus summary (see :mod:`cartkg.kg.summary`) says so with
``# reads: corpus summary``, and running it on a graph without one is an error, not an
empty answer.

Parameters are bound as RDF terms, never pasted into the query text as given, so a
value cannot change the query: through rdflib's ``initBindings``, or on Oxigraph as a
``VALUES`` block at the start of the WHERE group, written from terms that
:func:`sparql_term` has checked (oxrdflib would join ``initBindings`` with the whole
answer after computing it). A CURIE given for an ``iri`` parameter expands through the
query's own ``PREFIX`` lines.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from rdflib import BNode, Dataset, Literal, URIRef
from rdflib.graph import Graph
from rdflib.term import Identifier

_PARAMETER = re.compile(
    r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s+\((?P<kind>iri|literal)\)\s*(?P<description>.*?)\s*"
    r"(?:\[(?:default:\s*(?P<default>[^\]]+)|(?P<required>required))\])?\s*$"
)
_PREFIX = re.compile(r"^\s*PREFIX\s+([A-Za-z][\w.-]*)?:\s*<([^>]*)>", re.IGNORECASE | re.MULTILINE)
# An absolute IRI without the characters RFC 3987 forbids (spaces, <>"{}|\^`).
_IRI = re.compile(r'^[a-z][a-z0-9+.-]*://[^\s<>"{}|\\^`]+$', re.IGNORECASE)
# An absolute IRI without the characters IRIREF forbids.
IRIREF = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20<>"{}|^`\\]*$')
# What the WHERE-brace scanner steps over: comments, IRIs, strings; or the brace itself.
_SCAN = re.compile(r'''
    \#[^\n]*
  | <[^<>"{}|^`\\\x00-\x20]*>
  | """(?:[^"\\]|\\.|"(?!""))*""" | \'\'\'(?:[^'\\]|\\.|'(?!''))*\'\'\'
  | "(?:[^"\\\n]|\\.)*" | '(?:[^'\\\n]|\\.)*'
  | (?P<brace>\{)
''', re.VERBOSE | re.DOTALL)


class QueryError(ValueError):
    """A query that cannot be found, parsed or bound; the message says which."""


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: str
    description: str
    default: str | None = None
    required: bool = False


@dataclass(frozen=True)
class NamedQuery:
    """One competency question and its SPARQL text."""

    name: str
    question: str
    text: str
    parameters: tuple[Parameter, ...] = ()
    example: str = ""
    source: str = ""
    reads_summary: bool = False

    @property
    def prefixes(self) -> dict[str, str]:
        return {prefix or "": iri for prefix, iri in _PREFIX.findall(self.text)}

    @property
    def example_parameters(self) -> dict[str, str]:
        """The ``--param NAME=VALUE`` values of the example command line.

        >>> parse_query("# example: cartkg query q --param a=x --param=b='y z'", name="q").example_parameters
        {'a': 'x', 'b': 'y z'}
        """
        words = shlex.split(self.example)
        values = [words[i + 1] for i, word in enumerate(words[:-1]) if word == "--param"]
        values += [word.removeprefix("--param=") for word in words if word.startswith("--param=")]
        return dict(value.partition("=")[::2] for value in values)

    def term(self, parameter: Parameter, value: str | Identifier) -> Identifier:
        """A parameter value as an RDF term: an IRI (or CURIE) or a literal."""
        if isinstance(value, Identifier):
            return value
        if parameter.kind == "literal":
            return Literal(value)
        if _IRI.match(value):
            return URIRef(value)
        prefix, sep, local = value.partition(":")
        if sep and prefix in self.prefixes and re.fullmatch(r"[\w.-]*", local):
            return URIRef(self.prefixes[prefix] + local)
        raise QueryError(f"{self.name}: parameter {parameter.name!r} needs an IRI or a CURIE with a "
                         f"prefix the query declares, not {value!r}")

    def bindings(self, values: Mapping[str, str | Identifier] | None = None) -> dict[str, Identifier]:
        """Bindings for the given values, with defaults; unknown or missing ones are errors."""
        values = dict(values or {})
        known = {p.name: p for p in self.parameters}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise QueryError(f"{self.name}: unknown parameter(s) {', '.join(unknown)}; "
                             f"it takes {', '.join(known) or 'none'}")
        bound: dict[str, Identifier] = {}
        for parameter in self.parameters:
            value = values.get(parameter.name, parameter.default)
            if value is None:
                if parameter.required:
                    raise QueryError(f"{self.name}: parameter {parameter.name!r} is required")
                continue
            bound[parameter.name] = self.term(parameter, value)
        return bound


def parse_query(text: str, *, name: str, source: str = "") -> NamedQuery:
    """Read the header comments of a query text."""
    question, example = "", ""
    reads_summary = False
    parameters: list[Parameter] = []
    for line in text.splitlines():
        if not line.startswith("#"):
            if line.strip():
                break
            continue
        key, _, value = line.lstrip("#").strip().partition(":")
        value = value.strip()
        if key == "question":
            question = value
        elif key == "example":
            example = value
        elif key == "reads":
            if value != "corpus summary":
                raise QueryError(f"{source or name}: cannot read 'reads: {value}'; what a query can read "
                                 "besides the documents is the 'corpus summary'")
            reads_summary = True
        elif key == "parameter":
            match = _PARAMETER.match(value)
            if not match:
                raise QueryError(f"{source or name}: cannot read parameter line {value!r}")
            parameters.append(
                Parameter(
                    name=match["name"],
                    kind=match["kind"],
                    description=match["description"].rstrip(";, "),
                    default=match["default"].strip() if match["default"] else None,
                    required=bool(match["required"]),
                )
            )
    return NamedQuery(name, question, text, tuple(parameters), example, source, reads_summary)


def list_queries() -> list[NamedQuery]:
    """The named queries shipped with the package, by name."""
    root = resources.files(__package__)
    found = [
        parse_query(entry.read_text("utf-8"), name=entry.name[:-3], source=entry.name)
        for entry in root.iterdir()
        if entry.name.endswith(".rq")
    ]
    return sorted(found, key=lambda q: q.name)


def get_query(name_or_path: str | Path) -> NamedQuery:
    """A named query by name, or a user's ``.rq`` file by path."""
    path = Path(name_or_path)
    if path.suffix == ".rq" and path.is_file():
        return parse_query(path.read_text("utf-8"), name=path.stem, source=str(path))
    for query in list_queries():
        if query.name == str(name_or_path):
            return query
    names = ", ".join(q.name for q in list_queries())
    raise QueryError(f"no named query or .rq file {str(name_or_path)!r}; named queries: {names}")


@dataclass
class QueryResult:
    """The rows of a SELECT query, as RDF terms (``None`` where unbound)."""

    variables: list[str]
    rows: list[tuple[Identifier | None, ...]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def values(self, variable: str) -> list[str | None]:
        """One column, as plain strings."""
        i = self.variables.index(variable)
        return [None if row[i] is None else str(row[i]) for row in self.rows]

    def records(self) -> list[dict[str, str | None]]:
        return [
            {v: (None if t is None else str(t)) for v, t in zip(self.variables, row)} for row in self.rows
        ]

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.variables)
        for row in self.rows:
            writer.writerow(["" if t is None else str(t) for t in row])
        return out.getvalue()

    def to_json(self) -> str:
        """SPARQL 1.1 Query Results JSON."""
        bindings = []
        for row in self.rows:
            binding = {}
            for variable, term in zip(self.variables, row):
                if term is None:
                    continue
                binding[variable] = _json_term(term)
            bindings.append(binding)
        return json.dumps({"head": {"vars": self.variables}, "results": {"bindings": bindings}},
                          indent=1, ensure_ascii=False)

    def to_dataframe(self):
        """The rows as a pandas DataFrame of strings (``None`` where unbound)."""
        import pandas as pd

        return pd.DataFrame(self.records(), columns=self.variables)


def _json_term(term: Identifier) -> dict[str, str]:
    if isinstance(term, URIRef):
        return {"type": "uri", "value": str(term)}
    if isinstance(term, BNode):
        return {"type": "bnode", "value": str(term)}
    out = {"type": "literal", "value": str(term)}
    if isinstance(term, Literal):
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype:
            out["datatype"] = str(term.datatype)
    return out


def sparql_term(term: Identifier) -> str:
    """An RDF term as SPARQL text, after checking it cannot be anything but one term.

    >>> sparql_term(Literal('say "hi" } ; DROP ALL #'))
    '"say \\\\"hi\\\\" } ; DROP ALL #"'
    >>> sparql_term(URIRef("https://w3id.org/cartkg/entity/cd19"))
    '<https://w3id.org/cartkg/entity/cd19>'
    """
    if isinstance(term, URIRef):
        iri = term
    elif isinstance(term, Literal):
        iri = term.datatype
    else:
        raise QueryError(f"cannot bind {term!r}: only IRIs and literals can be parameter values")
    if iri is not None and not IRIREF.match(str(iri)):
        raise QueryError(f"cannot bind {str(iri)!r}: not an IRI")
    return term.n3()


def bind_values(text: str, bindings: Mapping[str, Identifier]) -> str:
    """The query with one ``VALUES`` line per binding at the start of its WHERE group,
    so the bound variables hold the given terms throughout its pattern, as rdflib's
    ``initBindings`` make them do (a sub-SELECT's own variables are out of reach).

    >>> print(bind_values("SELECT ?a WHERE { ?a ?b ?c }", {"b": URIRef("urn:p")}))
    SELECT ?a WHERE {
      VALUES ?b { <urn:p> }
     ?a ?b ?c }
    """
    if not bindings:
        return text
    brace = next((m.end() for m in _SCAN.finditer(text) if m["brace"]), None)
    if brace is None:
        raise QueryError("cannot bind parameters: the query has no WHERE group")
    lines = []
    for name, term in bindings.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise QueryError(f"cannot bind {name!r}: not a variable name")
        lines.append(f"  VALUES ?{name} {{ {sparql_term(term)} }}\n")
    return text[:brace] + "\n" + "".join(lines) + text[brace:]


def _on_oxigraph(graph: Graph) -> bool:
    """Whether the graph is held by oxrdflib's Oxigraph store."""
    return type(graph.store).__module__.startswith("oxrdflib")


HAS_SUMMARY = "ASK { ?summary a <https://w3id.org/cartkg/ontology/CorpusSummary> }"


def has_summary(graph: Graph) -> bool:
    """Whether the graph holds the corpus summary that some queries read (see
    :mod:`cartkg.kg.summary`)."""
    return bool(graph.query(HAS_SUMMARY).askAnswer)


def no_summary(reader: str) -> QueryError:
    """The error for a query (or another reader, named) that reads the corpus summary,
    run where there is none."""
    return QueryError(f"{reader}: the graph has no corpus summary, which this reads (a graph built by an "
                      "older cartkg, or by a build that stopped before its end); build it again")


def _union_oxigraph(graph: Graph):
    """The pyoxigraph store under ``graph`` when it is a union-default ``Dataset`` held by
    oxrdflib's store; ``None`` when anything else (run that through ``graph.query``)."""
    if not (isinstance(graph, Dataset) and graph.default_union and _on_oxigraph(graph)):
        return None
    import pyoxigraph

    inner = getattr(graph.store, "_inner", None)  # None once the store is closed
    return inner if isinstance(inner, pyoxigraph.Store) else None


class _Terms(dict):
    """Oxigraph terms to rdflib's, each converted once by oxrdflib's own converter (so
    the rows are those of ``graph.query``, ``xsd:string`` datatypes kept): an answer
    repeats its labels and IRIs many times, and making an rdflib Literal costs more
    than a lookup."""

    def __missing__(self, term):
        from oxrdflib._converter import from_ox

        converted = self[term] = from_ox(term)
        return converted


def _select_on_oxigraph(graph: Dataset, store, text: str) -> tuple[str, QueryResult | None]:
    """The query's kind and, for a SELECT, its rows, asked of the pyoxigraph store
    directly: the same call oxrdflib makes for ``graph.query`` (union default graph,
    the graph's namespace bindings as prefixes), without the per-row dicts of
    oxrdflib and rdflib's result rows, which take much of the time of a long answer."""
    import pyoxigraph as ox

    prefixes = {prefix: str(namespace) for prefix, namespace in graph.namespaces()}
    answer = store.query(text, use_default_graph_as_union=True, prefixes=prefixes)
    if isinstance(answer, ox.QueryBoolean):
        return "ASK", None
    if isinstance(answer, ox.QueryTriples):  # CONSTRUCT and DESCRIBE, as oxrdflib says
        return "CONSTRUCT", None
    if not isinstance(answer, ox.QuerySolutions):
        raise ValueError(f"Unexpected query result: {answer}")
    terms = _Terms({None: None})
    convert = terms.__getitem__
    rows = [tuple(map(convert, solution)) for solution in answer]
    return "SELECT", QueryResult([v.value for v in answer.variables], rows)


def run_query(
    graph: Graph,
    query: NamedQuery | str,
    parameters: Mapping[str, str | Identifier] | None = None,
) -> QueryResult:
    """Run a SELECT query (named, by file, or a NamedQuery) on an rdflib graph or dataset."""
    if not isinstance(query, NamedQuery):
        query = get_query(query)
    bindings = query.bindings(parameters)
    if query.reads_summary and not has_summary(graph):
        raise no_summary(query.name)
    # On Oxigraph, parameters go in a VALUES block at the start of the query: oxrdflib
    # joins initBindings with the whole answer, after it is computed, while VALUES lets
    # Oxigraph start from the bound terms (evidence-for-pair: 14 s to 0.7 s on 100,000
    # documents). A union-default Dataset is asked of pyoxigraph directly (see
    # _select_on_oxigraph); the rows, variables and errors are those of graph.query.
    store = _union_oxigraph(graph)
    try:
        if store is not None:
            kind, answer = _select_on_oxigraph(graph, store, bind_values(query.text, bindings))
        elif _on_oxigraph(graph):
            result = graph.query(bind_values(query.text, bindings))
            kind, answer = result.type, None
        else:
            result = graph.query(query.text, initBindings=bindings)
            kind, answer = result.type, None
    except Exception as exc:  # parser and engine errors come in many types
        raise QueryError(f"{query.name}: {type(exc).__name__}: {exc}".splitlines()[0]) from None
    if kind != "SELECT":
        raise QueryError(f"{query.name}: only SELECT queries have rows, this is {kind}")
    if answer is not None:
        return answer
    variables = [str(v) for v in result.vars]
    rows = [tuple(row) for row in result]
    return QueryResult(variables, rows)


def query_names(queries: Sequence[NamedQuery] | None = None) -> list[str]:
    return [q.name for q in (queries if queries is not None else list_queries())]
