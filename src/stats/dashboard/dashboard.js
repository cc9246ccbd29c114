/* mxmoat dashboard: reads /api/stats, /api/history and /api/decision/ID of
 * the mxmoatd that serves it, and draws its charts itself (canvas), so that
 * nothing is fetched from anywhere else. Record contents are only ever set
 * as text (textContent), never as HTML.
 *
 * URL fragment: #token=T (the [http] token), q=, action=, rule=, since=,
 * id= (open one decision) prefill the page. */
"use strict";

const ACTIONS = ["accept", "tag", "greylist", "tempfail", "reject", "discard", "abort"];
const COLORS = {};
const state = { token: "", stats: null, timer: null };

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function $(id) { return document.getElementById(id); }

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function hashParams() {
  const p = new URLSearchParams(location.hash.replace(/^#/, ""));
  return p;
}

async function api(path) {
  const headers = {};
  if (state.token) headers["Authorization"] = "Bearer " + state.token;
  const r = await fetch(path, { headers, cache: "no-store" });
  if (r.status === 401) {
    $("login").hidden = false;
    throw new Error("unauthorized");
  }
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

/* --- drawing helpers ------------------------------------------------------- */

function setupCanvas(c) {
  const ratio = window.devicePixelRatio || 1;
  const w = c.width, h = c.height;
  if (!c.dataset.w) { c.dataset.w = w; c.dataset.h = h; }
  const W = +c.dataset.w, H = +c.dataset.h;
  c.width = W * ratio; c.height = H * ratio;
  const ctx = c.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, W, H);
  ctx.font = "12px system-ui, sans-serif";
  return { ctx, W, H };
}

function niceMax(v) {
  if (v <= 0) return 1;
  const e = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * e) return m * e;
  return 10 * e;
}

function fmtTime(ms) {
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  return pad(d.getHours()) + ":" + pad(d.getMinutes());
}

/* stacked bars: one column per minute, one colour per outcome */
function drawSeries(series) {
  const c = $("chart-series");
  const { ctx, W, H } = setupCanvas(c);
  const L = 44, R = 10, T = 10, B = 24;
  const rows = series.counts, n = rows.length;
  let max = 0, total = 0;
  for (const r of rows) {
    const s = r.reduce((a, b) => a + b, 0);
    max = Math.max(max, s); total += s;
  }
  const top = niceMax(max);
  ctx.strokeStyle = cssVar("--line"); ctx.fillStyle = cssVar("--muted");
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (let i = 0; i <= 4; i++) {
    const y = T + (H - T - B) * (1 - i / 4);
    ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(W - R, y); ctx.stroke();
    ctx.fillText(String(Math.round(top * i / 4 * 100) / 100), L - 6, y);
  }
  const bw = (W - L - R) / n;
  rows.forEach((r, i) => {
    let y = H - B;
    r.forEach((v, k) => {
      if (!v) return;
      const h = (H - T - B) * v / top;
      ctx.fillStyle = COLORS[series.actions[k]] || "#999";
      ctx.fillRect(L + i * bw + (bw > 3 ? 0.5 : 0), y - h, Math.max(bw - (bw > 3 ? 1 : 0), 1), h);
      y -= h;
    });
  });
  ctx.fillStyle = cssVar("--muted"); ctx.textAlign = "center"; ctx.textBaseline = "top";
  const ticks = 6;
  for (let i = 0; i <= ticks; i++) {
    const idx = Math.min(n - 1, Math.round((n - 1) * i / ticks));
    ctx.fillText(fmtTime((series.start + idx * series.step_s) * 1000), L + (idx + 0.5) * bw, H - B + 6);
  }
  c.dataset.total = String(total);
  c.dataset.max = String(max);
  const legend = $("legend");
  legend.replaceChildren();
  series.actions.forEach((a, k) => {
    const s = rows.reduce((acc, r) => acc + r[k], 0);
    const span = el("span", a + " " + s);
    span.style.setProperty("--c", COLORS[a]);
    legend.appendChild(span);
  });
}

/* horizontal bars: [{label, value, color}] */
function drawBars(canvas, items, empty) {
  const { ctx, W, H } = setupCanvas(canvas);
  canvas.dataset.items = String(items.length);
  if (!items.length) {
    ctx.fillStyle = cssVar("--muted"); ctx.textAlign = "center"; ctx.textBaseline = "middle";
    ctx.fillText(empty, W / 2, H / 2);
    return;
  }
  const rows = Math.min(items.length, 8), rh = H / Math.max(rows, 6);
  const max = Math.max(...items.map((i) => i.value));
  const L = Math.min(220, Math.max(...items.slice(0, rows).map((i) => ctx.measureText(i.label).width)) + 12);
  items.slice(0, rows).forEach((it, i) => {
    const y = i * rh;
    const w = (W - L - 50) * it.value / max;
    ctx.fillStyle = cssVar("--ink"); ctx.textAlign = "right"; ctx.textBaseline = "middle";
    ctx.fillText(it.label, L - 6, y + rh / 2, L - 8);
    ctx.fillStyle = it.color || "#4a77c9";
    ctx.fillRect(L, y + rh * 0.18, Math.max(w, 1), rh * 0.64);
    ctx.fillStyle = cssVar("--muted"); ctx.textAlign = "left";
    ctx.fillText(String(it.value), L + w + 6, y + rh / 2);
  });
}

/* the scan-time histogram: one bar per bucket that has counts */
function drawLatency(scan) {
  const c = $("chart-latency");
  const { ctx, W, H } = setupCanvas(c);
  const L = 36, B = 30, T = 8;
  let buckets = scan.buckets.map(([le, n]) => ({ le, n }));
  let first = buckets.findIndex((b) => b.n > 0);
  let last = buckets.length - 1 - [...buckets].reverse().findIndex((b) => b.n > 0);
  if (first < 0) { first = 0; last = 6; }
  buckets = buckets.slice(Math.max(0, first - 1), Math.min(buckets.length, last + 2));
  const max = niceMax(Math.max(1, ...buckets.map((b) => b.n)));
  const bw = (W - L - 8) / buckets.length;
  ctx.textBaseline = "top"; ctx.textAlign = "center";
  buckets.forEach((b, i) => {
    const h = (H - B - T) * b.n / max;
    ctx.fillStyle = "#4a77c9";
    ctx.fillRect(L + i * bw + 2, H - B - h, bw - 4, h);
    ctx.fillStyle = cssVar("--muted");
    ctx.fillText(b.le === null ? "more" : "≤" + b.le + "ms", L + (i + 0.5) * bw, H - B + 4, bw);
    if (b.n) ctx.fillText(String(b.n), L + (i + 0.5) * bw, Math.max(T, H - B - h - 14));
  });
  c.dataset.count = String(scan.count);
  $("latency-summary").textContent = scan.count
    ? `${scan.count} scans: median ${scan.p50_ms} ms, p90 ${scan.p90_ms} ms, p99 ${scan.p99_ms} ms`
    : "no scans yet";
}

/* --- the summary ------------------------------------------------------------ */

function renderTiles(messages) {
  const t = $("tiles");
  t.replaceChildren();
  const total = el("div", null, "tile");
  total.style.borderLeftColor = cssVar("--ink");
  total.append(el("div", messages.total, "n"), el("div", "messages", "muted"));
  t.appendChild(total);
  for (const a of ACTIONS) {
    const d = el("div", null, "tile");
    d.dataset.action = a;
    d.style.borderLeftColor = COLORS[a];
    d.append(el("div", messages[a] || 0, "n"), el("div", a, "muted"));
    t.appendChild(d);
  }
}

function renderPlugins(s) {
  const tb = $("plugins").querySelector("tbody");
  tb.replaceChildren();
  const add = (name, h) => {
    const tr = el("tr");
    tr.append(el("td", name), el("td", h.count), el("td", h.p50_ms), el("td", h.p99_ms));
    tb.appendChild(tr);
  };
  add("whole message", s.scan);
  for (const [name, h] of Object.entries(s.plugins)) add("plugin " + name, h);
  add("downstream command", s.downstream.command);
  add("downstream message", s.downstream.data);
  $("engine").textContent = (s.engine.plugins || []).join(" · ") +
    (s.downstream.errors ? ` · downstream errors: ${s.downstream.errors}` : "");
}

async function refresh() {
  try {
    const minutes = $("window").value;
    const s = await api("/api/stats?minutes=" + minutes);
    state.stats = s;
    $("login").hidden = true;
    $("node").textContent = `${s.node} · mxmoatd ${s.version} · up ${Math.round(s.uptime_s / 60)} min`;
    const h = s.history;
    $("status").textContent = h
      ? `history: ${h.store}${h.store === "redis" ? (h.redis_up ? " (up)" : " (down: memory)") : ""}, ${h.recorded} recorded`
      : "history off";
    renderTiles(s.messages);
    drawSeries(s.series);
    drawBars($("chart-reasons"),
      s.reasons.map((r) => ({ label: `${r.action}: ${r.reason}`, value: r.count, color: COLORS[r.action] })),
      "nothing refused yet");
    drawBars($("chart-rules"),
      s.rules.map((r) => ({ label: r.rule, value: r.count, color: "#4a77c9" })),
      "no rule hit yet");
    drawLatency(s.scan);
    renderPlugins(s);
    document.body.dataset.loaded = "1";
  } catch (e) {
    $("status").textContent = "error: " + e.message;
  }
}

/* --- the history ------------------------------------------------------------ */

function badge(action) {
  const b = el("span", action, "badge");
  b.style.background = COLORS[action] || "#999";
  return b;
}

async function search(ev) {
  if (ev) ev.preventDefault();
  const p = new URLSearchParams();
  for (const [k, id] of [["action", "f-action"], ["rule", "f-rule"], ["q", "f-q"], ["since", "f-since"]]) {
    const v = $(id).value.trim();
    if (v) p.set(k, v);
  }
  p.set("limit", "100");
  const tb = $("history").querySelector("tbody");
  try {
    const r = await api("/api/history?" + p.toString());
    tb.replaceChildren();
    for (const rec of r.records) {
      const tr = el("tr");
      tr.dataset.id = rec.id;
      const time = new Date(rec.time);
      tr.append(
        el("td", time.toLocaleString()),
        (() => { const td = el("td"); td.appendChild(badge(rec.action)); return td; })(),
        el("td", rec.from || "<>"),
        el("td", rec.rcpts.join(", ") + (rec.nrcpt > rec.rcpts.length ? ` +${rec.nrcpt - rec.rcpts.length}` : "")),
        el("td", rec.subject),
        el("td", rec.score),
        el("td", rec.reason),
        el("td", rec.id, "mono"));
      tr.addEventListener("click", () => openDecision(rec.id));
      tb.appendChild(tr);
    }
    $("search-info").textContent = `${r.count} found in ${r.scanned} examined (${r.source})` +
      (r.truncated ? ", search limit reached" : "") + (r.error ? `; ${r.error}` : "");
    $("history").dataset.count = String(r.count);
  } catch (e) {
    $("search-info").textContent = "error: " + e.message;
  }
}

async function openDecision(id) {
  const sec = $("decision");
  try {
    const d = await api("/api/decision/" + encodeURIComponent(id));
    $("d-id").textContent = d.id;
    const dl = $("d-fields");
    dl.replaceChildren();
    const field = (k, v) => { dl.append(el("dt", k), el("dd", v)); };
    field("time", new Date(d.time).toLocaleString());
    const dd = el("dd"); dd.appendChild(badge(d.action));
    if (d.reason) dd.append(" " + d.reason);
    dl.append(el("dt", "outcome"), dd);
    field("score", d.score);
    field("reply", d.reply);
    field("client", `${d.client} (${d.client_name || "no name"}), HELO ${d.helo}`);
    field("from", d.from || "<>");
    field("to", d.rcpts.join(", ") + (d.nrcpt > d.rcpts.length ? ` (+${d.nrcpt - d.rcpts.length})` : ""));
    field("subject", d.subject);
    field("size", `${d.size} bytes`);
    field("time taken", `${d.ms} ms` + (d.scan_ms !== undefined ? `, scan ${d.scan_ms} ms` : ""));
    field("node", `${d.node} (${d.frontend})` + (d.downstream_id ? `, downstream queue id ${d.downstream_id}` : ""));
    const tb = $("d-symbols").querySelector("tbody");
    tb.replaceChildren();
    for (const s of d.symbols) {
      const tr = el("tr");
      tr.append(el("td", s.name, "mono"), el("td", s.score), el("td", s.plugin), el("td", s.detail));
      tb.appendChild(tr);
    }
    sec.hidden = false;
    sec.scrollIntoView({ block: "nearest" });
  } catch (e) {
    $("search-info").textContent = `decision ${id}: ${e.message}`;
  }
}

/* --- start ------------------------------------------------------------------ */

function start() {
  for (const a of ACTIONS) COLORS[a] = cssVar("--" + a);
  const p = hashParams();
  state.token = p.get("token") || sessionStorage.getItem("mxmoat-token") || "";
  if (p.get("token")) sessionStorage.setItem("mxmoat-token", state.token);
  $("f-q").value = p.get("q") || "";
  $("f-rule").value = p.get("rule") || "";
  $("f-action").value = p.get("action") || "";
  $("f-since").value = p.get("since") || "";
  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    state.token = $("token").value;
    sessionStorage.setItem("mxmoat-token", state.token);
    refresh(); search();
  });
  $("search").addEventListener("submit", search);
  $("window").addEventListener("change", refresh);
  $("d-close").addEventListener("click", () => { $("decision").hidden = true; });
  refresh();
  search();
  if (p.get("id")) openDecision(p.get("id"));
  state.timer = setInterval(refresh, 10000);
}

start();
