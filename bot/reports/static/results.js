// Results a shop can trust: lift over the holdout, order value and cost, satisfaction.
// Drawn from the same report API as dashboard.js, whose el/svg/pct/empty/linePath it uses.
"use strict";

function pp(value) {
  if (value === null || value === undefined) return "—";
  const sign = value > 0 ? "+" : value < 0 ? "−" : "";
  return `${sign}${Math.abs(value * 100).toFixed(1)} pp`;
}

function money(amount, currency) {
  return `${Number(amount).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })} ${currency}`;
}

function cell(tr, text, attrs) {
  const td = document.createElement("td");
  td.textContent = String(text);
  for (const [key, value] of Object.entries(attrs || {})) td.setAttribute(key, String(value));
  tr.appendChild(td);
  return td;
}

function noRows(body, columns, message) {
  const tr = document.createElement("tr");
  const td = cell(tr, message, { class: "empty" });
  td.colSpan = columns;
  body.appendChild(tr);
}

const VERDICT_WORDS = {
  lift: "lift", harm: "harm", no_clear_difference: "no clear difference",
  too_small: "too small to tell", no_holdout: "no holdout",
};

function liftRows(report) {
  const out = [];
  for (const flow of report.flows) {
    if (!flow.holdout) continue;
    out.push({ flow: flow.flow, scope: "overall", lift: flow.holdout.overall });
    for (const v of flow.holdout.variants) out.push({ flow: flow.flow, scope: "variant", lift: v });
  }
  return out;
}

function rowLabel(row) {
  const variant = row.scope === "overall" ? "all messaged" : `variant ${row.lift.variant || "—"}`;
  return `${row.flow} · ${variant}`;
}

// Lift per flow and variant: a point at the lift, a whisker over its 95 % interval, zero marked.
function drawLift(container, report) {
  const data = liftRows(report);
  if (!data.length) return empty(container, "No chain started in this period.");
  const labelW = 190, plotW = 430, rowH = 30, top = 26, width = labelW + plotW + 220;
  const height = top + data.length * rowH + 10;
  const ends = data.flatMap((d) => [d.lift.lift_low, d.lift.lift_high]).filter((v) => v !== null);
  const lo = Math.floor(Math.min(-0.05, ...ends) * 20) / 20;
  const hi = Math.ceil(Math.max(0.05, ...ends) * 20) / 20;
  const x = (v) => labelW + ((v - lo) / (hi - lo)) * plotW;
  const chart = svg(width, height);
  for (const tick of [lo, lo / 2, 0, hi / 2, hi]) {
    chart.appendChild(el("text", { x: x(tick), y: 14, "text-anchor": "middle" }, pp(tick)));
  }
  chart.appendChild(el("line", { class: "zero", x1: x(0), x2: x(0), y1: top - 6, y2: height,
    "data-x": x(0) }));
  data.forEach((d, i) => {
    const y = top + i * rowH, mid = y + rowH / 2, l = d.lift;
    const attrs = { "data-flow": d.flow, "data-scope": d.scope, "data-variant": l.variant || "",
      "data-verdict": l.verdict };
    chart.appendChild(el("text", { x: 4, y: mid + 4, class: d.scope }, rowLabel(d)));
    const words = VERDICT_WORDS[l.verdict];
    if (l.lift === null) {
      chart.appendChild(el("text", { x: labelW + plotW + 10, y: mid + 4, class: "verdict-word" }, words));
      return;
    }
    const kind = l.verdict === "too_small" ? " too-small" : "";
    chart.appendChild(el("line", { class: `lift-whisker${kind}`, x1: x(l.lift_low), x2: x(l.lift_high),
      y1: mid, y2: mid, ...attrs, "data-low": l.lift_low, "data-high": l.lift_high }));
    for (const end of [l.lift_low, l.lift_high]) {
      chart.appendChild(el("line", { class: `lift-whisker${kind}`, x1: x(end), x2: x(end), y1: mid - 6, y2: mid + 6 }));
    }
    const point = el("circle", { class: `lift-point ${l.verdict}`, cx: x(l.lift), cy: mid, r: 5,
      ...attrs, "data-value": l.lift });
    point.appendChild(el("title", {}, `${rowLabel(d)}: ${pp(l.lift)} [${pp(l.lift_low)}, ${pp(l.lift_high)}]`));
    chart.appendChild(point);
    chart.appendChild(el("text", { x: labelW + plotW + 10, y: mid + 4 },
      `${pp(l.lift)} [${pp(l.lift_low)}, ${pp(l.lift_high)}]`));
    chart.appendChild(el("text", { x: labelW + plotW + 10, y: mid + 16, class: `verdict-word ${l.verdict}` }, words));
  });
  container.replaceChildren(chart);
}

