"""The ``cartkg`` command: parses arguments, calls the library, prints.

Everything here is reachable from Python: :func:`cartkg.kg.build.build_graph`,
:func:`cartkg.kg.export.write_rdf`, :func:`cartkg.queries.library.run_query`,
:mod:`cartkg.kg.analyze`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cartkg import __version__

if TYPE_CHECKING:
    from cartkg.ontology.mappings import MappingSet

app = typer.Typer(
    name="cartkg",
    help="Knowledge graph of the literature on CAR T-cell therapy in children and young adults with B-ALL.",
    no_args_is_help=True,
    add_completion=False,
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

GraphOption = Annotated[
    Path, typer.Option("--graph", "-g", help="A graph file written by 'cartkg build -o', or a store folder "
                       "written by 'cartkg build --into'.")
]
StoreOption = Annotated[str, typer.Option("--store", help="Where to load the graph: oxigraph or memory.")]
EndpointOption = Annotated[
    Optional[str], typer.Option("--endpoint", help="A SPARQL 1.1 endpoint URL; credentials come from "
                                "CARTKG_SPARQL_USER/CARTKG_SPARQL_PASSWORD or CARTKG_SPARQL_TOKEN.")
]


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", markup=True, soft_wrap=True)
    return typer.Exit(code=2)


def _progress(label: str, total: int) -> Progress:
    """A progress bar on stderr, shown only on a terminal and for more than one item."""
    return Progress(
        TextColumn(f"[bold]{label}[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=err,
        transient=True,
        disable=total < 2 or not err.is_terminal,
    )


def _version(value: bool) -> None:
    if value:
        out.print(f"cartkg {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = None,
) -> None:
    """cartkg: text in, a queryable RDF graph out."""


@app.command()
def build(
    sources: Annotated[
        list[Path],
        typer.Argument(help="Text, Markdown, PubMed or JATS XML, BioC XML or JSON, or PDF files, or folders of them."),
    ],
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="Graph file to write.", dir_okay=False)
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="ttl, nt, nq, jsonld, xml or trig.")] = "ttl",
    into: Annotated[
        Optional[Path],
        typer.Option("--into", help="Persistent store folder to bring up to date (incremental build).",
                     file_okay=False),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="With --into, one line per document.")] = False,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1,
                                         help="Extract on this many local processes.")] = 1,
    scheduler: Annotated[Optional[str], typer.Option(
        "--scheduler", metavar="tcp://HOST:PORT", help="Extract on this Dask distributed cluster.")] = None,
    batch_size: Annotated[Optional[int], typer.Option(
        "--batch-size", min=1, help="Documents per batch sent to a worker, which sends back one shard "
                                    "[default: 64].")] = None,
    shards: Annotated[Optional[Path], typer.Option(
        "--shards", file_okay=False, help="With --into: workers write their N-Quads shards into this folder, "
                                          "which they and this machine can reach, and send back the paths.")] = None,
) -> None:
    """Read SOURCES, extract entities and relations, and write the graph to a file
    (-o) or bring a persistent store up to date (--into)."""
    from cartkg.extract.readers import expand_sources
    from cartkg.kg.build import build_graph
    from cartkg.kg.export import RDF_FORMATS, write_rdf

    if (output is None) == (into is None):
        raise _fail("give either --output FILE or --into STORE")
    if fmt not in RDF_FORMATS:
        raise _fail(f"unknown format {fmt!r}; choose one of {', '.join(RDF_FORMATS)}")
    if shards is not None and into is None:
        raise _fail("--shards goes with --into")
    total = len(expand_sources(sources))
    if into is not None:
        _build_into(sources, into, total, verbose, workers=workers, scheduler=scheduler, shard_dir=shards,
                    **({} if batch_size is None else {"batch_size": batch_size}))
        return
    with _progress("extracting", total) as progress:
        task = progress.add_task("", total=total)
        try:
            result = build_graph(sources, workers=workers, scheduler=scheduler, batch_size=batch_size,
                                 on_progress=lambda name: progress.update(task, advance=1, description=name))
        except (OSError, RuntimeError) as exc:
            raise _fail(f"the workers failed: {exc}") from None
    for error in result.errors:
        err.print(f"[red]error:[/red] {error}", markup=True, soft_wrap=True)
    summary = result.summary
    if summary.documents == 0:
        err.print("nothing was built: no readable document")
        raise typer.Exit(code=1)
    write_rdf(result.dataset, output, fmt)
    table = Table(title=f"Built {output}", show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("documents", str(summary.documents))
    table.add_row("sentences", str(summary.sentences))
    for etype, n in sorted(summary.mentions_by_type.items()):
        table.add_row(f"mentions: {etype}", str(n))
    table.add_row("entities", str(len(summary.entities)))
    for predicate, n in sorted(summary.relations_by_predicate.items()):
        table.add_row(f"relations: {predicate}", str(n))
    table.add_row("triples", str(len({q[:3] for q in result.dataset.quads((None, None, None, None))})))
    table.add_row("unreadable inputs", str(len(result.errors)))
    out.print(table)
    if result.errors:
        raise typer.Exit(code=1)


@app.command()
def query(
    name: Annotated[str, typer.Argument(help="A named query (see 'cartkg queries') or a .rq file.")],
    graph: GraphOption = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json.")] = "table",
    param: Annotated[
        Optional[list[str]], typer.Option("--param", "-p", help="A parameter as NAME=VALUE; may repeat.")
    ] = None,
    store: StoreOption = "oxigraph",
    endpoint: EndpointOption = None,
) -> None:
    """Run a named query (or a .rq file) on a built graph (--graph) or a SPARQL endpoint (--endpoint)."""
    from rich.markup import escape

    from cartkg.kg.remote import Endpoint, RemoteError, run_remote_query
    from cartkg.kg.store import StoreError, load_graph
    from cartkg.queries.library import QueryError, get_query, run_query

    if (graph is None) == (endpoint is None):
        raise _fail("give either --graph FILE|STORE or --endpoint URL")
    if fmt not in ("table", "csv", "json"):
        raise _fail(f"unknown format {fmt!r}; choose table, csv or json")
    parameters = {}
    for item in param or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise _fail(f"--param {item!r}: write it as NAME=VALUE")
        parameters[key] = value
    try:
        named = get_query(name)
        if endpoint is not None:
            result = run_remote_query(Endpoint.from_env(endpoint), named, parameters)
        else:
            result = run_query(load_graph(graph, store=store), named, parameters)
    except (QueryError, StoreError, RemoteError) as exc:
        raise _fail(escape(str(exc))) from None
    if fmt == "csv":
        sys.stdout.write(result.to_csv())
    elif fmt == "json":
        sys.stdout.write(result.to_json() + "\n")
    else:
        # An IRI column beside its label column adds little on screen: show the label.
        shown = [v for v in result.variables if f"{v}Label" not in result.variables]
        print_table(named.question or named.name, shown, result.records())


@app.command()
def push(
    graph: GraphOption,
    endpoint: EndpointOption = None,
    update_endpoint: Annotated[
        Optional[str], typer.Option("--update-endpoint", help="SPARQL Update URL, when it is not the "
                                    "--endpoint URL (Oxigraph server: .../update).")
    ] = None,
    gsp: Annotated[
        Optional[str], typer.Option("--gsp", help="Graph Store Protocol URL (Oxigraph server: .../store): "
                                    "each graph is replaced by one PUT instead of SPARQL Update.")
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Triples per SPARQL Update request; a larger graph takes "
                          "several requests, and is then not replaced atomically.")
    ] = 1000,
    timeout: Annotated[int, typer.Option("--timeout", min=1, help="Seconds to wait for each request.")] = 60,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="One line per graph pushed.")] = False,
) -> None:
    """Replace each named graph of a built graph on a remote triple store.

    Pushing twice leaves one copy. Exits 1 when some graphs were not pushed (running the
    push again completes it), 2 when the push cannot start (no graph, a bad URL,
    credentials half set in the environment).
    """
    from rich.markup import escape

    from cartkg.kg.remote import Endpoint, RemoteError
    from cartkg.kg.remote import push as push_graph
    from cartkg.kg.store import StoreError

    if endpoint is None and update_endpoint is None and gsp is None:
        raise _fail("give --endpoint URL (or --update-endpoint URL, or --gsp URL) to push to")

    def pushed(name: str, written: int, total: int) -> None:
        if verbose and written == total:
            err.print(f"pushed {_short(name)} ({total:,} triples)", markup=False, emoji=False, soft_wrap=True)

    try:
        target = Endpoint.from_env(endpoint, update=update_endpoint, gsp=gsp, timeout=timeout)
        report = push_graph(graph, target, batch_size=batch_size, on_request=pushed)
    except (RemoteError, StoreError) as exc:
        raise _fail(escape(str(exc))) from None
    for name, reason in report.failed.items():
        err.print(f"[red]error:[/red] {escape(_short(name))}: {escape(reason)}", markup=True, emoji=False,
                  soft_wrap=True)
    if not report.complete:
        for label, names in (("pushed", list(report.pushed)), ("not tried", report.skipped)):
            if names:
                err.print(f"{label}: {', '.join(map(_short, names))}", markup=False, emoji=False, soft_wrap=True)
    out.print(report.summary(), markup=False, emoji=False, soft_wrap=True)
    if not report.complete:
        raise typer.Exit(code=1)


def _build_into(sources: list[Path], into: Path, total: int, verbose: bool, **options: Any) -> None:
    """The incremental build behind ``cartkg build --into``."""
    from cartkg.kg.incremental import build_into

    with _progress("updating", total) as progress:
        task = progress.add_task("", total=total)

        def settled(outcome: str, name: str) -> None:
            progress.update(task, advance=1, description=name)
            if verbose:
                err.print(f"{outcome} {name}", markup=False, highlight=False)

        try:
            summary = build_into(sources, into, on_document=settled, **options)
        except NotADirectoryError as exc:
            raise _fail(f"{into}: cannot open the store ({exc})") from None
        except (OSError, RuntimeError) as exc:
            raise _fail(f"{into}: the build stopped ({exc}); documents already settled are kept, "
                        "run it again to finish") from None
    for error in summary.failed:
        err.print(f"[red]error:[/red] {error}", markup=True, soft_wrap=True)
    table = Table(title=f"Store {into}", show_header=False, title_justify="left")
    table.add_column("documents")
    table.add_column("count", justify="right")
    for name, count in summary.counts().items():
        table.add_row(name, str(count))
    out.print(table)
    if summary.failed:
        raise typer.Exit(code=1)


def print_table(title: str, columns: list[str], records: list[dict]) -> None:
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for record in records:
        table.add_row(*[_short(record.get(c)) for c in columns])
    out.print(table)
    out.print(f"{len(records)} row(s)")


def _short(value: object) -> str:
    """IRIs of the project's namespaces shown as CURIEs, for reading."""
    if value is None:
        return ""
    text = str(value)
    from cartkg.kg.iris import PREFIXES

    for prefix, namespace in PREFIXES.items():
        if text.startswith(str(namespace)):
            return f"{prefix}:{text[len(str(namespace)):]}"
    return text


