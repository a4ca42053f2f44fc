// The query page: runs a typed query (POST /sparql) or a named one (GET /named/NAME),
// and shows the answer. Every value goes into the page as text, never as markup.
"use strict";

const prefixes = JSON.parse(document.body.dataset.prefixes || "{}");
const byId = (id) => document.getElementById(id);
const ACCEPT = "application/sparql-results+json, text/turtle;q=0.9";

function shortIri(iri) {
  for (const [prefix, namespace] of Object.entries(prefixes)) {
    if (iri.startsWith(namespace)) return prefix + ":" + iri.slice(namespace.length);
  }
  return iri;
}

function termText(term) {
  if (!term) return "";
  if (term.type === "uri") return shortIri(term.value);
  if (term.type === "bnode") return "_:" + term.value;
  if (term["xml:lang"]) return term.value + "@" + term["xml:lang"];
  return term.value;
}

function clear() {
  byId("results").replaceChildren();
  byId("graph-results").hidden = true;
  byId("graph-results").textContent = "";
  byId("error").hidden = true;
  byId("error").textContent = "";
}

function showTable(data) {
  const table = byId("results");
  const variables = data.head.vars || [];
  const head = table.createTHead().insertRow();
  for (const variable of variables) {
    const th = document.createElement("th");
    th.textContent = variable;
    head.appendChild(th);
  }
  const body = table.createTBody();
  for (const binding of data.results.bindings) {
    const row = body.insertRow();
    for (const variable of variables) {
      const cell = row.insertCell();
      cell.textContent = termText(binding[variable]);
      if (binding[variable]) cell.title = binding[variable].value;
    }
  }
  return data.results.bindings.length;
}

async function run(label, url, init) {
  clear();
  byId("status").textContent = "running…";
  const started = performance.now();
  let response, text;
  try {
    response = await fetch(url, { ...init, headers: { Accept: ACCEPT } });
    text = await response.text();
  } catch (error) {
    byId("status").textContent = "";
    byId("error").textContent = "no answer from the endpoint: " + error.message;
    byId("error").hidden = false;
    return;
  }
  const took = ` in ${Math.round(performance.now() - started)} ms`;
  if (!response.ok) {
    byId("status").textContent = "";
    byId("error").textContent = `${response.status} ${response.statusText}: ${text}`;
    byId("error").hidden = false;
    return;
  }
  let summary;
  if ((response.headers.get("Content-Type") || "").startsWith("application/sparql-results+json")) {
    const data = JSON.parse(text);
    summary = "boolean" in data ? "answer: " + data.boolean : showTable(data) + " row(s)";
  } else {
    byId("graph-results").textContent = text;
    byId("graph-results").hidden = false;
    summary = "graph";
  }
  const limit = response.headers.get("Cartkg-Result-Limit");
  const cut = response.headers.get("Cartkg-Truncated") ? `; cut off at the endpoint's limit of ${limit}` : "";
  byId("status").textContent = `${label}: ${summary}${took}${cut}`;
}

function runTyped(event) {
  if (event) event.preventDefault();
  const query = byId("query").value;
  history.replaceState(null, "", "?" + new URLSearchParams({ query }));
  run("query", "sparql", { method: "POST", body: new URLSearchParams({ query }) });
}

function runNamed(event) {
  event.preventDefault();
  const form = event.target;
  const params = new URLSearchParams();
  for (const input of form.querySelectorAll("input[name]")) {
    if (input.value.trim()) params.append(input.name, input.value.trim());
  }
  history.replaceState(null, "", "?" + new URLSearchParams([["named", form.dataset.name], ...params]));
  run(form.dataset.name, "named/" + encodeURIComponent(form.dataset.name) + "?" + params, { method: "GET" });
}

function showQuery(event) {
  const form = event.target.closest("form");
  byId("query").value = form.querySelector("pre.text").textContent;
  byId("query").focus();
}

function start() {
  byId("query-form").addEventListener("submit", runTyped);
  const forms = Array.from(document.querySelectorAll("form.named"));
  for (const form of forms) {
    form.addEventListener("submit", runNamed);
    form.querySelector("button.show").addEventListener("click", showQuery);
  }
  // ?named=NAME&PARAM=VALUE… or ?query=TEXT runs on arrival, so a result can be linked to.
  const wanted = new URLSearchParams(location.search);
  if (wanted.has("named")) {
    const form = forms.find((f) => f.dataset.name === wanted.get("named"));
    if (!form) return;
    for (const input of form.querySelectorAll("input[name]")) {
      if (wanted.has(input.name)) input.value = wanted.get(input.name);
    }
    form.requestSubmit();
  } else if (wanted.has("query")) {
    byId("query").value = wanted.get("query");
    runTyped();
  }
}

start();