function fillLift(report) {
  const body = document.querySelector("#lift tbody");
  body.replaceChildren();
  for (const d of liftRows(report)) {
    const l = d.lift;
    const tr = document.createElement("tr");
    tr.className = d.scope;
    for (const [key, value] of [["flow", d.flow], ["scope", d.scope], ["variant", l.variant || ""],
      ["verdict", l.verdict]]) tr.dataset[key] = value;
    cell(tr, rowLabel(d));
    cell(tr, `${l.messaged_recovered}/${l.messaged_chains} (${pct(l.messaged_rate.value)})`);
    cell(tr, `${l.holdout_recovered}/${l.holdout_chains} (${pct(l.holdout_rate.value)})`);
    cell(tr, l.lift === null ? "—" : `${pp(l.lift)} [${pp(l.lift_low)}, ${pp(l.lift_high)}]`);
    const revenue = l.incremental_revenue.map(
      (r) => `${money(r.amount, r.currency)} (${money(r.low, r.currency)} … ${money(r.high, r.currency)})`);
    cell(tr, revenue.join("; ") || "—", { class: "revenue" });
    cell(tr, l.summary, { class: `summary ${l.verdict}` });
    body.appendChild(tr);
  }
  if (!body.children.length) noRows(body, 6, "No chain started in this period.");
}

// Average order of recovered orders per flow beside every order of the period, per currency.
function drawOrderValue(container, report) {
  const bars = [];
  for (const all of report.average_order) {
    bars.push({ group: "all orders", flow: "", a: all });
    for (const f of report.flows) {
      const mine = f.average_recovered_order.find((a) => a.currency === all.currency);
      if (mine) bars.push({ group: `recovered · ${f.flow}`, flow: f.flow, a: mine });
    }
  }
  if (!bars.length) return empty(container, "No order was paid in this period.");
  const labelW = 170, plotW = 420, rowH = 26, width = labelW + plotW + 200;
  const height = bars.length * rowH + 10;
  const max = Math.max(...bars.map((b) => Number(b.a.average)));
  const chart = svg(width, height);
  bars.forEach((b, i) => {
    const y = 5 + i * rowH;
    chart.appendChild(el("text", { x: 4, y: y + 15 }, b.group));
    chart.appendChild(el("rect", { class: b.flow ? "aov-bar recovered" : "aov-bar all", x: labelW,
      y: y + 3, height: rowH - 8, width: (Number(b.a.average) / max) * plotW,
      "data-flow": b.flow, "data-currency": b.a.currency, "data-value": b.a.average,
      "data-orders": b.a.orders }));
    chart.appendChild(el("text", { x: labelW + plotW + 10, y: y + 15 },
      `${money(b.a.average, b.a.currency)} · ${b.a.orders} orders`));
  });
  container.replaceChildren(chart);
}

function fillEconomics(report) {
  const body = document.querySelector("#economics tbody");
  body.replaceChildren();
  const allOrders = report.average_order.map((a) => money(a.average, a.currency)).join(", ") || "—";
  for (const f of report.flows) {
    const tr = document.createElement("tr");
    tr.dataset.flow = f.flow;
    const cost = f.cost;
    cell(tr, f.flow);
    cell(tr, f.recovered, { "data-field": "recovered" });
    cell(tr, f.average_recovered_order.map((a) => money(a.average, a.currency)).join(", ") || "—",
      { "data-field": "aov-recovered" });
    cell(tr, allOrders, { "data-field": "aov-all" });
    const perOrder = f.messages_per_recovered_order;
    cell(tr, perOrder === null ? "—" : perOrder.toFixed(2),
      { "data-field": "messages-per-order", "data-value": perOrder === null ? "" : perOrder });
    cell(tr, cost ? money(cost.total, cost.currency) : "—",
      { "data-field": "cost", "data-value": cost ? cost.total : "" });
    const per = cost && cost.per_recovered_order !== null ? cost.per_recovered_order : null;
    const unpriced = cost && cost.unpriced_messages ? ` (${cost.unpriced_messages} messages unpriced)` : "";
    cell(tr, per === null ? `—${unpriced}` : `${money(per, cost.currency)}${unpriced}`,
      { "data-field": "cost-per-order", "data-value": per === null ? "" : per });
    body.appendChild(tr);
  }
  if (!body.children.length) noRows(body, 7, "No touches were sent in this period.");
}

