"""Lexical alignment: the lexicon's names matched with the classes of a user's ontology.

The ontology is read with rdflib (RDF/XML, Turtle, N-Triples, N3, JSON-LD) or, for
``.obo`` files, with pronto. Each live class contributes its names: labels
(``rdfs:label``, ``skos:prefLabel``) and synonyms (``skos:altLabel`` and the four
oboInOwl synonym scopes). Each lexicon entity's label and synonyms are compared with
them after a conservative normalisation (:func:`normalize`), and every hit becomes a
candidate SSSOM mapping with ``semapv:LexicalMatching`` as its justification.

Candidates are for a curator to review, not facts. :data:`MATCH_RULES` gives each pair
of matched fields a predicate and a score, and the score is shared out when a name is
the label or exact synonym of several classes, or several entities share the name.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import warnings
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cartkg import __version__

from .lexicon import Entity, Lexicon, bundled_lexicon
from .lexicon import is_case_sensitive as _lexicon_case_sensitive
from .mappings import (
    BASE_PREFIXES,
    CATEGORIES,
    MappingRecord,
    MappingSet,
    set_metadata,
    subject_curie,
    used_prefixes,
)

#: rdflib parser for each file extension; ``.obo`` files go to pronto.
RDF_FORMATS: Mapping[str, str] = {
    ".owl": "xml",
    ".rdf": "xml",
    ".xml": "xml",
    ".ttl": "turtle",
    ".nt": "nt",
    ".n3": "n3",
    ".jsonld": "json-ld",
}
FORMAT_NAMES: Mapping[str, str] = {
    "xml": "RDF/XML",
    "turtle": "Turtle",
    "nt": "N-Triples",
    "n3": "N3",
    "json-ld": "JSON-LD",
    "obo": "OBO",
}

#: Name-bearing properties of a class, as CURIEs, and the scope of the name each gives.
NAME_FIELDS: Mapping[str, str] = {
    "rdfs:label": "label",
    "skos:prefLabel": "label",
    "skos:altLabel": "exact",
    "oboInOwl:hasExactSynonym": "exact",
    "oboInOwl:hasRelatedSynonym": "related",
    "oboInOwl:hasBroadSynonym": "broad",
    "oboInOwl:hasNarrowSynonym": "narrow",
}
#: Scopes whose names stand for the class itself.
EQUIVALENT_SCOPES = frozenset({"label", "exact"})
#: pronto's synonym scopes, as the oboInOwl property an OWL version of the file would use.
OBO_SCOPE_FIELDS: Mapping[str, str] = {
    "EXACT": "oboInOwl:hasExactSynonym",
    "RELATED": "oboInOwl:hasRelatedSynonym",
    "BROAD": "oboInOwl:hasBroadSynonym",
    "NARROW": "oboInOwl:hasNarrowSynonym",
}

#: Prefixes an ontology may not redefine: ours and SSSOM's built-in ones.
RESERVED_PREFIXES: Mapping[str, str] = {
    **BASE_PREFIXES,
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "sssom": "https://w3id.org/sssom/",
}
OBO_PURL = "http://purl.obolibrary.org/obo/"
_OBO_IRI = re.compile(r"^http://purl\.obolibrary\.org/obo/([A-Za-z][A-Za-z0-9]*)_([^/#?]+)$")
_PREFIX_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_LOCAL_PART = re.compile(r"^[^\s|]+$")
_LAST_SEPARATOR = re.compile(r"^(.*[/#:])([^/#:]+)$")


class AlignError(ValueError):
    """An ontology file that cannot be aligned; the message is one line naming the file."""


@dataclass(frozen=True)
class ClassName:
    """One name of a class: its text, the property it came from (a CURIE) and its
    scope: ``label``, ``exact``, ``related``, ``broad`` or ``narrow``."""

    text: str
    field: str
    scope: str


@dataclass(frozen=True)
class OntologyClass:
    """A live class of the user's ontology, with its CURIE, display label and names."""

    curie: str
    label: str
    names: tuple[ClassName, ...]


@dataclass(frozen=True)
class OntologyFile:
    """What alignment needs from an ontology file. ``prefixes`` expands every class CURIE;
    ``obsolete`` counts the deprecated classes that were left out."""

    name: str
    sha256: str
    format: str
    classes: tuple[OntologyClass, ...]
    obsolete: int
    prefixes: Mapping[str, str]