@app.command("queries")
def list_named_queries() -> None:
    """List the named queries, each with its question."""
    from cartkg.queries.library import list_queries

    table = Table(title="Named queries", title_justify="left")
    table.add_column("name", no_wrap=True)
    table.add_column("question")
    table.add_column("parameters")
    for q in list_queries():
        params = ", ".join(f"{p.name} ({p.kind})" for p in q.parameters)
        table.add_row(q.name, q.question, params)
    out.print(table)


@app.command()
def analyze(
    graph: GraphOption,
    top: Annotated[int, typer.Option(help="How many central entities to list.")] = 10,
    entity: Annotated[
        Optional[str], typer.Option("--entity", "-e", help="List the entities linked to this one (label or id).")
    ] = None,
    path: Annotated[
        Optional[tuple[str, str]], typer.Option("--path", metavar="A B",
                                                help="Print the shortest evidence path between two entities.")
    ] = None,
    communities: Annotated[
        bool, typer.Option("--communities", help="List the Louvain communities of linked entities.")
    ] = False,
    compare: Annotated[
        Optional[tuple[str, str]], typer.Option("--compare", metavar="A B",
                                                help="Compare two entities' neighbours, by relation.")
    ] = None,
    store: StoreOption = "oxigraph",
) -> None:
    """Centrality, connected components and an entity's links, with networkx; on request
    an evidence path, the communities, or two entities' neighbourhoods side by side."""
    from cartkg.kg import analyze as an
    from cartkg.kg.store import StoreError, load_graph

    try:
        network = an.entity_graph(load_graph(graph, store=store))
    except StoreError as exc:
        raise _fail(str(exc)) from None
    try:  # unknown entities and missing paths fail before anything is printed
        found = an.evidence_path(network, *path) if path else None
        comparison = an.compare_neighbours(network, *compare) if compare else None
    except (KeyError, ValueError) as exc:
        raise _fail(str(exc.args[0])) from None
    rows = an.centrality(network, top=top)
    print_table(
        "Most central entities",
        ["label", "type", "degree", "betweenness"],
        [{"label": r.label, "type": r.type, "degree": r.degree, "betweenness": f"{r.betweenness:.3f}"} for r in rows],
    )
    parts = an.components(network)
    out.print(f"\n{len(parts)} connected component(s) of linked entities; sizes: "
              + ", ".join(str(len(c)) for c in parts))
    for i, component in enumerate(parts[1:6], start=2):
        out.print(f"  component {i}: " + ", ".join(component))
    if entity:
        try:
            links = an.neighbours(network, entity)
        except KeyError as exc:
            raise _fail(str(exc.args[0])) from None
        print_table(
            f"Linked to {entity}",
            ["predicate", "direction", "label", "weight"],
            [vars(link) for link in links],
        )
    if communities:
        out.print("\nLouvain communities (seeded):")
        for i, group in enumerate(an.communities(network), start=1):
            out.print(f"  community {i} ({len(group)}): " + ", ".join(group))
    if found is not None:
        out.print(f"\nEvidence path from {path[0]} to {path[1]} ({len(found.steps)} step(s)):")
        out.print(str(found), markup=False)
    if comparison is not None:
        print_table(f"Neighbours of {comparison.first} and {comparison.second}", comparison.columns,
                    comparison.rows())


