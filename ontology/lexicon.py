"""The lexicon: every entity of the field, with its type, names and identifiers.

The single source of truth for an entity. The entity ruler's patterns, the graph's
labels and the cross-references are all generated from it. The data are TSV files in
``ontology/lexicon/``: one file per entity type (the file's name gives the type unless
a ``type`` column says otherwise), ``xrefs.tsv`` with one checked cross-reference per
row and the source it was checked in, and ``prefixes.tsv`` for the CURIE prefixes.

Two more files hold what is not an entity: ``approvals.tsv``, one regulatory approval
per row (product, agency, date, ages, indication, source), and ``ambiguities.tsv``,
every name that two or more entities share, with the entity a bare mention of it
means in this field's texts. A shared name that is not recorded there is an error.
"""

from __future__ import annotations

import csv
import datetime
import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import curies

#: Entity files and the ontology class their rows belong to by default.
ENTITY_FILES: Mapping[str, str] = {
    "products.tsv": "CARTProduct",
    "antigens.tsv": "Antigen",
    "organizations.tsv": "Organization",
    "toxicities.tsv": "Toxicity",
    "grading.tsv": "GradingSystem",
    "interventions.tsv": "Intervention",
    "diseases.tsv": "Disease",
    "trials.tsv": "ClinicalTrial",
}

#: Entity types an entity may take, by ontology class name.
ENTITY_TYPES = frozenset(ENTITY_FILES.values()) | {
    "WorkingGroup",
    "ExpertGroup",
    "Consortium",
    "RegulatoryAgency",
}

REQUIRED_COLUMNS = ("id", "label", "synonyms", "definition")
XREF_COLUMNS = ("entity", "curie", "mapping", "label_at_source", "source")
APPROVAL_COLUMNS = ("id", "product", "agency", "date", "min_age", "max_age", "indication", "source")
AMBIGUITY_COLUMNS = ("name", "entities", "resolve_to", "note")
#: SKOS mapping predicates a cross-reference may carry.
MAPPINGS = ("exactMatch", "closeMatch", "broadMatch", "narrowMatch", "relatedMatch")


class LexiconError(ValueError):
    """A lexicon file that breaks the format; the message names file and line."""


def is_case_sensitive(name: str) -> bool:
    """Whether a name must match in its own case: it has no lower-case letter.

    >>> is_case_sensitive("CRS"), is_case_sensitive("tisa-cel")
    (True, False)
    """
    return not any(ch.islower() for ch in name)


def name_key(name: str) -> str:
    """The form under which a name matches text: as written when it is case-sensitive
    (an abbreviation such as ``CRS``), lower-cased otherwise.

    >>> name_key("HSCT"), name_key("Tisa-cel")
    ('HSCT', 'tisa-cel')
    """
    return name if is_case_sensitive(name) else name.lower()


@dataclass(frozen=True)
class Xref:
    """A cross-reference to an outside resource: how close it is (a SKOS mapping
    predicate), the name printed beside it at the source, and that source."""

    curie: str
    mapping: str
    label_at_source: str
    source: str

    @property
    def prefix(self) -> str:
        return self.curie.split(":", 1)[0]


@dataclass(frozen=True)
class Entity:
    """One entity of the field."""

    id: str
    type: str
    label: str
    synonyms: tuple[str, ...]
    definition: str
    xrefs: tuple[Xref, ...] = ()
    attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        """The label then the synonyms, each once."""
        return tuple(dict.fromkeys((self.label, *self.synonyms)))

    def attribute(self, name: str) -> tuple[str, ...]:
        return self.attributes.get(name, ())


@dataclass(frozen=True)
class Approval:
    """A regulatory approval of a product (or drug) by an agency: when, for which ages,
    for what, and where that was read. ``date`` is ISO, as precise as the source:
    ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``; ages are whole years, ``None`` when the
    approval sets no bound."""

    id: str
    product: str
    agency: str
    date: str
    min_age: int | None
    max_age: int | None
    indication: str
    source: str

    @property
    def year(self) -> int:
        return int(self.date[:4])


@dataclass(frozen=True)
class Ambiguity:
    """A name carried by several entities, and the entity a bare mention of it means
    in this field's texts (``resolve_to``), or ``None`` when it is not to be tagged."""

    name: str
    entities: tuple[str, ...]
    resolve_to: str | None
    note: str = ""


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split("|") if part.strip())