@dataclass(frozen=True)
class MatchRule:
    """What a name shared by an entity and a class means, by the fields it sits in.

    ``subject_scopes`` are the entity's (``label`` or ``synonym``), ``object_scopes``
    the class's (see :class:`ClassName`).
    """

    description: str
    subject_scopes: frozenset[str]
    object_scopes: frozenset[str]
    predicate: str
    score: float


#: Exactly one rule covers each pair of scopes. Broad and narrow synonyms give only
#: ``closeMatch``: which way the hierarchy runs is easy to get wrong from a string alone.
MATCH_RULES: tuple[MatchRule, ...] = (
    MatchRule("label to label", frozenset({"label"}), frozenset({"label"}), "skos:exactMatch", 0.9),
    MatchRule("label to exact synonym", frozenset({"label"}), frozenset({"exact"}), "skos:exactMatch", 0.8),
    MatchRule("synonym to label", frozenset({"synonym"}), frozenset({"label"}), "skos:exactMatch", 0.8),
    MatchRule("synonym to exact synonym", frozenset({"synonym"}), frozenset({"exact"}), "skos:exactMatch", 0.7),
    MatchRule(
        "name to related synonym", frozenset({"label", "synonym"}), frozenset({"related"}), "skos:relatedMatch", 0.5
    ),
    MatchRule(
        "name to broad or narrow synonym",
        frozenset({"label", "synonym"}),
        frozenset({"broad", "narrow"}),
        "skos:closeMatch",
        0.4,
    ),
)


def match_rule(subject_scope: str, object_scope: str) -> MatchRule:
    """The rule for a name in ``subject_scope`` on the entity and ``object_scope`` on the class."""
    return next(r for r in MATCH_RULES if subject_scope in r.subject_scopes and object_scope in r.object_scopes)


_DASHES_AND_QUOTES = {
    **dict.fromkeys(map(ord, "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"), " "),
    **dict.fromkeys(map(ord, "\u2018\u2019\u02bc"), "'"),
}


def normalize(name: str, *, fold: bool = True) -> str:
    """A name reduced to the form names are compared in: Unicode NFKC, every dash or
    hyphen read as a space, curly apostrophes made straight, whitespace collapsed and,
    with ``fold``, case folded. Nothing else: no stemming, no word reordering.

    >>> normalize("B\u2010cell  acute lymphoblastic Leukemia")
    'b cell acute lymphoblastic leukemia'
    >>> normalize("B-ALL", fold=False)
    'B ALL'
    """
    text = unicodedata.normalize("NFKC", name).translate(_DASHES_AND_QUOTES)
    text = " ".join(text.split())
    return text.casefold() if fold else text


def is_case_sensitive(name: str) -> bool:
    """Whether a lexicon name must match in its own case: abbreviations (three
    characters or fewer, or no lower-case letter), so "ALL" never matches "all".

    >>> is_case_sensitive("ALL"), is_case_sensitive("CD19"), is_case_sensitive("tisa-cel")
    (True, True, False)
    """
    # The lexicon's rule (no lower-case letter), and, against outside labels, short names too.
    return _lexicon_case_sensitive(name) or len(normalize(name, fold=False)) <= 3


def match_key(name: str) -> tuple[bool, str]:
    """The key a lexicon name is looked up under: whether case counts, and the text."""
    sensitive = is_case_sensitive(name)
    return sensitive, normalize(name, fold=not sensitive)