@app.command()
def stats(graph: GraphOption, store: StoreOption = "oxigraph") -> None:
    """Counts of what a built graph holds."""
    from cartkg.kg.analyze import graph_stats
    from cartkg.kg.store import StoreError, load_graph

    try:
        figures = graph_stats(load_graph(graph, store=store, with_ontology=False))
    except StoreError as exc:
        raise _fail(str(exc)) from None
    table = Table(title=f"Graph {graph}", show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    for name, value in figures.items():
        if isinstance(value, dict):
            for key, n in value.items():
                table.add_row(f"{name}: {key}", str(n))
        else:
            table.add_row(name, str(value))
    out.print(table)


@app.command("export")
def export_command(
    graph: GraphOption,
    fmt: Annotated[list[str], typer.Option(
        "--format", "-f", help="ttl, nt, nq, trig, jsonld, xml, neo4j, kgx, graphml, gexf, sssom, or all; "
                               "repeat for several.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write the files into.")],
    store: StoreOption = "oxigraph",
) -> None:
    """Export the graph for other tools; read each export back and print what it kept
    (the loss report). Exits 1 when an export lost anything."""
    from cartkg.kg.export import ExportError
    from cartkg.kg.graph_exports import export_formats, export_graph
    from cartkg.kg.store import StoreError, load_graph

    try:
        formats = export_formats(fmt)
        loaded = load_graph(graph, store=store, with_ontology=False)
    except (StoreError, ExportError) as exc:
        raise _fail(str(exc)) from None
    failed, lossy = [], []
    for name in formats:  # one export failing does not stop the others
        try:
            report = export_graph(loaded, name, output)
        except (ExportError, OSError) as exc:
            err.print(f"[red]error:[/red] {name} export: {escape(str(exc))}", markup=True)
            failed.append(name)
            continue
        table = Table(title=f"{report.format} export ({report.scope})", title_justify="left")
        for column, justify in (("what", "left"), ("in graph", "right"), ("in export", "right"), ("lost", "right")):
            table.add_column(column, justify=justify)
        for count in report.counts:
            if count.added:
                table.add_row(count.what, "", str(count.in_export), "")
            else:
                table.add_row(count.what, str(count.in_graph), str(count.in_export), str(count.lost))
        out.print(table)
        out.print("\n".join(str(path) for path in report.files), markup=False, highlight=False)
        out.print("lossless\n" if report.lossless else "[red]some items were lost or added[/red]\n")
        if not report.lossless:
            lossy.append(name)
    if failed:
        raise _fail(f"not written: {', '.join(failed)}")
    if lossy:
        err.print(f"[red]not lossless:[/red] {', '.join(lossy)}", markup=True)
        raise typer.Exit(code=1)


@app.command()
def serve(
    graph: GraphOption,
    host: Annotated[str, typer.Option(help="Address to listen on; only 127.0.0.1 keeps it on this machine.")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.", min=0, max=65535)] = 8000,
    timeout: Annotated[float, typer.Option(help="Seconds a query may run before its client gets 503.")] = 30.0,
    limit: Annotated[int, typer.Option(help="Most rows or triples in an answer; more are cut off.", min=1)] = 10000,
) -> None:
    """Serve a built graph as a read-only SPARQL 1.1 endpoint, with a page to query it at /."""
    from cartkg.kg.serve import is_loopback, make_server
    from cartkg.kg.store import StoreError

    if timeout <= 0:
        raise _fail(f"--timeout {timeout:g}: give a number of seconds above 0")
    try:
        server = make_server(graph, host=host, port=port, timeout=timeout, limit=limit, log_requests=True)
    except StoreError as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    if not is_loopback(host):
        err.print(f"warning: {host} is not a loopback address: anyone who can reach it can query the graph "
                  "(read-only, without authentication)", markup=False, soft_wrap=True)
    out.print(f"serving {graph} at {server.url} (SPARQL endpoint {server.url}sparql); Ctrl-C stops",
              markup=False, soft_wrap=True)
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        err.print("stopped", markup=False)
    finally:
        server.server_close()


@app.command()
def validate(
    graph: GraphOption,
    reasoner: Annotated[bool, typer.Option("--reasoner/--no-reasoner", help="Run HermiT through owlready2.")] = True,
    shapes: Annotated[bool, typer.Option("--shapes/--no-shapes", help="Check the SHACL shapes with pySHACL.")] = True,
    java: Annotated[
        Optional[str], typer.Option("--java", help="Java executable for HermiT (default: java on the PATH).")
    ] = None,
    store: StoreOption = "oxigraph",
) -> None:
    """Check a built graph: consistency and inferred types (HermiT), completeness (SHACL).

    Exits 1 when the graph is inconsistent or breaks a shape, 2 when it cannot be checked.
    """
    from cartkg.kg.store import StoreError, load_graph
    from cartkg.ontology.reasoner import ReasonerUnavailable, find_java, reason
    from cartkg.ontology.shapes import validate_shapes

    try:
        if reasoner:
            find_java(java)
        quads = list(load_graph(graph, store=store, with_ontology=False).quads())
    except (StoreError, ReasonerUnavailable) as exc:
        raise _fail(str(exc)) from None
    failed = False
    if reasoner:
        try:
            report = reason(quads, java=java)
        except ReasonerUnavailable as exc:
            raise _fail(str(exc)) from None
        if report.consistent:
            out.print(f"reasoner (HermiT): consistent; {report.individuals} individuals, "
                      f"{len(report.inferred)} with inferred types")
            print_table("Inferred types", ["individual", "label", "classes"],
                        [{"individual": i.individual, "label": i.label, "classes": ", ".join(i.classes)}
                         for i in report.inferred])
        else:
            failed = True
            out.print(f"reasoner (HermiT): [red]inconsistent[/red]; {len(report.clashes)} individual(s) "
                      "in disjoint classes")
            for clash in report.clashes:
                out.print(f"  {_short(clash.individual)} ({clash.label}) is {' and '.join(clash.classes)}: "
                          + "; ".join(clash.reasons), soft_wrap=True)
    if shapes:
        result = validate_shapes(quads)
        if result.conforms:
            out.print("shapes (pySHACL): the graph conforms")
        else:
            failed = True
            out.print(f"shapes (pySHACL): [red]{len(result.violations)} violation(s)[/red]")
            print_table("SHACL violations", ["focus", "path", "value", "message"],
                        [vars(v) for v in result.violations])
    if failed:
        raise typer.Exit(code=1)


SssomOutputOption = Annotated[
    Optional[Path],
    typer.Option("--output", "-o", help="SSSOM/TSV file to write; standard output if omitted.", dir_okay=False),
]


def _write_mapping_set(mapping_set: MappingSet, output: Optional[Path]) -> None:
    """Write a mapping set to ``output``, or to standard output without one."""
    from cartkg.kg.export import write_sssom

    if output is None:
        sys.stdout.write(mapping_set.to_tsv())
        return
    try:
        write_sssom(mapping_set, output)
    except OSError as exc:
        culprit = f" ({exc.filename})" if exc.filename and Path(exc.filename) != output else ""
        raise _fail(f"{output}: cannot write: {exc.strerror or exc}{culprit}") from None


@app.command()
def mappings(output: SssomOutputOption = None) -> None:
    """Write the lexicon's checked cross-references as an SSSOM mapping set."""
    from cartkg.ontology.mappings import lexicon_mapping_set

    mapping_set = lexicon_mapping_set()
    _write_mapping_set(mapping_set, output)
    where = f" to {output}" if output else ""
    err.print(f"wrote {len(mapping_set.mappings)} mapping(s){where}", markup=False, soft_wrap=True)


@app.command()
def align(
    ontology: Annotated[
        Path, typer.Argument(help="Ontology file: .obo, .owl/.rdf/.xml (RDF/XML), .ttl, .nt, .n3 or .jsonld.")
    ],
    output: SssomOutputOption = None,
    min_confidence: Annotated[
        float, typer.Option("--min-confidence", min=0.0, max=1.0, help="Leave out candidates below this confidence.")
    ] = 0.0,
) -> None:
    """Match the lexicon's names with the classes of ONTOLOGY and write candidate SSSOM mappings."""
    from cartkg.ontology.align import AlignError, align_file

    try:
        result = align_file(ontology, min_confidence=min_confidence)
    except AlignError as exc:
        raise _fail(str(exc)) from None
    _write_mapping_set(result.mapping_set, output)
    read = result.ontology
    err.print(
        f"aligned {read.name}: {len(read.classes)} class(es), {read.obsolete} obsolete skipped; "
        f"{len(result.mapping_set.mappings)} candidate mapping(s) for {result.entities} entities",
        markup=False,
        soft_wrap=True,
    )


@app.command()
def evaluate(
    gold_dir: Annotated[Path, typer.Argument(help="Folder of NAME.ann.json gold files (tests/data/gold/README.md).")],
    errors: Annotated[int, typer.Option("--errors", help="How many errors to list: 0 none, -1 all.")] = 20,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, or json for the whole report.")] = "table",
) -> None:
    """Measure the extractor against a gold set: entities, ids, assertion status, relations.

    Exits 0 when it ran, whatever the scores; 2 when the gold set cannot be used.
    """
    import json

    from cartkg.extract.evaluate import GoldSetError
    from cartkg.extract.evaluate import evaluate as run_evaluation
    from cartkg.kg.evaluation_tables import report_tables

    if fmt not in ("table", "json"):
        raise _fail(f"unknown format {fmt!r}; choose table or json")
    if errors < -1:
        raise _fail(f"--errors {errors}: give a count, 0 for none or -1 for all")
    try:
        report = run_evaluation(gold_dir)
    except GoldSetError as exc:
        raise _fail(str(exc)) from None
    for error in report.input_errors:
        err.print(f"[red]error:[/red] {error}", markup=True, soft_wrap=True)
    if not report.documents:
        raise _fail(f"{gold_dir}: no usable gold file")
    if fmt == "json":
        sys.stdout.write(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
        return
    for part in report_tables(report, errors=errors):
        out.print(part)


@app.command()
def plot(
    graph: GraphOption,
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write the figures into.",
                                         file_okay=False)],
    formats: Annotated[
        Optional[list[str]], typer.Option("--format", "-f", help="png or svg; repeat for both (the default).")
    ] = None,
    store: StoreOption = "oxigraph",
) -> None:
    """Draw the entity network, the toxicity heatmap and the approvals timeline, and print the files."""
    from rich.markup import escape

    from cartkg.kg.plots import FORMATS, PlotError, plot_all
    from cartkg.kg.store import StoreError, load_graph

    try:
        written = plot_all(load_graph(graph, store=store, with_ontology=False), output, formats or FORMATS)
    except (StoreError, PlotError) as exc:
        raise _fail(escape(str(exc))) from None
    except OSError as exc:
        raise _fail(escape(f"{exc.filename or output}: cannot write: {exc.strerror or exc}")) from None
    for figure in written:
        out.print("\n".join(str(path) for path in figure.paths), markup=False, soft_wrap=True)


@app.command()
def report(
    graph: GraphOption,
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.", dir_okay=False)],
    store: StoreOption = "oxigraph",
) -> None:
    """Write one self-contained HTML page: counts, figures, every named query's answer, every fact."""
    from rich.markup import escape

    from cartkg.kg.report import write_report
    from cartkg.kg.store import StoreError, load_graph

    try:
        path = write_report(load_graph(graph, store=store, with_ontology=False), output)
    except StoreError as exc:
        raise _fail(escape(str(exc))) from None
    except OSError as exc:
        raise _fail(escape(f"{exc.filename or output}: cannot write: {exc.strerror or exc}")) from None
    out.print(str(path), markup=False, soft_wrap=True)


@app.command("fetch-pubmed")
def fetch_pubmed(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for the XML files and manifest.json.", file_okay=False)
    ],
    query: Annotated[Optional[str], typer.Option("--query", "-q", help="A PubMed search.")] = None,
    pmids: Annotated[
        Optional[Path],
        typer.Option("--pmids", help="A file of PMIDs, one or more a line; # starts a comment.", dir_okay=False),
    ] = None,
    max_results: Annotated[
        Optional[int], typer.Option("--max", min=1, help="At most this many records (a search gives 10,000 at most)."),
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=200, help="Records per request.")] = 200,
    date: Annotated[
        Optional[str], typer.Option("--date", help="Record this fetch date (YYYY-MM-DD); none is recorded otherwise.")
    ] = None,
    base_url: Annotated[
        Optional[str],
        typer.Option("--base-url", envvar="NCBI_EUTILS_URL", help="E-utilities base URL (a mirror, a test server)."),
    ] = None,
) -> None:
    """Fetch PubMed records by query or PMID list through NCBI E-utilities, saving the raw XML.

    NCBI_API_KEY and NCBI_EMAIL are read from the environment. Saved files are skipped, so a
    re-run fetches only what is new or failed. Exits 1 when some records could not be saved.
    """
    import datetime

    from rich.markup import escape

    from cartkg.kg.fetch import EutilsClient, EutilsConfig, FetchError, read_pmid_list
    from cartkg.kg.fetch import fetch_pubmed as fetch

    if (query is None) == (pmids is None):
        raise _fail("give --query or --pmids (one of them)")
    try:
        datetime.date.fromisoformat(date or "2000-01-01")
    except ValueError:
        raise _fail(escape(f"--date {date!r}: write it as YYYY-MM-DD")) from None
    try:
        ids = read_pmid_list(pmids) if pmids is not None else None
        config = EutilsConfig.from_env(**({"base_url": base_url} if base_url else {}))
        with EutilsClient(config) as client, Progress(
            TextColumn("[bold]fetching[/bold]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=err, transient=True, disable=not err.is_terminal,
        ) as progress:
            task = progress.add_task("", total=None)
            result = fetch(output, query=query, pmids=ids, max_results=max_results, batch_size=batch_size,
                           fetched=date, client=client,
                           on_progress=lambda done, total: progress.update(task, completed=done, total=total))
    except FetchError as exc:
        raise _fail(escape(str(exc))) from None
    except OSError as exc:
        raise _fail(escape(f"{exc.filename or output}: cannot write: {exc.strerror or exc}")) from None
    for failure in result.failures:
        err.print(f"[red]error:[/red] {escape(str(failure))}", markup=True, soft_wrap=True)
    if result.capped:
        err.print(f"note: PubMed gives only the first 10,000 of {result.count} records; narrow the query "
                  "(by date, for instance) and fetch each part", soft_wrap=True)
    out.print(result.summary(), soft_wrap=True, markup=False)
    if result.failures:
        raise typer.Exit(code=1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
