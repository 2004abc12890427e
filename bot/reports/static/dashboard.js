// Nudge results dashboard: reads the console report API and draws inline SVG (no libraries).
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const API = "/console/api/reports/";

function el(name, attrs, text) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function svg(width, height) {
  return el("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img" });
}

function pct(value) {
  return value === null || value === undefined ? "—" : `${(value * 100).toFixed(1)} %`;
}

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

function empty(container, message) {
  container.replaceChildren();
  const p = document.createElement("p");
  p.className = "empty";
  p.textContent = message;
  container.appendChild(p);
}

function rows(report) {
  const out = [];
  const flagged = new Set(report.flagged);
  for (const flow of report.flows) {
    for (const step of flow.steps) {
      for (const v of step.variants) {
        const key = `${flow.flow}/${step.step}/${v.variant}`;
        out.push({ flow: flow.flow, step: step.step, v, worse: flagged.has(key) });
      }
    }
  }
  return out;
}

function drawRecovery(container, report) {
  const data = rows(report);
  if (!data.length) return empty(container, "No touches were sent in this period.");
  const labelW = 230, plotW = 520, rowH = 26, top = 24, width = labelW + plotW + 90;
  const height = top + data.length * rowH + 10;
  const maxHigh = Math.max(0.05, ...data.map((d) => d.v.recovery_rate.high || 0));
  const x = (rate) => labelW + (rate / maxHigh) * plotW;
  const chart = svg(width, height);
  chart.appendChild(el("line", { class: "axis", x1: labelW, x2: labelW, y1: top - 6, y2: height }));
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    const at = x(tick * maxHigh);
    chart.appendChild(el("text", { x: at, y: 14, "text-anchor": "middle" }, pct(tick * maxHigh)));
  }
  data.forEach((d, i) => {
    const y = top + i * rowH;
    const r = d.v.recovery_rate;
    const label = `${d.flow} · ${d.step} · ${d.v.variant || "—"} (n=${r.n})`;
    chart.appendChild(el("text", { x: 4, y: y + 15 }, label));
    const bar = el("rect", {
      class: d.worse ? "bar worse" : "bar",
      x: labelW, y: y + 4, height: rowH - 10, width: Math.max(0, x(r.value || 0) - labelW),
      "data-flow": d.flow, "data-step": d.step, "data-variant": d.v.variant,
      "data-value": r.value === null ? "" : r.value, "data-n": r.n,
    });
    bar.appendChild(el("title", {}, `${label}: ${pct(r.value)} [${pct(r.low)}, ${pct(r.high)}]`));
    chart.appendChild(bar);
    if (r.low !== null) {
      const mid = y + rowH / 2 - 1;
      chart.appendChild(el("line", { class: "whisker", x1: x(r.low), x2: x(r.high), y1: mid, y2: mid,
        "data-low": r.low, "data-high": r.high }));
      for (const end of [r.low, r.high]) {
        chart.appendChild(el("line", { class: "whisker", x1: x(end), x2: x(end), y1: mid - 5, y2: mid + 5 }));
      }
    }
    chart.appendChild(el("text", { x: labelW + plotW + 10, y: y + 15 }, pct(r.value)));
  });
  container.replaceChildren(chart);
}

function drawFunnel(container, report) {
  const totals = { sent: 0, delivered: 0, read: 0, replied: 0, recovered: 0 };
  for (const d of rows(report)) for (const key of Object.keys(totals)) totals[key] += d.v[key];
  if (!totals.sent) return empty(container, "No touches were sent in this period.");
  const stages = Object.entries(totals);
  const width = 760, height = 230, barW = 110, gap = 40, base = 190;
  const chart = svg(width, height);
  stages.forEach(([name, count], i) => {
    const h = (count / totals.sent) * 160;
    const left = 20 + i * (barW + gap);
    chart.appendChild(el("rect", { class: "funnel-bar", x: left, y: base - h, width: barW, height: h,
      "data-stage": name, "data-value": count }));
    chart.appendChild(el("text", { x: left + barW / 2, y: base - h - 6, "text-anchor": "middle" },
      `${count} (${pct(count / totals.sent)})`));
    chart.appendChild(el("text", { x: left + barW / 2, y: base + 18, "text-anchor": "middle" }, name));
  });
  container.replaceChildren(chart);
}