class _Curies:
    """CURIEs for the IRIs of one ontology, keeping the prefix map one-to-one.

    OBO PURLs become ``PREFIX:ID``. Other IRIs take the longest namespace the file binds
    to a prefix, and failing that a generated prefix (``ext``, ``ext2``, ...) for the
    IRI's namespace; SSSOM/TSV has no room for full IRIs in its id columns.
    """

    def __init__(self, bound: Mapping[str, str]):
        self.prefixes: dict[str, str] = dict(RESERVED_PREFIXES)
        self._owners = {ns: prefix for prefix, ns in self.prefixes.items()}
        self._bound = sorted(
            ((p, ns) for p, ns in bound.items() if _PREFIX_NAME.match(p)), key=lambda item: (-len(item[1]), item[0])
        )

    def from_iri(self, iri: str) -> str | None:
        """A CURIE for an IRI, or None when the IRI has no usable local part."""
        found = _OBO_IRI.match(iri)
        if found:
            return self._curie(found[1], f"{OBO_PURL}{found[1]}_", found[2])
        for prefix, ns in self._bound:
            if iri.startswith(ns) and len(iri) > len(ns):
                return self._curie(prefix, ns, iri[len(ns) :])
        found = _LAST_SEPARATOR.match(iri)
        return self._curie(None, found[1], found[2]) if found else None

    def from_obo_id(self, term_id: str, idspaces: Mapping[str, str], ontology: str) -> str | None:
        """A CURIE for an OBO identifier; unprefixed ids expand as OBO 1.4 says,
        ``http://purl.obolibrary.org/obo/{ontology}#{id}``."""
        if re.match(r"^https?://", term_id):
            return self.from_iri(term_id)
        prefix, sep, local = term_id.partition(":")
        if not sep:
            return self._curie(None, f"{OBO_PURL}{ontology}#", term_id)
        return self._curie(prefix, idspaces.get(prefix, f"{OBO_PURL}{prefix}_"), local)

    def _curie(self, wanted: str | None, ns: str, local: str) -> str | None:
        if not _LOCAL_PART.match(local) or "|" in ns:
            return None
        prefix = self._owners.get(ns)
        if prefix is None:
            if wanted is not None and _PREFIX_NAME.match(wanted) and wanted not in self.prefixes:
                prefix = wanted
            else:
                prefix, n = "ext", 1
                while prefix in self.prefixes:
                    n += 1
                    prefix = f"ext{n}"
            self.prefixes[prefix] = ns
            self._owners[ns] = prefix
        return f"{prefix}:{local}"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _pick_label(labels: list[tuple[ClassName, str | None]]) -> str:
    """The display label: an English or untagged one first, ``rdfs:label`` before
    ``skos:prefLabel``, then the alphabetically first."""
    ranked = sorted(
        labels,
        key=lambda item: (
            not (item[1] is None or item[1] == "en" or item[1].startswith("en-")),
            item[0].field != "rdfs:label",
            item[0].text,
        ),
    )
    return ranked[0][0].text if ranked else ""


def _is_obsolete_label(text: str) -> bool:
    return text.casefold().startswith("obsolete ")


def _read_rdf(path: Path, data: bytes, fmt: str) -> tuple[list[OntologyClass], int, dict[str, str]]:
    from xml.sax import SAXException

    import rdflib
    from rdflib.exceptions import Error as RdflibError
    from rdflib.namespace import OWL, RDF, RDFS, SKOS

    graph = rdflib.Graph(bind_namespaces="none")
    try:
        graph.parse(data=data, format=fmt, publicID=path.resolve().as_uri())
    # Parsers of outside formats fail in many ways (JSON-LD even with AttributeError).
    except (SyntaxError, ValueError, LookupError, AttributeError, TypeError, SAXException, RdflibError) as exc:
        raise AlignError(f"{path}: not valid {FORMAT_NAMES[fmt]}: {_one_line(exc)}") from None
    curies = _Curies({prefix: str(ns) for prefix, ns in graph.namespaces()})
    properties = {curie: rdflib.URIRef(_expand(curie)) for curie in NAME_FIELDS}
    obsolete_class = rdflib.URIRef(_expand("oboInOwl:ObsoleteClass"))
    subjects = {
        s
        for kind in (OWL.Class, RDFS.Class, SKOS.Concept)
        for s in graph.subjects(RDF.type, kind)
        if isinstance(s, rdflib.URIRef) and s not in (OWL.Thing, OWL.Nothing)
    }
    classes, obsolete = [], 0
    for subject in sorted(subjects):
        names: list[tuple[ClassName, str | None]] = []
        for field, prop in properties.items():
            for value in graph.objects(subject, prop):
                if isinstance(value, rdflib.Literal) and str(value).strip():
                    names.append((ClassName(str(value).strip(), field, NAME_FIELDS[field]), value.language))
        deprecated = any(str(v).strip().lower() in ("true", "1") for v in graph.objects(subject, OWL.deprecated))
        if (
            deprecated
            or (subject, RDFS.subClassOf, obsolete_class) in graph
            or any(n.scope == "label" and _is_obsolete_label(n.text) for n, _ in names)
        ):
            obsolete += 1
            continue
        curie = curies.from_iri(str(subject))
        if curie is None:
            continue
        unique = tuple(sorted({n for n, _ in names}, key=lambda n: (n.field, n.text)))
        classes.append(OntologyClass(curie, _pick_label([x for x in names if x[0].scope == "label"]), unique))
    return classes, obsolete, curies.prefixes


