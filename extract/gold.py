"""The gold set: hand-made annotations (``NAME.ann.json``) read and checked.

The format is described in ``tests/data/gold/README.md``. Every file is checked
before it is used, because a wrong offset or a misspelt id would silently lower the
scores: a file that breaks the format gives one :class:`ReadError` naming the file and
the problem, and the rest of the batch is still read, as :mod:`.readers` does for texts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from cartkg.ontology.lexicon import Lexicon, bundled_lexicon

from .readers import read_document
from .records import AssertionStatus, Document, ReadError

ANNOTATION_SUFFIX = ".ann.json"
#: Where the text is looked for when a file gives no ``text_file``: NAME.md, then NAME.txt.
TEXT_SUFFIXES = (".md", ".txt")
STATUSES = tuple(s.value for s in AssertionStatus)

_ORGANIZATIONS = frozenset({"Organization", "WorkingGroup", "ExpertGroup", "Consortium", "RegulatoryAgency"})
#: The predicates a relation may have, with the types of its subject and its object.
PREDICATES: Mapping[str, tuple[frozenset[str], frozenset[str]]] = {
    "targets": (frozenset({"CARTProduct"}), frozenset({"Antigen"})),
    "treats": (frozenset({"CARTProduct", "Intervention"}), frozenset({"Disease"})),
    "hasAdverseEvent": (frozenset({"CARTProduct"}), frozenset({"Toxicity"})),
    "managedWith": (frozenset({"Toxicity"}), frozenset({"Intervention"})),
    "evaluates": (frozenset({"ClinicalTrial"}), frozenset({"CARTProduct"})),
    "approvedBy": (frozenset({"CARTProduct", "Intervention"}), frozenset({"RegulatoryAgency"})),
    "partOf": (_ORGANIZATIONS, _ORGANIZATIONS),
    "antigenLossCauses": (frozenset({"Antigen"}), frozenset({"Disease"})),
}
QUALIFIER_KINDS = frozenset({
    "incidence", "grade", "count", "age", "min_age", "max_age", "year", "duration",
    "complete_remission", "efs", "os", "mrd_negativity", "population",
})

_FILE_KEYS = {"id", "text_file", "note", "entities", "relations"}
_ENTITY_KEYS = {"begin", "end", "text", "entity", "type", "status"}
_RELATION_KEYS = {"predicate", "subject", "object", "status", "sentence", "qualifiers"}
_QUALIFIER_KEYS = {"kind", "value", "unit"}


_T = TypeVar("_T")


class GoldSetError(ValueError):
    """A gold folder that cannot be used at all (missing, or holding no annotation)."""


class _Invalid(ValueError):
    """One problem in one annotation file; the message says where."""


@dataclass(frozen=True)
class GoldMention:
    """An annotated mention: ``document.text[begin:end]`` names lexicon entity ``entity``."""

    begin: int
    end: int
    text: str
    entity: str
    type: str
    status: str


@dataclass(frozen=True)
class GoldQualifier:
    """A number (or, for ``population``, a short text) the sentence attaches to a relation."""

    kind: str
    value: float | str
    unit: str


@dataclass(frozen=True)
class GoldRelation:
    """An annotated relation and the sentence ``[begin, end)`` that states it."""

    predicate: str
    subject: str
    object: str
    status: str
    sentence: tuple[int, int]
    qualifiers: tuple[GoldQualifier, ...] | None = None


@dataclass(frozen=True)
class GoldDocument:
    """One annotated text: the document as the project's reader reads it (its id is the
    gold file's ``id``), and its gold; ``source`` is the annotation file."""

    source: str
    document: Document
    entities: tuple[GoldMention, ...]
    relations: tuple[GoldRelation, ...]
    note: str = ""

    @property
    def id(self) -> str:
        return self.document.id


def annotation_files(directory: str | Path) -> list[Path]:
    """The ``*.ann.json`` files of a gold folder, in name order; :class:`GoldSetError`
    when the folder is missing or holds none."""
    directory = Path(directory)
    if not directory.is_dir():
        raise GoldSetError(f"{directory}: not a folder")
    files = sorted(directory.glob(f"*{ANNOTATION_SUFFIX}"))
    if not files:
        raise GoldSetError(f"{directory}: no *{ANNOTATION_SUFFIX} gold file")
    return files


