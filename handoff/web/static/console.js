// The operator console: queue, one chat, claim / reply / give back; live over SSE.
"use strict";
let selected = null;
let me = null;

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}

async function api(path, options) {
  const response = await fetch(path, Object.assign({credentials: "same-origin",
    headers: {"Content-Type": "application/json", "Accept": "application/json"}}, options));
  if (response.status === 401) { location.href = "/console/login"; throw new Error("logged out"); }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function waiting(seconds) {
  if (seconds == null) return "";
  if (seconds < 60) return seconds + " s";
  if (seconds < 3600) return Math.floor(seconds / 60) + " min";
  return Math.floor(seconds / 3600) + " h " + Math.floor(seconds % 3600 / 60) + " min";
}

async function loadQueue() {
  const {queue} = await api("/console/api/queue");
  const list = $("queue");
  list.replaceChildren();
  for (const item of queue) {
    const li = el("li", {"class": "queue-item" + (item.contact_id === selected ? " selected" : ""),
                         "data-contact-id": String(item.contact_id), "data-state": item.state},
      el("span", {"class": "waiting"}, waiting(item.waiting_seconds)),
      el("div", {"class": "reason"}, item.reason_text || item.reason || ""),
      el("div", {}, `${item.first_name} ${item.phone || ""} · ${item.channel || ""}`),
      el("div", {"class": "state"}, item.state === "operator" ? `with ${item.operator}` : "waiting"),
      el("div", {"class": "last"}, item.last_message ? item.last_message.text : ""));
    li.addEventListener("click", () => { selected = item.contact_id; refresh(); });
    list.append(li);
  }
  $("queue-count").textContent = `(${queue.length})`;
  $("queue-empty").hidden = queue.length > 0;
}

async function loadChat() {
  if (selected == null) { $("chat").hidden = true; return; }
  const chat = await api(`/console/api/conversations/${selected}`);
  $("chat").hidden = false;
  $("chat").dataset.state = chat.state;
  const c = chat.checkout;
  $("context").replaceChildren(
    el("div", {}, el("strong", {}, chat.first_name || "Shopper"), ` ${chat.phone || ""} · ${chat.channel || ""}`),
    el("div", {}, `State: ${chat.state}${chat.operator ? " (" + chat.operator + ")" : ""}` +
                  (chat.reason_text ? ` · Reason: ${chat.reason_text}` : "")),
    el("div", {}, c ? `${c.item || "—"} ×${c.item_count} · ${c.total || ""} ${c.currency || ""} · stage ${c.stage} · ${c.status}` : "No checkout"));
  const list = $("messages");
  list.replaceChildren();
  for (const m of chat.messages) {
    const li = el("li", {"class": `message ${m.direction}`, "data-author": m.author || ""},
      el("div", {"class": "text"}, m.text),
      el("div", {"class": "meta"}, `${m.author || ""} · ${m.at.replace("T", " ").slice(0, 19)}`));
    if (m.buttons.length) li.append(el("div", {"class": "buttons"}, m.buttons.map((b) => `[${b}]`).join(" ")));
    list.append(li);
  }
  list.scrollTop = list.scrollHeight;
  const mine = chat.state === "operator" && chat.operator === me.username;
  $("claim").hidden = !(chat.state === "waiting_operator" || (chat.state === "operator" && !mine));
  $("reply-form").hidden = !mine;
  $("return-bot").hidden = !(chat.state === "operator" || chat.state === "waiting_operator");
  $("close-chat").hidden = $("return-bot").hidden;
}

async function refresh() {
  try { await loadQueue(); await loadChat(); $("reply-error").textContent = ""; }
  catch (e) { $("reply-error").textContent = e.message; }
}

async function act(path, body) {
  try { await api(path, {method: "POST", body: JSON.stringify(body || {})}); }
  catch (e) { $("reply-error").textContent = e.message; }
  await refresh();
}

function live() {
  const source = new EventSource("/console/api/stream");
  source.addEventListener("open", () => { $("live").className = "on"; });
  source.addEventListener("change", () => { refresh(); });
  source.addEventListener("error", () => { $("live").className = "off"; });
}

async function main() {
  me = await api("/console/api/me");
  $("me").textContent = `${me.username} (${me.role})`;
  $("admin-link").hidden = me.role !== "admin";
  $("dashboard-link").hidden = me.role !== "admin";
  $("claim").addEventListener("click", () => act(`/console/api/conversations/${selected}/claim`));
  $("return-bot").addEventListener("click", () => act(`/console/api/conversations/${selected}/release`, {to: "bot"}));
  $("close-chat").addEventListener("click", () => act(`/console/api/conversations/${selected}/release`, {to: "closed"}));
  $("reply-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("reply-text").value.trim();
    if (!text) return;
    const quick = [...document.querySelectorAll("#quick-replies input:checked")]
      .map((box) => ({title: box.dataset.title, payload: box.value}));
    await act(`/console/api/conversations/${selected}/reply`, {text, quick_replies: quick});
    $("reply-text").value = "";
    document.querySelectorAll("#quick-replies input").forEach((box) => { box.checked = false; });
  });
  await refresh();
  live();
  setInterval(loadQueue, 30000);  // waiting times tick on even when nothing changes
}

main();