def _read_obo(path: Path, data: bytes) -> tuple[list[OntologyClass], int, dict[str, str]]:
    import pronto

    try:
        with warnings.catch_warnings():
            # pronto warns about every construct it skips; the alignment needs only names.
            warnings.simplefilter("ignore")
            ontology = pronto.Ontology(io.BytesIO(data), import_depth=0, threads=1)
    except (SyntaxError, ValueError) as exc:
        raise AlignError(f"{path}: not valid OBO: {_one_line(exc)}") from None
    idspaces = {prefix: url for prefix, (url, _) in ontology.metadata.idspaces.items()}
    curies = _Curies({})
    classes, obsolete = [], 0
    for term in sorted(ontology.terms(), key=lambda t: t.id):
        names = [ClassName(term.name.strip(), "rdfs:label", "label")] if term.name and term.name.strip() else []
        for synonym in term.synonyms:
            field = OBO_SCOPE_FIELDS.get(synonym.scope or "RELATED", "oboInOwl:hasRelatedSynonym")
            if synonym.description.strip():
                names.append(ClassName(synonym.description.strip(), field, NAME_FIELDS[field]))
        if term.obsolete or (term.name and _is_obsolete_label(term.name)):
            obsolete += 1
            continue
        curie = curies.from_obo_id(term.id, idspaces, ontology.metadata.ontology or path.stem)
        if curie is None:
            continue
        unique = tuple(sorted(set(names), key=lambda n: (n.field, n.text)))
        classes.append(OntologyClass(curie, names[0].text if names and names[0].scope == "label" else "", unique))
    return classes, obsolete, curies.prefixes


def _expand(curie: str) -> str:
    prefix, local = curie.split(":", 1)
    return RESERVED_PREFIXES[prefix] + local


def read_ontology(path: str | Path) -> OntologyFile:
    """Read the classes of an ontology file, choosing the parser by the file's extension.

    Raises :class:`AlignError` with a one-line message for a missing or unreadable
    file, an unknown extension, a parse error, or a file with no classes at all.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix != ".obo" and suffix not in RDF_FORMATS:
        known = ", ".join([".obo", *RDF_FORMATS])
        raise AlignError(f"{path}: unknown ontology format {suffix or '(no extension)'!r}; use one of {known}")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise AlignError(f"{path}: file not found") from None
    except OSError as exc:
        raise AlignError(f"{path}: cannot read: {exc.strerror or _one_line(exc)}") from None
    fmt = "obo" if suffix == ".obo" else RDF_FORMATS[suffix]
    classes, obsolete, prefixes = _read_obo(path, data) if fmt == "obo" else _read_rdf(path, data, fmt)
    if not classes and not obsolete:
        raise AlignError(f"{path}: no classes found in this {FORMAT_NAMES[fmt]} file")
    return OntologyFile(path.name, hashlib.sha256(data).hexdigest(), fmt, tuple(classes), obsolete, prefixes)


def entity_names(entity: Entity) -> list[tuple[str, str, str]]:
    """An entity's names as (text, field, scope): the label, then each synonym."""
    names = [(entity.label, "rdfs:label", "label")]
    names += [(s, "skos:altLabel", "synonym") for s in entity.synonyms if s != entity.label]
    return names


@dataclass(frozen=True, order=True)
class _Evidence:
    """Why one entity and one class were paired; the smallest sorts best."""

    minus_confidence: float
    rule: int
    subject_field: str
    object_field: str
    key: str
    candidates: int


