"""The lexicon: every entity of the field, with its type, names and identifiers.

The single source of truth for an entity. The entity ruler's patterns, the graph's
labels and the cross-references are all generated from it. The data are TSV files in
``ontology/lexicon/``: one file per entity type (the file's name gives the type unless
a ``type`` column says otherwise), ``xrefs.tsv`` with one checked cross-reference per
row and the source it was checked in, and ``prefixes.tsv`` for the CURIE prefixes.
"""

from __future__ import annotations

import csv
import functools
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
#: SKOS mapping predicates a cross-reference may carry.
MAPPINGS = ("exactMatch", "closeMatch", "broadMatch", "narrowMatch", "relatedMatch")


class LexiconError(ValueError):
    """A lexicon file that breaks the format; the message names file and line."""


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
    """The entities, by id, with the CURIE converter for their cross-references."""

    def __init__(self, entities: Mapping[str, Entity], converter: curies.Converter):
        self.entities = dict(entities)
        self.converter = converter

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
        return cls(entities, converter)


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