function linePath(points) {
  let d = "", pen = "M";
  for (const p of points) {
    if (p === null) { pen = "M"; continue; }
    d += `${pen}${p[0].toFixed(1)},${p[1].toFixed(1)} `;
    pen = "L";
  }
  return d.trim();
}

function drawRates(container, series) {
  const days = series.days;
  if (!days.length || !days.some((d) => d.sent > 0)) return empty(container, "No touches were sent in this period.");
  const width = 760, height = 240, left = 50, right = 20, top = 20, bottom = 40;
  const values = days.flatMap((d) => [d.opt_out_rate || 0, d.handoff_rate || 0]);
  const maxY = Math.max(0.01, ...values) * 1.1;
  const step = days.length > 1 ? (width - left - right) / (days.length - 1) : 0;
  const x = (i) => left + i * step;
  const y = (v) => top + (1 - v / maxY) * (height - top - bottom);
  const chart = svg(width, height);
  chart.appendChild(el("line", { class: "axis", x1: left, x2: width - right, y1: y(0), y2: y(0) }));
  chart.appendChild(el("line", { class: "axis", x1: left, x2: left, y1: top, y2: y(0) }));
  chart.appendChild(el("text", { x: 4, y: top + 4 }, pct(maxY)));
  chart.appendChild(el("text", { x: 4, y: y(0) }, "0 %"));
  const labelEvery = Math.max(1, Math.ceil(days.length / 8));
  days.forEach((d, i) => {
    if (i % labelEvery === 0) {
      chart.appendChild(el("text", { x: x(i), y: height - 18, "text-anchor": "middle" }, d.day.slice(5)));
    }
  });
  for (const [key, cls, label] of [["opt_out_rate", "opt-out", "opt-out"], ["handoff_rate", "handoff", "handoff"]]) {
    const points = days.map((d, i) => (d[key] === null ? null : [x(i), y(d[key])]));
    const path = el("path", { class: `line ${cls}`, d: linePath(points),
      "data-series": key, "data-points": points.filter((p) => p !== null).length });
    chart.appendChild(path);
    days.forEach((d, i) => {
      if (d[key] === null) return;
      const dot = el("circle", { class: `point ${cls}`, cx: x(i), cy: y(d[key]), r: 3,
        "data-day": d.day, "data-value": d[key] });
      dot.appendChild(el("title", {}, `${d.day} ${label}: ${pct(d[key])} of ${d.sent}`));
      chart.appendChild(dot);
    });
  }
  chart.appendChild(el("rect", { class: "legend-opt-out", x: left + 10, y: height - 12, width: 10, height: 10 }));
  chart.appendChild(el("text", { x: left + 24, y: height - 3 }, "opt-out rate"));
  chart.appendChild(el("rect", { class: "legend-handoff", x: left + 120, y: height - 12, width: 10, height: 10 }));
  chart.appendChild(el("text", { x: left + 134, y: height - 3 }, "handoff rate"));
  container.replaceChildren(chart);
}

function fillTable(report) {
  const body = document.querySelector("#ab tbody");
  body.replaceChildren();
  for (const flow of report.flows) {
    for (const step of flow.steps) {
      for (const c of step.comparisons) {
        const tr = document.createElement("tr");
        if (c.worse) tr.className = "worse";
        const cells = [`${flow.flow} / ${step.step}`, c.variant, c.variant_sent, c.variant_recovered,
          `${c.control} (${c.control_recovered}/${c.control_sent})`,
          c.difference === null ? "—" : `${(c.difference * 100).toFixed(1)} pp`,
          c.p_value.toPrecision(3), c.worse ? "worse than control" : c.significant ? "better" : ""];
        cells.forEach((value, i) => {
          const td = document.createElement("td");
          td.textContent = String(value);
          if (i === 7 && c.worse) td.className = "flag";
          tr.appendChild(td);
        });
        body.appendChild(tr);
      }
    }
  }
  if (!body.children.length) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = 8; td.className = "empty"; td.textContent = "No touch has more than one variant.";
    tr.appendChild(td); body.appendChild(tr);
  }
}