def match(ontology: OntologyFile, lexicon: Lexicon) -> list[MappingRecord]:
    """Candidate mappings between the lexicon's entities and the ontology's classes,
    the best evidence per pair, ordered by subject and object."""
    hits: dict[tuple[bool, str], list[tuple[int, ClassName]]] = defaultdict(list)
    # Classes a key names as their label or exact synonym: rival candidates for one
    # concept. A related, broad or narrow synonym rivals nothing.
    rivals: dict[tuple[bool, str], set[int]] = defaultdict(set)
    for index, cls in enumerate(ontology.classes):
        for name in cls.names:
            for sensitive in (True, False):
                key = (sensitive, normalize(name.text, fold=not sensitive))
                hits[key].append((index, name))
                if name.scope in EQUIVALENT_SCOPES:
                    rivals[key].add(index)
    entities = sorted(lexicon, key=lambda e: e.id)
    owners: dict[tuple[bool, str], set[str]] = defaultdict(set)
    for entity in entities:
        for text, _, _ in entity_names(entity):
            owners[match_key(text)].add(entity.id)
    best: dict[tuple[str, int], _Evidence] = {}
    for entity in entities:
        for text, field, scope in entity_names(entity):
            key = match_key(text)
            for index, name in hits.get(key, ()):
                rule = match_rule(scope, name.scope)
                candidates = max(len(rivals[key]) if name.scope in EQUIVALENT_SCOPES else 1, len(owners[key]))
                evidence = _Evidence(
                    -round(rule.score / candidates, 3),
                    MATCH_RULES.index(rule),
                    field,
                    name.field,
                    key[1],
                    candidates,
                )
                pair = (entity.id, index)
                if pair not in best or evidence < best[pair]:
                    best[pair] = evidence
    records = []
    for (entity_id, index), evidence in best.items():
        entity, cls, rule = lexicon[entity_id], ontology.classes[index], MATCH_RULES[evidence.rule]
        shared = f"; {evidence.candidates} candidates share this name" if evidence.candidates > 1 else ""
        records.append(
            MappingRecord(
                subject_id=subject_curie(entity),
                subject_label=entity.label,
                subject_category=CATEGORIES.get(entity.type, ""),
                predicate_id=rule.predicate,
                object_id=cls.curie,
                object_label=cls.label,
                mapping_justification="semapv:LexicalMatching",
                confidence=-evidence.minus_confidence,
                subject_match_field=(evidence.subject_field,),
                object_match_field=(evidence.object_field,),
                match_string=(evidence.key,),
                comment=f"{rule.description}{shared}",
            )
        )
    return sorted(records, key=lambda r: (r.subject_id, r.object_id))


@dataclass(frozen=True)
class Alignment:
    """The ontology that was read and the candidate mappings found in it."""

    ontology: OntologyFile
    mapping_set: MappingSet

    @property
    def entities(self) -> int:
        """How many lexicon entities have at least one candidate."""
        return len({m.subject_id for m in self.mapping_set.mappings})


def align(ontology: OntologyFile, lexicon: Lexicon | None = None, *, min_confidence: float = 0.0) -> MappingSet:
    """The candidate mappings as an SSSOM mapping set, without those below ``min_confidence``.

    The set's id is minted from the file's SHA-256, so the same file gives the same set.
    """
    lexicon = lexicon if lexicon is not None else bundled_lexicon()
    records = [r for r in match(ontology, lexicon) if r.confidence >= min_confidence]
    rules = "; ".join(f"{r.score} for {r.description} ({r.predicate})" for r in MATCH_RULES)
    cut = f" Candidates below confidence {min_confidence} were left out." if min_confidence > 0 else ""
    metadata = set_metadata(
        f"align/{ontology.sha256[:16]}.sssom.tsv",
        f"cartkg lexicon aligned with {ontology.name}",
        f"Candidate mappings, for review, between the cartkg lexicon and the classes of "
        f"{ontology.name} (SHA-256 {ontology.sha256}). Names are compared after Unicode NFKC "
        "normalisation, with dashes read as spaces, whitespace collapsed and case folded; "
        "abbreviations (three characters or fewer, or no lower-case letter) must match in "
        "their own case. Obsolete classes are skipped. Confidence by the fields the name "
        f"sits in: {rules}; divided by the number of candidates when a name is the label or "
        f"exact synonym of several classes, or several entities share it.{cut}",
        mapping_tool="cartkg align",
        mapping_tool_version=__version__,
    )
    available = {**ontology.prefixes, **BASE_PREFIXES}
    return MappingSet(tuple(records), metadata, used_prefixes(records, available))


def align_file(path: str | Path, lexicon: Lexicon | None = None, *, min_confidence: float = 0.0) -> Alignment:
    """Read an ontology file and align the lexicon with it: what ``cartkg align`` runs."""
    ontology = read_ontology(path)
    return Alignment(ontology, align(ontology, lexicon, min_confidence=min_confidence))
