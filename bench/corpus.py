"""A synthetic corpus for the build benchmark: N abstract-sized documents.

The sentences of the bundled corpus (``extract/corpus/*.md``) become templates: every
lexicon name in them is a slot of its entity type, and every number a slot of its
kind (a percentage, a year, a count). A document draws sentences for a Background, a
Methods, a Results and a Conclusions section, swaps each entity for another of the
same type (consistently within the document, keeping label for label and synonym for
synonym) and redraws the numbers, until it holds 180 to 250 words. It is written as
Markdown, the format of the bundled corpus, which the text reader takes directly.

Document ``i`` depends only on the seed and ``i``, so the first thousand documents
of a 10,000-document corpus are the 1,000-document corpus, and two runs with one
seed write the same bytes.

    python bench/corpus.py --n 1000 --seed 1 -o DIR
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import random
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from cartkg.extract.readers import parse_markdown
from cartkg.ontology.lexicon import Lexicon, bundled_lexicon, is_case_sensitive, name_key

#: Words in a document, title and headings included.
MIN_WORDS, MAX_WORDS = 180, 250
#: Template sentences outside this length (in words) are left out.
MIN_SENTENCE_WORDS, MAX_SENTENCE_WORDS = 6, 60
#: Documents per sub-folder of the output.
SHARD = 1000

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")
_NUMBER = re.compile(r"(?<![\w.\-/])(\d+(?:\.\d+)?)(?![\w\-/])(\s*%)?")
_KEEP_AFTER = re.compile(r"(?:grade|phase|Grade|Phase|day|days|week|weeks|IL-|CD)\s*$")


@dataclass(frozen=True)
class Slot:
    """An entity name in a template: its entity, type, whether it was the label, and
    whether it starts the sentence (so the name put in its place is capitalised)."""

    entity_id: str
    entity_type: str
    is_label: bool
    capitalised: bool


#: A template is literal text and slots, in order.
Template = tuple[str | Slot, ...]


@dataclass(frozen=True)
class Templates:
    """The template sentences, split into those that report numbers (results) and the rest."""

    results: tuple[Template, ...]
    others: tuple[Template, ...]
    methods: tuple[Template, ...]


def _name_pattern(lexicon: Lexicon) -> tuple[re.Pattern[str], dict[str, str]]:
    """One pattern for every unambiguous lexicon name (longest first), and the entity
    of each name by :func:`name_key`."""
    owner: dict[str, str] = {}
    for entity in lexicon:
        for name in entity.names:
            key = name_key(name)
            if key in lexicon.ambiguities:
                resolved = lexicon.ambiguities[key].resolve_to
                if resolved is None:
                    continue
                owner[key] = resolved
            else:
                owner.setdefault(key, entity.id)
    names = sorted({n for e in lexicon for n in e.names if name_key(n) in owner}, key=len, reverse=True)
    parts = [re.escape(n) if is_case_sensitive(n) else f"(?i:{re.escape(n)})" for n in names]
    return re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(parts) + r")(?![A-Za-z0-9])"), owner


def _template(sentence: str, lexicon: Lexicon, pattern: re.Pattern[str], owner: dict[str, str]) -> Template:
    parts: list[str | Slot] = []
    pos = 0
    for match in pattern.finditer(sentence):
        text = match.group()
        key = text if text in owner else text.lower()
        entity_id = owner.get(key)
        if entity_id is None:
            continue
        entity = lexicon[entity_id]
        parts.append(sentence[pos:match.start()])
        parts.append(Slot(entity_id, entity.type, name_key(text) == name_key(entity.label), match.start() == 0))
        pos = match.end()
    parts.append(sentence[pos:])
    return tuple(p for p in parts if p != "")


def corpus_sentences(folder: Path | None = None) -> list[str]:
    """The sentences of the bundled corpus (or of ``folder``'s Markdown files)."""
    root = folder if folder is not None else Path(str(resources.files("cartkg.extract") / "corpus"))
    sentences: list[str] = []
    for path in sorted(root.glob("*.md")):
        _, passages = parse_markdown(path.read_text(encoding="utf-8"))
        for passage in passages:
            for sentence in _SENTENCE_END.split(" ".join(passage.text.split())):
                if MIN_SENTENCE_WORDS <= len(sentence.split()) <= MAX_SENTENCE_WORDS:
                    sentences.append(sentence)
    return sentences


@functools.cache
def load_templates() -> Templates:
    """The bundled corpus as templates, built once per process."""
    lexicon = bundled_lexicon()
    pattern, owner = _name_pattern(lexicon)
    results, others, methods = [], [], []
    for sentence in corpus_sentences():
        template = _template(sentence, lexicon, pattern, owner)
        if not any(isinstance(p, Slot) for p in template):
            continue  # every sentence names something the extractor can find
        literal = "".join(p for p in template if isinstance(p, str))
        if "%" in literal:
            results.append(template)
        elif any(isinstance(p, Slot) and p.entity_type == "ClinicalTrial" for p in template):
            methods.append(template)
        else:
            others.append(template)
    return Templates(tuple(results), tuple(others), tuple(methods))


def _vary_numbers(text: str, rng: random.Random) -> str:
    """Redraw the numbers of a literal part: percentages, years and counts; grades,
    phases, small numbers and numbers inside names stay."""

    def redraw(match: re.Match[str]) -> str:
        number, percent = match.group(1), match.group(2)
        if _KEEP_AFTER.search(text, 0, match.start()):
            return match.group()
        decimals = len(number.split(".")[1]) if "." in number else 0
        value = float(number)
        if percent:
            new = rng.uniform(1, 99)
        elif decimals == 0 and 1990 <= value <= 2030:
            new = rng.randint(2010, 2025)
        elif decimals == 0 and value <= 4:
            return match.group()
        else:
            new = rng.uniform(max(1.0, value / 2), value * 2 + 5)
        return (f"{new:.{decimals}f}" if decimals else str(int(round(new)))) + (percent or "")

    return _NUMBER.sub(redraw, text)


class _Swapper:
    """One document's entity swap: each entity becomes another of its type, the same
    one every time it is named in the document."""

    def __init__(self, lexicon: Lexicon, rng: random.Random):
        self.lexicon = lexicon
        self.rng = rng
        self.chosen: dict[str, str] = {}

    def name(self, slot: Slot) -> str:
        if slot.entity_id not in self.chosen:
            pool = [e.id for e in self.lexicon.of_type(slot.entity_type)]
            self.chosen[slot.entity_id] = self.rng.choice(pool)
        entity = self.lexicon[self.chosen[slot.entity_id]]
        names = [n for n in entity.synonyms if name_key(n) not in self.lexicon.ambiguities]
        if slot.is_label or not names:
            name = entity.label
        else:
            name = self.rng.choice(names)
        return name[:1].upper() + name[1:] if slot.capitalised and not is_case_sensitive(name) else name


def _render(template: Template, swapper: _Swapper, rng: random.Random) -> str:
    return "".join(swapper.name(p) if isinstance(p, Slot) else _vary_numbers(p, rng) for p in template)


_TITLES = (
    "{product} in {disease}: {outcome}",
    "Outcomes of {product} for {disease} in children and young adults",
    "{toxicity} after {product}: a {kind} of {count} patients",
    "{product} and {toxicity} in {disease}: {outcome}",
)
_OUTCOMES = ("remission, relapse and toxicity", "a multicentre experience", "results of a phase 2 study",
             "what the trials add", "real-world outcomes", "long-term follow-up")
_KINDS = ("cohort study", "registry analysis", "retrospective review", "single-centre series")


def document(index: int, seed: int = 0) -> str:
    """Document ``index`` of the corpus drawn with ``seed``, as Markdown."""
    rng = random.Random(f"cartkg-bench-{seed}-{index}")
    lexicon = bundled_lexicon()
    templates = load_templates()
    swapper = _Swapper(lexicon, rng)

    used: set[int] = set()

    def pick(pool: Sequence[Template]) -> Template | None:
        """A template of ``pool`` not yet used in this document."""
        free = [t for t in pool if id(t) not in used]
        if not free:
            return None
        template = free[rng.randrange(len(free))]
        used.add(id(template))
        return template

    title = rng.choice(_TITLES).format(
        product=lexicon[rng.choice([e.id for e in lexicon.of_type("CARTProduct")])].label,
        disease=lexicon[rng.choice([e.id for e in lexicon.of_type("Disease")])].label,
        toxicity=lexicon[rng.choice([e.id for e in lexicon.of_type("Toxicity")])].label,
        outcome=rng.choice(_OUTCOMES), kind=rng.choice(_KINDS), count=rng.randint(12, 480))
    title = title[:1].upper() + title[1:]
    headings = ("Background", "Methods", "Results", "Conclusions")
    sections: dict[str, list[str]] = {h: [] for h in headings}
    words = len(title.split()) + 1 + 2 * len(headings)
    target = rng.randint(MIN_WORDS + 10, MAX_WORDS - 10)
    plan = [("Background", templates.others), ("Background", templates.others),
            ("Methods", templates.methods), ("Results", templates.results),
            ("Results", templates.results), ("Conclusions", templates.others)]
    extra = [("Results", templates.results), ("Background", templates.others), ("Methods", templates.methods)]
    attempts = 0
    while words < target and attempts < 200:
        heading, pool = plan.pop(0) if plan else extra[attempts % len(extra)]
        attempts += 1
        template = pick(pool)
        if template is None:
            continue
        sentence = _render(template, swapper, rng)
        size = len(sentence.split())
        if words + size > MAX_WORDS:
            continue
        sections[heading].append(sentence)
        words += size
    lines = [f"# {title}", ""]
    for heading in headings:
        if sections[heading]:
            lines += [f"## {heading}", "", " ".join(sections[heading]), ""]
    return "\n".join(lines)


def documents(n: int, seed: int = 0) -> Iterator[tuple[str, str]]:
    """``n`` documents as (relative path, Markdown text); each differs from all others
    (a draw that repeats an earlier text is replaced by the next draw)."""
    seen: set[bytes] = set()
    for i in range(n):
        attempt = 0
        while True:
            text = document(i if attempt == 0 else i + 1_000_000_000 * attempt, seed)
            digest = hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
            if digest not in seen:
                seen.add(digest)
                break
            attempt += 1
        yield f"{i // SHARD:04d}/doc-{i:07d}.md", text


def write_corpus(folder: str | Path, n: int, seed: int = 0) -> list[Path]:
    """Write ``n`` documents under ``folder`` (sub-folders of :data:`SHARD`); the paths."""
    root = Path(folder)
    paths = []
    for relative, text in documents(n, seed):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="number of documents (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="folder to write into")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")
    paths = write_corpus(args.output, args.n, args.seed)
    words = sum(len(p.read_text(encoding="utf-8").split()) for p in paths)
    print(f"{len(paths)} documents, {words} words, in {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
