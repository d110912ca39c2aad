// The status page: polls /api/status and redraws. No framework, no build step.
"use strict";

const POLL_MS = 1500;
const SVG_NS = "http://www.w3.org/2000/svg";
const COLORS = { receiver: "#2b6cb0", processor: "#6b46c1", exporter: "#2f855a", connector: "#b7791f" };
const SERIES = { sent: "#2f855a", failed: "#c53030", dropped: "#dd6b20", queue: "#2b6cb0" };

function el(tag, attrs = {}, text) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG_NS, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function fmt(n) {
  if (n === null || n === undefined) return "–";
  if (n >= 1e6) return (n / 1e6).toFixed(1) + "M";
  if (n >= 1e4) return (n / 1e3).toFixed(1) + "k";
  return Number.isInteger(n) ? String(n) : n.toFixed(n < 10 ? 2 : 1);
}

function duration(s) {
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  return (d ? d + "d " : "") + (h || d ? h + "h " : "") + m + "m " + Math.floor(s % 60) + "s";
}

// Rates of a graph node: processors are keyed per pipeline, their counters per id.
function ratesOf(status, node) {
  const found = status.components.find(c => c.kind === node.kind && c.id === node.id);
  return found ? found.rates : {};
}

// -- the pipeline picture: columns by longest path from a source, one box per node --
function drawGraph(status) {
  const { nodes, edges } = status.graph;
  const rank = {};
  nodes.forEach(n => { rank[n.key] = 0; });
  for (let pass = 0; pass < nodes.length; pass++) {
    let changed = false;
    for (const e of edges) {
      if (rank[e.to] < rank[e.from] + 1) { rank[e.to] = rank[e.from] + 1; changed = true; }
    }
    if (!changed) break;
  }
  const columns = [];
  nodes.forEach(n => { (columns[rank[n.key]] = columns[rank[n.key]] || []).push(n); });
  const W = 156, H = 50, GX = 40, GY = 14, PAD = 12;
  const pos = {};
  columns.forEach((col, x) => col.forEach((n, y) => { pos[n.key] = { x: PAD + x * (W + GX), y: PAD + y * (H + GY) }; }));
  const rows = Math.max(1, ...columns.map(c => c.length));
  const svg = el("svg:svg", { width: PAD * 2 + columns.length * (W + GX) - GX, height: PAD * 2 + rows * (H + GY) - GY,
                              role: "img", "aria-label": "pipeline graph" });
  for (const e of edges) {
    const a = pos[e.from], b = pos[e.to];
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2, mx = (x1 + x2) / 2;
    const path = el("svg:path", { class: "edge", d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}` });
    path.appendChild(el("svg:title", {}, `pipeline ${e.pipeline}`));
    svg.appendChild(path);
  }
  for (const n of nodes) {
    const { x, y } = pos[n.key], r = ratesOf(status, n);
    const g = el("svg:g", { class: "node", "data-key": n.key, transform: `translate(${x},${y})` });
    g.appendChild(el("svg:rect", { width: W, height: H, rx: 5, fill: "#fff", stroke: COLORS[n.kind], "stroke-width": 2 }));
    g.appendChild(el("svg:rect", { width: 5, height: H, fill: COLORS[n.kind] }));
    g.appendChild(el("svg:text", { x: 12, y: 17 }, n.id));
    g.appendChild(el("svg:text", { x: 12, y: 31, class: "rate" }, `${n.kind} · ${n.pipelines.join(", ")}`));
    const flow = `${fmt(r.received)} → ${fmt(r.sent)}/s`;
    g.appendChild(el("svg:text", { x: 12, y: 44, class: "rate" }, flow));
    const bad = (r.failed || 0) + (r.dropped || 0);
    if (bad > 0) g.appendChild(el("svg:text", { x: W - 8, y: 44, class: "rate bad", "text-anchor": "end" }, `✕ ${fmt(bad)}/s`));
    g.appendChild(el("svg:title", {}, `${n.kind} ${n.id}`));
    svg.appendChild(g);
  }
  const host = document.getElementById("pipelines");
  host.replaceChildren(svg);
  const names = el("p", { class: "muted" });
  names.textContent = "Pipelines: " + status.graph.pipelines.map(p =>
    `${p.name}: ${[p.receivers.join(", "), ...p.processors, p.exporters.join(", ")].join(" → ")}`).join(" · ");
  host.appendChild(names);
}

function drawComponents(status) {
  const body = document.querySelector("#components tbody");
  const rows = [...status.components].sort((a, b) => (a.kind + a.id).localeCompare(b.kind + b.id));
  body.replaceChildren(...rows.map(c => {
    const tr = el("tr", { "data-key": `${c.kind}:${c.id}` });
    tr.appendChild(el("td", {}, c.kind));
    tr.appendChild(el("td", {}, c.id));
    for (const col of ["received", "sent", "failed", "dropped"]) {
      const v = c.rates[col];
      tr.appendChild(el("td", { class: "num" + ((col === "failed" || col === "dropped") && v > 0 ? " bad" : "") }, fmt(v)));
    }
    return tr;
  }));
}

// -- per-exporter card: queue bar and a small chart of sent/failed/dropped per second and queue depth --
function chart(series) {
  const W = 280, H = 60, svg = el("svg:svg", { width: W, height: H, class: "chart" });
  svg.appendChild(el("svg:rect", { width: W, height: H, fill: "#fafbfc", stroke: "#d5d9e0" }));
  const n = series.sent.length;
  if (n < 2) return svg;
  const rateMax = Math.max(1, ...["sent", "failed", "dropped"].flatMap(k => series[k]));
  const queueMax = Math.max(1, ...series.queue);
  for (const [name, color] of Object.entries(SERIES)) {
    const max = name === "queue" ? queueMax : rateMax;
    const pts = series[name].map((v, i) => `${(i / (n - 1)) * (W - 4) + 2},${H - 3 - (v / max) * (H - 8)}`);
    svg.appendChild(el("svg:polyline", { points: pts.join(" "), fill: "none", stroke: color, "stroke-width": 1.5,
                                          "stroke-dasharray": name === "queue" ? "3 2" : "" }));
  }
  svg.appendChild(el("svg:text", { x: 4, y: 12, class: "rate" }, `max ${fmt(rateMax)}/s`));
  return svg;
}

function drawExporters(status) {
  const queues = Object.fromEntries(status.queues.map(q => [q.exporter, q]));
  const cards = Object.entries(status.charts).map(([id, series]) => {
    const card = el("div", { class: "card", "data-exporter": id });
    card.appendChild(el("h3", {}, id));
    const q = queues[id];
    if (q) {
      const full = q.capacity ? q.size / q.capacity : 0;
      card.appendChild(el("div", {}, `queue ${fmt(q.size)} / ${fmt(q.capacity)} batches`));
      const bar = el("div", { class: "bar" + (full > 0.8 ? " warn" : "") });
      bar.appendChild(el("div", { style: `width:${Math.min(100, full * 100).toFixed(1)}%` }));
      card.appendChild(bar);
    } else {
      card.appendChild(el("div", { class: "muted" }, "no sending queue"));
    }
    card.appendChild(chart(series));
    const legend = el("div", { class: "legend" });
    for (const [name, color] of Object.entries(SERIES)) legend.appendChild(el("span", { style: `color:${color}` }, "— " + name));
    card.appendChild(legend);
    return card;
  });
  document.getElementById("exporters").replaceChildren(...cards);
}

function drawCardinality(status) {
  const body = document.querySelector("#cardinality tbody");
  const rows = status.cardinality.map(r => {
    const tr = el("tr");
    const near = r.series !== null && r.limit && r.series >= 0.9 * r.limit;
    for (const [v, cls] of [[r.component, ""], [r.metric, ""], [fmt(r.series), near ? "num bad" : "num"],
                            [fmt(r.limit), "num"], [fmt(r.overflow), r.overflow > 0 ? "num bad" : "num"]]) {
      tr.appendChild(el("td", { class: cls }, v));
    }
    return tr;
  });
  if (!rows.length) {
    const tr = el("tr");
    tr.appendChild(el("td", { colspan: 5, class: "muted" }, "no limited metrics"));
    rows.push(tr);
  }
  body.replaceChildren(...rows);
}

function drawContributors(status) {
  const blocks = status.top_contributors.map(r => {
    const div = el("div", { class: "card" });
    div.appendChild(el("h3", {}, `${r.rule} `));
    div.firstChild.appendChild(el("span", { class: "muted" }, `(${r.connector}, by ${r.keys.join(", ")}, every ${r.window}s)`));
    if (!r.emitted) { div.appendChild(el("div", { class: "muted" }, "no window closed yet")); return div; }
    const table = el("table");
    for (const item of r.top) {
      const tr = el("tr");
      tr.appendChild(el("td", {}, r.keys.map(k => item.key[k]).join(" / ")));
      tr.appendChild(el("td", { class: "num" }, fmt(item.value)));
      table.appendChild(tr);
    }
    div.appendChild(table);
    div.appendChild(el("div", { class: "muted" },
      `others ${fmt(r.other)} · total ${fmt(r.total)} · ~${fmt(r.unique)} distinct · error ≤ ${fmt(r.error_bound)}`));
    return div;
  });
  const host = document.getElementById("contributors");
  host.className = "cards";
  host.replaceChildren(...(blocks.length ? blocks : [el("p", { class: "muted" }, "no top_contributors connector running")]));
}

function drawErrors(status) {
  document.getElementById("errors").replaceChildren(...status.errors.map(e => {
    const li = el("li", { class: e.level });
    li.textContent = `${new Date(e.time * 1000).toLocaleTimeString()} ${e.level} ${e.logger}: ${e.message}`;
    return li;
  }));
}

function draw(status) {
  const ready = document.getElementById("ready");
  ready.textContent = status.ready ? "ready" : "not ready";
  ready.className = "badge " + (status.ready ? "ok" : "bad");
  document.getElementById("uptime").textContent = "up " + duration(status.time - status.since);
  document.getElementById("updated").textContent = "updated " + new Date(status.time * 1000).toLocaleTimeString();
  document.getElementById("window").textContent = status.rate_window;
  drawGraph(status);
  drawComponents(status);
  drawExporters(status);
  drawCardinality(status);
  drawContributors(status);
  drawErrors(status);
  const config = document.getElementById("config");
  if (config.textContent !== status.config) config.textContent = status.config;
}

async function poll() {
  try {
    const response = await fetch("api/status", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    draw(await response.json());
  } catch (err) {
    const ready = document.getElementById("ready");
    ready.textContent = "unreachable";
    ready.className = "badge bad";
  }
  setTimeout(poll, POLL_MS);
}

poll();