// CSAT (share of 4s and 5s) per day, over the days anyone answered.
function drawCsat(container, series) {
  const days = series.days;
  if (!days.some((d) => d.rated > 0)) return empty(container, "Nobody rated the help in this period.");
  const width = 760, height = 220, left = 50, right = 20, top = 20, bottom = 40;
  const step = days.length > 1 ? (width - left - right) / (days.length - 1) : 0;
  const x = (i) => left + i * step;
  const y = (v) => top + (1 - v) * (height - top - bottom);
  const chart = svg(width, height);
  chart.appendChild(el("line", { class: "axis", x1: left, x2: width - right, y1: y(0), y2: y(0) }));
  chart.appendChild(el("line", { class: "axis", x1: left, x2: left, y1: top, y2: y(0) }));
  chart.appendChild(el("text", { x: 4, y: top + 4 }, "100 %"));
  chart.appendChild(el("text", { x: 4, y: y(0) }, "0 %"));
  const labelEvery = Math.max(1, Math.ceil(days.length / 8));
  days.forEach((d, i) => {
    if (i % labelEvery === 0) {
      chart.appendChild(el("text", { x: x(i), y: height - 18, "text-anchor": "middle" }, d.day.slice(5)));
    }
  });
  const points = days.map((d, i) => (d.csat === null ? null : [x(i), y(d.csat)]));
  chart.appendChild(el("path", { class: "line csat", d: linePath(points), "data-series": "csat",
    "data-points": points.filter((p) => p !== null).length }));
  days.forEach((d, i) => {
    if (d.csat === null) return;
    const dot = el("circle", { class: "point csat", cx: x(i), cy: y(d.csat), r: 4,
      "data-day": d.day, "data-value": d.csat, "data-rated": d.rated });
    dot.appendChild(el("title", {}, `${d.day} CSAT: ${pct(d.csat)} of ${d.rated} answers`));
    chart.appendChild(dot);
    // the first and last labels lean inwards so the chart's edges do not clip them
    const anchor = days.length > 1 && i === 0 ? "start" : i === days.length - 1 && i > 0 ? "end" : "middle";
    chart.appendChild(el("text", { x: x(i), y: y(d.csat) - 8, "text-anchor": anchor },
      `${pct(d.csat)} (${d.rated} rated)`));
  });
  container.replaceChildren(chart);
}

function distributionBar(distribution, rated) {
  const width = 160, chart = svg(width, 14);
  let at = 0;
  for (const score of ["1", "2", "3", "4", "5"]) {
    const share = rated ? distribution[score] / rated : 0;
    chart.appendChild(el("rect", { class: `score-${score}`, x: at, y: 0, width: share * width, height: 14,
      "data-score": score, "data-count": distribution[score] }));
    at += share * width;
  }
  return chart;
}

function fillCsat(report) {
  const body = document.querySelector("#csat tbody");
  body.replaceChildren();
  for (const g of report.satisfaction) {
    if (!g.rated) continue;
    const tr = document.createElement("tr");
    tr.className = g.who;
    tr.dataset.who = g.who;
    tr.dataset.operator = g.operator || "";
    cell(tr, g.who === "all" ? "Everyone" : g.who === "bot" ? "Bot" : g.operator);
    cell(tr, g.rated, { "data-field": "rated" });
    cell(tr, `${pct(g.csat.value)} [${pct(g.csat.low)}, ${pct(g.csat.high)}]`,
      { "data-field": "csat", "data-value": g.csat.value });
    for (const score of ["1", "2", "3", "4", "5"]) {
      cell(tr, g.distribution[score], { "data-score": score });
    }
    cell(tr, "").appendChild(distributionBar(g.distribution, g.rated));
    body.appendChild(tr);
  }
  if (!body.children.length) noRows(body, 9, "Nobody rated the help in this period.");
}

// called by dashboard.js once both reports have loaded
function drawResults(report, series) {
  drawLift(document.getElementById("chart-lift"), report);
  fillLift(report);
  drawOrderValue(document.getElementById("chart-aov"), report);
  fillEconomics(report);
  drawCsat(document.getElementById("chart-csat"), series);
  fillCsat(report);
}