def load_gold(
    directory: str | Path, *, lexicon: Lexicon | None = None
) -> tuple[list[GoldDocument], list[ReadError]]:
    """Read and check every gold file of a folder: the usable documents, and one error
    per file that is not usable."""
    lexicon = lexicon if lexicon is not None else bundled_lexicon()
    documents: list[GoldDocument] = []
    errors: list[ReadError] = []
    sources: dict[str, str] = {}
    for path in annotation_files(directory):
        result = read_gold_file(path, lexicon=lexicon)
        if isinstance(result, GoldDocument) and result.id in sources:
            result = ReadError(str(path), f"id {result.id!r} is already used by {sources[result.id]}")
        if isinstance(result, ReadError):
            errors.append(result)
        else:
            sources[result.id] = path.name
            documents.append(result)
    return documents, errors


def read_gold_file(path: str | Path, *, lexicon: Lexicon | None = None) -> GoldDocument | ReadError:
    """Read one ``NAME.ann.json`` and its text; never raises on bad input."""
    path = Path(path)
    lexicon = lexicon if lexicon is not None else bundled_lexicon()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        return ReadError(str(path), f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})")
    except (OSError, UnicodeDecodeError) as exc:
        return ReadError(str(path), f"cannot read ({getattr(exc, 'strerror', None) or exc})")
    try:
        return _gold_document(path, data, lexicon)
    except _Invalid as exc:
        return ReadError(str(path), str(exc))


def _gold_document(path: Path, data: Any, lexicon: Lexicon) -> GoldDocument:
    if not isinstance(data, dict):
        raise _Invalid("the file must hold one JSON object")
    _check_keys(data, _FILE_KEYS, "the file")
    stem = path.name[: -len(ANNOTATION_SUFFIX)]
    doc_id = data.get("id", stem)
    if not isinstance(doc_id, str) or not doc_id:
        raise _Invalid("'id' must be a non-empty string")
    document = read_document(_text_path(path, data, stem), doc_id=doc_id)
    if isinstance(document, ReadError):
        raise _Invalid(f"text file {document.source}: {document.message}")
    entities = _items(data, "entities", lambda raw: _mention(raw, document.text, lexicon))
    relations = _items(data, "relations", lambda raw: _relation(raw, len(document.text), lexicon))
    _check_unique([(m.begin, m.end) for m in entities], "entities", "two entities at {0[0]}-{0[1]}")
    _check_unique(
        [(r.predicate, r.subject, r.object, r.sentence) for r in relations],
        "relations", "{0[0]}({0[1]}, {0[2]}) twice in sentence {0[3][0]}-{0[3][1]}",
    )
    note = data.get("note", "")
    return GoldDocument(str(path), document, tuple(entities), tuple(relations), str(note))


def _text_path(path: Path, data: dict, stem: str) -> Path:
    """The text file: ``text_file`` relative to the JSON, else NAME.md or NAME.txt beside it."""
    if "text_file" in data:
        if not isinstance(data["text_file"], str) or not data["text_file"]:
            raise _Invalid("'text_file' must be a non-empty string")
        return path.parent / data["text_file"]
    for suffix in TEXT_SUFFIXES:
        candidate = path.with_name(stem + suffix)
        if candidate.is_file():
            return candidate
    raise _Invalid(f"no text file: give 'text_file' or put {stem}.md or {stem}.txt beside it")


def _items(data: dict, key: str, parse: Callable[[dict], _T]) -> list[_T]:
    """Parse every item of a list; every bad item is a problem, the first one is told
    and the others counted."""
    raw = data.get(key, [])
    if not isinstance(raw, list):
        raise _Invalid(f"'{key}' must be a list")
    parsed: list[_T] = []
    problems: list[str] = []
    for index, item in enumerate(raw):
        try:
            if not isinstance(item, dict):
                raise _Invalid("must be a JSON object")
            parsed.append(parse(item))
        except _Invalid as exc:
            problems.append(f"{key}[{index}]: {exc}")
    if problems:
        more = f" (and {len(problems) - 1} more problem(s) in '{key}')" if len(problems) > 1 else ""
        raise _Invalid(problems[0] + more)
    return parsed