def _rows(path: Path | Traversable, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = [c for c in required if c not in (reader.fieldnames or ())]
        if missing:
            raise LexiconError(f"{path.name}: missing column(s) {', '.join(missing)}")
        for line, row in enumerate(reader, start=2):
            if None in row or any(v is None for v in row.values()):
                raise LexiconError(f"{path.name}:{line}: wrong number of fields")
            yield line, {k: v.strip() for k, v in row.items()}


class Lexicon:
    """The entities, by id, with the CURIE converter for their cross-references, the
    regulatory approvals (by id) and the recorded ambiguities (by :func:`name_key`)."""

    def __init__(
        self,
        entities: Mapping[str, Entity],
        converter: curies.Converter,
        *,
        approvals: tuple[Approval, ...] = (),
        ambiguities: Mapping[str, Ambiguity] | None = None,
    ):
        self.entities = dict(entities)
        self.converter = converter
        self.approvals = tuple(sorted(approvals, key=lambda a: a.id))
        self.ambiguities = dict(ambiguities or {})

    def __len__(self) -> int:
        return len(self.entities)

    def __iter__(self) -> Iterator[Entity]:
        return iter(self.entities.values())

    def __contains__(self, entity_id: object) -> bool:
        return entity_id in self.entities

    def __getitem__(self, entity_id: str) -> Entity:
        return self.entities[entity_id]

    def of_type(self, *types: str) -> list[Entity]:
        """Entities of the given types, in id order."""
        return sorted((e for e in self if e.type in types), key=lambda e: e.id)

    def expand(self, curie: str) -> str:
        """The full IRI of a CURIE, through the bundled prefix map."""
        return self.converter.expand(curie, strict=True)

    def resolves(self, entity_id: str, name: str) -> bool:
        """Whether a mention of ``name`` may be tagged as ``entity_id``: always for a
        name no other entity carries, only for the recorded choice for a shared one."""
        ambiguity = self.ambiguities.get(name_key(name))
        return ambiguity is None or ambiguity.resolve_to == entity_id

    @classmethod
    def load(cls, directory: str | Path | None = None) -> Lexicon:
        """Load the lexicon from a folder of TSV files (the bundled one by default)."""
        root = Path(directory) if directory is not None else resources.files(__package__) / "lexicon"
        converter = _load_prefixes(root / "prefixes.tsv")
        xrefs = _load_xrefs(root / "xrefs.tsv", converter)
        entities: dict[str, Entity] = {}
        for filename, default_type in ENTITY_FILES.items():
            path = root / filename
            if not path.is_file():
                continue
            for line, row in _rows(path, REQUIRED_COLUMNS):
                where = f"{filename}:{line}"
                entity_id = row.pop("id")
                if not entity_id or entity_id in entities:
                    raise LexiconError(f"{where}: empty or duplicate id {entity_id!r}")
                entity_type = row.pop("type", "") or default_type
                if entity_type not in ENTITY_TYPES:
                    raise LexiconError(f"{where}: unknown type {entity_type!r}")
                label = row.pop("label")
                if not label:
                    raise LexiconError(f"{where}: empty label")
                entities[entity_id] = Entity(
                    id=entity_id,
                    type=entity_type,
                    label=label,
                    synonyms=_split(row.pop("synonyms")),
                    definition=row.pop("definition"),
                    xrefs=tuple(xrefs.pop(entity_id, ())),
                    attributes={k: _split(v) for k, v in sorted(row.items()) if v},
                )
        if xrefs:
            raise LexiconError(f"xrefs.tsv: cross-references for unknown entities {sorted(xrefs)}")
        _check_references(entities)
        approvals = _load_approvals(root / "approvals.tsv", entities)
        ambiguities = _load_ambiguities(root / "ambiguities.tsv", entities)
        return cls(entities, converter, approvals=approvals, ambiguities=ambiguities)


def _load_prefixes(path: Path | Traversable) -> curies.Converter:
    prefix_map = {row["prefix"]: row["uri_prefix"] for _, row in _rows(path, ("prefix", "uri_prefix"))}
    return curies.Converter.from_prefix_map(prefix_map)


def _load_xrefs(path: Path | Traversable, converter: curies.Converter) -> dict[str, list[Xref]]:
    xrefs: dict[str, list[Xref]] = {}
    for line, row in _rows(path, XREF_COLUMNS):
        curie = row["curie"]
        if not converter.is_curie(curie):
            raise LexiconError(f"xrefs.tsv:{line}: {curie!r} has no known prefix")
        if row["mapping"] not in MAPPINGS:
            raise LexiconError(f"xrefs.tsv:{line}: mapping must be one of {', '.join(MAPPINGS)}")
        if not row["source"]:
            raise LexiconError(f"xrefs.tsv:{line}: {curie} has no source for its check")
        xrefs.setdefault(row["entity"], []).append(Xref(curie, row["mapping"], row["label_at_source"], row["source"]))
    return {k: sorted(v, key=lambda x: x.curie) for k, v in xrefs.items()}


_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")


def _check_date(value: str, where: str) -> str:
    """An ISO date as precise as known: ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``."""
    if not _DATE.fullmatch(value):
        raise LexiconError(f"{where}: date {value!r} is not YYYY-MM-DD, YYYY-MM or YYYY")
    year, month, day = (value.split("-") + ["01", "01"])[:3]
    try:
        datetime.date(int(year), int(month), int(day))
    except ValueError:
        raise LexiconError(f"{where}: date {value!r} does not exist") from None
    return value


def _age(value: str, where: str) -> int | None:
    if not value:
        return None
    if not value.isdigit():
        raise LexiconError(f"{where}: age {value!r} is not a whole number of years")
    return int(value)


def _load_approvals(path: Path | Traversable, entities: Mapping[str, Entity]) -> tuple[Approval, ...]:
    """The approvals file, checked against the entities (none when the file is absent)."""
    if not path.is_file():
        return ()
    approvals: dict[str, Approval] = {}
    for line, row in _rows(path, APPROVAL_COLUMNS):
        where = f"{path.name}:{line}"
        approval_id = row["id"]
        if not approval_id or approval_id in approvals:
            raise LexiconError(f"{where}: empty or duplicate id {approval_id!r}")
        if row["product"] not in entities:
            raise LexiconError(f"{where}: unknown product {row['product']!r}")
        agency = entities.get(row["agency"])
        if agency is None:
            raise LexiconError(f"{where}: unknown agency {row['agency']!r}")
        if agency.type != "RegulatoryAgency":
            raise LexiconError(f"{where}: agency {agency.id!r} is a {agency.type}, not a RegulatoryAgency")
        min_age, max_age = _age(row["min_age"], where), _age(row["max_age"], where)
        if min_age is not None and max_age is not None and min_age > max_age:
            raise LexiconError(f"{where}: min_age {min_age} is above max_age {max_age}")
        if not row["indication"]:
            raise LexiconError(f"{where}: empty indication")
        if not row["source"]:
            raise LexiconError(f"{where}: approval {approval_id} has no source")
        approvals[approval_id] = Approval(
            id=approval_id,
            product=row["product"],
            agency=agency.id,
            date=_check_date(row["date"], where),
            min_age=min_age,
            max_age=max_age,
            indication=row["indication"],
            source=row["source"],
        )
    return tuple(approvals[k] for k in sorted(approvals))


def _name_owners(entities: Mapping[str, Entity]) -> dict[str, set[str]]:
    """Every name key, with the ids of the entities that carry it."""
    owners: dict[str, set[str]] = {}
    for entity in entities.values():
        for name in entity.names:
            owners.setdefault(name_key(name), set()).add(entity.id)
    return owners


def _load_ambiguities(path: Path | Traversable, entities: Mapping[str, Entity]) -> dict[str, Ambiguity]:
    """The recorded shared names, checked against the names the entities really
    carry; a name shared by several entities and not recorded is an error."""
    owners = _name_owners(entities)
    ambiguities: dict[str, Ambiguity] = {}
    rows = _rows(path, AMBIGUITY_COLUMNS) if path.is_file() else iter(())
    for line, row in rows:
        where = f"{path.name}:{line}"
        name, key = row["name"], name_key(row["name"])
        if not name or key in ambiguities:
            raise LexiconError(f"{where}: empty or duplicate name {name!r}")
        listed = _split(row["entities"])
        if len(set(listed)) < 2:
            raise LexiconError(f"{where}: {name!r} lists fewer than two entities")
        unknown = [e for e in listed if e not in entities]
        if unknown:
            raise LexiconError(f"{where}: {name!r} lists unknown entities {unknown}")
        carriers = owners.get(key, set())
        if not set(listed) <= carriers:
            raise LexiconError(
                f"{where}: {name!r} is not a name of {sorted(set(listed) - carriers)}"
            )
        if carriers != set(listed):
            raise LexiconError(
                f"{where}: {name!r} is also a name of {sorted(carriers - set(listed))}; list every entity that carries it"
            )
        resolve_to = row["resolve_to"] or None
        if resolve_to is not None and resolve_to not in listed:
            raise LexiconError(f"{where}: resolve_to {resolve_to!r} is not among the entities of {name!r}")
        ambiguities[key] = Ambiguity(name, tuple(listed), resolve_to, row["note"])
    clashes = {k: ids for k, ids in owners.items() if len(ids) > 1 and k not in ambiguities}
    if clashes:
        listing = "; ".join(f"{k!r}: {', '.join(sorted(ids))}" for k, ids in sorted(clashes.items()))
        raise LexiconError(f"{path.name}: names shared by several entities and not recorded: {listing}")
    return ambiguities


#: Attributes whose values are ids of other entities.
REFERENCE_ATTRIBUTES = ("targets", "developer", "part_of", "evaluates")


def _check_references(entities: Mapping[str, Entity]) -> None:
    for entity in entities.values():
        for name in REFERENCE_ATTRIBUTES:
            for target in entity.attribute(name):
                if target not in entities:
                    raise LexiconError(f"{entity.id}: {name} names unknown entity {target!r}")


@functools.cache
def bundled_lexicon() -> Lexicon:
    """The lexicon shipped with the package, parsed once."""
    return Lexicon.load()
