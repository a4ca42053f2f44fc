"""Rich tables for an evaluation report, for ``cartkg evaluate``.

Kept out of :mod:`cartkg.extract.evaluate` so the scorer has no display code, and out
of :mod:`cartkg.kg.cli` so the command stays one library call and a print.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from rich.markup import escape
from rich.table import Table

from cartkg.extract.evaluate import EvaluationReport, Score, StatusScores, micro

_COUNTS = ("gold", "predicted", "tp", "fp", "fn", "P", "R", "F1")


def _table(title: str, labels: tuple[str, ...], columns: tuple[str, ...]) -> Table:
    """Label columns on the left, then right-aligned figures."""
    table = Table(title=title, title_justify="left")
    for label in labels:
        table.add_column(label, no_wrap=True)
    for column in columns:
        table.add_column(column, justify="right")
    return table


def _cells(score: Score, *, totals: bool = True) -> list[str]:
    """gold, predicted (with ``totals``), tp, fp, fn, P, R, F1."""
    cells = [str(score.tp), str(score.fp), str(score.fn), f"{score.precision:.3f}", f"{score.recall:.3f}",
             f"{score.f1:.3f}"]
    return [str(score.tp + score.fn), str(score.tp + score.fp), *cells] if totals else cells


def score_table(title: str, first: str, scores: Mapping[str, Score], overall: Score) -> Table:
    """One row per key (a type, a predicate) and a micro-averaged last row."""
    table = _table(title, (first,), _COUNTS)
    for key, score in scores.items():
        table.add_row(key, *_cells(score))
    table.add_row("all (micro)", *_cells(overall), style="bold", end_section=True)
    return table


def normalization_table(report: EvaluationReport) -> Table:
    norm = report.normalization
    table = _table("Normalization: entity ids of span-matched mentions", ("measure",), ("value",))
    table.add_row("span-matched mentions", str(norm.compared))
    table.add_row("same entity id", str(norm.correct))
    table.add_row("accuracy", f"{norm.accuracy:.3f}")
    s = norm.score
    table.add_row("by (span, id): tp / fp / fn", f"{s.tp} / {s.fp} / {s.fn}")
    table.add_row("by (span, id): P / R / F1", f"{s.precision:.3f} / {s.recall:.3f} / {s.f1:.3f}")
    return table


def status_tables(report: EvaluationReport) -> Iterator[Table | str]:
    """Per-status scores, the confusion counts (gold, predicted), and the count of gold
    ``negated`` read as ``affirmed``, for mentions and for relations."""
    scores = _table("Assertion status of span-matched mentions and matched relations", ("over", "status"),
                    _COUNTS[2:])
    confusion = _table("Assertion status confusion", ("over", "gold", "predicted"), ("count",))
    sides: tuple[tuple[str, StatusScores], ...] = (
        ("mentions", report.mention_status), ("relations", report.relation_status)
    )
    for over, status in sides:
        for name, score in status.by_status.items():
            scores.add_row(over, name, *_cells(score, totals=False))
        # Summed over statuses, tp is the agreements: P = R = F1 = the accuracy.
        scores.add_row(over, "all (micro)", *_cells(micro(status.by_status.values()), totals=False), style="bold",
                       end_section=True)
        pairs = list(status.confusion.items())
        for i, ((gold, predicted), count) in enumerate(pairs):
            confusion.add_row(over, gold, predicted, str(count), style=None if gold == predicted else "yellow",
                              end_section=i == len(pairs) - 1)
    yield scores
    yield confusion
    mentions, relations = report.mention_status.negated_as_affirmed, report.relation_status.negated_as_affirmed
    style = "bold red" if mentions or relations else "bold"
    yield (f"[{style}]gold negated, predicted affirmed (none allowed): "
           f"mentions {mentions}, relations {relations}[/{style}]")


def errors_table(report: EvaluationReport, limit: int) -> Table:
    """The first ``limit`` mismatches (all when negative), each with its sentence."""
    shown = report.errors if limit < 0 else report.errors[:limit]
    table = Table(title=f"Errors: {len(shown)} of {len(report.errors)}", title_justify="left", show_lines=True)
    table.add_column("where", no_wrap=True)
    table.add_column("mismatch", overflow="fold", ratio=1)
    table.add_column("sentence", overflow="fold", ratio=1)
    for e in shown:
        lines = [f"{e.layer} {e.kind}", repr(e.text) if e.layer == "entity" else e.text]
        lines += [f"{side}: {value}" for side, value in (("gold", e.gold), ("predicted", e.predicted)) if value]
        table.add_row(f"{e.doc_id}\n{e.begin}-{e.end}", escape("\n".join(lines)), escape(e.sentence))
    return table


def report_tables(report: EvaluationReport, *, errors: int = 20) -> Iterator[Table | str]:
    """Everything ``cartkg evaluate`` prints, section by section."""
    yield f"Evaluated {len(report.documents)} gold document(s); {len(report.input_errors)} unusable gold file(s)."
    yield score_table("Entities: strict span and type", "type", report.entities, report.entities_overall)
    yield normalization_table(report)
    yield from status_tables(report)
    yield score_table("Relations: predicate, subject, object, overlapping sentence", "predicate",
                      report.relations, report.relations_overall)
    q = report.qualifiers
    yield ("Qualifiers on matched relations: none in the gold or the extraction" if q is None
           else f"Qualifiers on matched relations: P {q.precision:.3f} R {q.recall:.3f} "
                f"F1 {q.f1:.3f} (tp {q.tp}, fp {q.fp}, fn {q.fn})")
    if errors:
        yield errors_table(report, errors)