def _mention(raw: dict, text: str, lexicon: Lexicon) -> GoldMention:
    _check_keys(raw, _ENTITY_KEYS, "an entity", required=_ENTITY_KEYS)
    begin, end = _span(raw["begin"], raw["end"], len(text))
    if raw["text"] != text[begin:end]:
        raise _Invalid(f"'text' {raw['text']!r} differs from the text at {begin}-{end}, {text[begin:end]!r}")
    entity = _entity_id(raw["entity"], lexicon)
    if raw["type"] != lexicon[entity].type:
        raise _Invalid(f"type {raw['type']!r} is not the lexicon's type of {entity!r} ({lexicon[entity].type})")
    return GoldMention(begin, end, raw["text"], entity, raw["type"], _status(raw["status"]))


def _relation(raw: dict, length: int, lexicon: Lexicon) -> GoldRelation:
    _check_keys(raw, _RELATION_KEYS, "a relation", required=_RELATION_KEYS - {"qualifiers"})
    predicate = raw["predicate"]
    if not isinstance(predicate, str) or predicate not in PREDICATES:
        raise _Invalid(f"unknown predicate {predicate!r}; expected one of {', '.join(PREDICATES)}")
    subject, obj = _entity_id(raw["subject"], lexicon), _entity_id(raw["object"], lexicon)
    for role, entity, allowed in (("subject", subject, PREDICATES[predicate][0]),
                                  ("object", obj, PREDICATES[predicate][1])):
        if lexicon[entity].type not in allowed:
            raise _Invalid(f"{predicate}: {role} {entity!r} is a {lexicon[entity].type}, "
                           f"not a {' or '.join(sorted(allowed))}")
    sentence = raw["sentence"]
    if not isinstance(sentence, list) or len(sentence) != 2:
        raise _Invalid("'sentence' must be [begin, end]")
    qualifiers = None
    if "qualifiers" in raw:
        if not isinstance(raw["qualifiers"], list):
            raise _Invalid("'qualifiers' must be a list")
        qualifiers = tuple(_qualifier(q) for q in raw["qualifiers"])
    return GoldRelation(predicate, subject, obj, _status(raw["status"]), _span(*sentence, length), qualifiers)


def _qualifier(raw: Any) -> GoldQualifier:
    if not isinstance(raw, dict):
        raise _Invalid("a qualifier must be a JSON object")
    _check_keys(raw, _QUALIFIER_KEYS, "a qualifier", required={"kind", "value"})
    kind, value, unit = raw["kind"], raw["value"], raw.get("unit", "")
    if not isinstance(kind, str) or kind not in QUALIFIER_KINDS:
        raise _Invalid(f"unknown qualifier kind {kind!r}; expected one of {', '.join(sorted(QUALIFIER_KINDS))}")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)) or not isinstance(unit, str):
        raise _Invalid(f"qualifier {kind}: 'value' must be a number or a text, 'unit' a text")
    return GoldQualifier(kind, value if isinstance(value, str) else float(value), unit)


def _span(begin: Any, end: Any, length: int) -> tuple[int, int]:
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (begin, end)):
        raise _Invalid(f"offsets must be whole numbers, not {begin!r} and {end!r}")
    if not 0 <= begin < end <= length:
        raise _Invalid(f"offsets {begin}-{end} are not a span of the text (0-{length})")
    return begin, end


def _entity_id(value: Any, lexicon: Lexicon) -> str:
    if not isinstance(value, str) or value not in lexicon:
        raise _Invalid(f"entity id {value!r} is not in the lexicon")
    return value


def _status(value: Any) -> str:
    if value not in STATUSES:
        raise _Invalid(f"unknown status {value!r}; expected one of {', '.join(STATUSES)}")
    return value


def _check_keys(raw: dict, allowed: Set[str], what: str, *, required: Set[str] = frozenset()) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise _Invalid(f"{what} has unknown key(s) {', '.join(map(repr, unknown))}")
    missing = sorted(required - set(raw))
    if missing:
        raise _Invalid(f"{what} lacks key(s) {', '.join(map(repr, missing))}")


def _check_unique(keys: list[Any], where: str, message: str) -> None:
    seen: set[Any] = set()
    for key in keys:
        if key in seen:
            raise _Invalid(f"{where}: " + message.format(key))
        seen.add(key)