function fillSummary(report) {
  const chains = report.flows.reduce((s, f) => s + f.chains, 0);
  const recovered = report.flows.reduce((s, f) => s + f.recovered, 0);
  const revenue = {};
  for (const f of report.flows) for (const m of f.recovered_revenue) {
    revenue[m.currency] = (revenue[m.currency] || 0) + Number(m.amount);
  }
  const conv = report.conversations;
  const cards = [["Chains", chains], ["Recovered", recovered],
    ["Recovery rate", pct(chains ? Math.min(recovered, chains) / chains : null)],
    ["Revenue", Object.entries(revenue).map(([c, a]) => `${a.toFixed(2)} ${c}`).join(", ") || "—"],
    ["Handoff rate", pct(conv.handoff_rate.value)], ["Deflection", pct(conv.deflection_rate.value)],
    ["Median first answer", conv.median_first_answer_seconds === null ? "—"
      : `${Math.round(conv.median_first_answer_seconds)} s`]];
  const box = document.getElementById("summary");
  box.replaceChildren();
  for (const [label, value] of cards) {
    const card = document.createElement("div");
    card.className = "card";
    card.textContent = label;
    const b = document.createElement("b");
    b.textContent = String(value);
    card.appendChild(b);
    box.appendChild(card);
  }
}

function fillFlows(report, chosen) {
  const select = document.getElementById("flow");
  const known = new Set([...select.options].map((o) => o.value));
  for (const f of report.flows) {
    if (!known.has(f.flow)) select.appendChild(new Option(f.flow, f.flow));
  }
  select.value = chosen;
}

async function getJson(name, params) {
  const response = await fetch(`${API}${name}?${params}`, { credentials: "same-origin" });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

async function load() {
  const status = document.getElementById("status");
  const params = new URLSearchParams();
  for (const id of ["from", "to", "flow", "shop"]) {
    const value = document.getElementById(id).value;
    if (value) params.set(id, value);
  }
  document.body.dataset.state = "loading";
  status.textContent = "loading…";
  try {
    const [report, series] = await Promise.all([getJson("recovery", params), getJson("timeseries", params)]);
    showPeriod(report);
    fillFlows(report, params.get("flow") || "");
    fillSummary(report);
    drawRecovery(document.getElementById("chart-recovery"), report);
    drawFunnel(document.getElementById("chart-funnel"), report);
    drawRates(document.getElementById("chart-rates"), series);
    fillTable(report);
    drawResults(report, series);
    status.textContent = `attribution window ${report.attribution_hours} h · generated ${report.generated_at}`;
    document.body.dataset.state = "ready";
  } catch (error) {
    status.textContent = `error: ${error.message}`;
    document.body.dataset.state = "error";
  }
}

// The period the service answered for: without from/to it ends at the service's clock, which
// in the sandbox may be days away from this browser's date.
function showPeriod(report) {
  const from = document.getElementById("from"), to = document.getElementById("to");
  if (!from.value) from.value = isoDay(new Date(report.period_from));
  if (!to.value) to.value = isoDay(new Date(new Date(report.period_to).getTime() - 1));
}

function init() {
  const query = new URLSearchParams(window.location.search);
  document.getElementById("from").value = query.get("from") || "";
  document.getElementById("to").value = query.get("to") || "";
  document.getElementById("shop").value = query.get("shop") || "default";
  const flow = query.get("flow") || "";
  if (flow) document.getElementById("flow").appendChild(new Option(flow, flow));
  document.getElementById("flow").value = flow;
  document.getElementById("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  load();
}

init();
