// langir review: the page. No framework, no build step; every text goes in through textContent.
"use strict";
(() => {
  const SVG = "http://www.w3.org/2000/svg";
  const FAILING_BADGE = new Set(["contradicts", "vague", "n/a"]);
  const params = new URLSearchParams(location.search);
  const token = params.get("token") || localStorage.getItem("langir-review-token") || "";
  if (params.get("token")) localStorage.setItem("langir-review-token", token);
  const state = { offset: 0, limit: 48, total: 0, focusId: params.get("id") };
  const form = document.getElementById("filters");
  const grid = document.getElementById("grid");
  const message = document.getElementById("message");
  const FIELDS = ["filter", "verdict", "split", "model", "who", "order", "q"];
  for (const name of FIELDS) if (params.get(name)) form.elements[name].dataset.want = params.get(name);
  if (params.get("offset")) state.offset = Math.max(0, parseInt(params.get("offset"), 10) || 0);

  function say(text) { message.textContent = text || ""; }

  function query() {
    const q = new URLSearchParams();
    for (const name of FIELDS) {
      const el = form.elements[name];
      const value = el.value || el.dataset.want || "";
      if (value) q.set(name, value);
    }
    return q;
  }

  function fillSelect(el, values, blank) {
    const want = el.value || el.dataset.want || "";
    el.textContent = "";
    if (blank !== null) el.append(new Option(blank, ""));
    for (const v of values) el.append(new Option(v, v));
    if (want && ![...el.options].some(o => o.value === want)) el.append(new Option(want, want));
    el.value = want;
    if (el.selectedIndex < 0) el.selectedIndex = 0;
    delete el.dataset.want;
  }

  async function load() {
    const q = query();
    q.set("offset", state.offset); q.set("limit", state.limit);
    if (state.focusId) q.set("id", state.focusId);
    let reply;
    try {
      reply = await fetch("/api/cards?" + q, { headers: { "X-Review-Token": token } });
    } catch (e) { say("the review server does not answer (stopped?)"); return; }
    if (reply.status === 403) { say("no access: open the URL that `langir review` printed (it carries the token)"); return; }
    const data = await reply.json();
    state.total = data.total; state.offset = data.offset;
    document.getElementById("dataset").textContent = data.dataset;
    const f = data.facets;
    fillSelect(form.elements.filter, f.filter, null);
    fillSelect(form.elements.verdict, f.verdict, "any");
    fillSelect(form.elements.split, f.split, "any");
    fillSelect(form.elements.model, f.model, "any");
    fillSelect(form.elements.who, f.who, "anyone");
    fillSelect(form.elements.order, f.order, null);
    grid.textContent = "";
    for (const item of data.items) grid.append(renderCard(item));
    const last = Math.min(state.offset + data.items.length, state.total);
    document.getElementById("count").textContent =
      state.total ? `${state.offset + 1}–${last} of ${state.total}` : "no sample matches";
    const shown = query(); if (state.offset) shown.set("offset", state.offset);
    history.replaceState(null, "", "?" + shown);
    const target = state.focusId && grid.querySelector(`[data-id="${CSS.escape(state.focusId)}"]`);
    select(target || grid.querySelector(".card"), !!target);
    state.focusId = null;
  }

  function badge(text, kind) {
    const b = document.createElement("span");
    b.className = "badge " + kind; b.textContent = text; return b;
  }

  function drawClaims(svg, item) {
    svg.textContent = "";
    const add = (tag, attrs) => {
      for (const cls of ["claim-halo", "claim"]) {
        const el = document.createElementNS(SVG, tag);
        for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
        el.setAttribute("class", cls);
        svg.append(el);
      }
    };
    const inset = 0.004;  // keep a full-frame claim's dashes inside the picture
    for (const c of item.claims) {
      if (c.kind === "box") {
        add("rect", { x: c.c0 + inset, y: c.r0 + inset, width: Math.max(c.c1 - c.c0 - 2 * inset, 0.01),
                      height: Math.max(c.r1 - c.r0 - 2 * inset, 0.01) });
      } else if (c.kind === "clock") {
        const a = (c.hour % 12) * Math.PI / 6;
        add("line", { x1: 0.5, y1: 0.5, x2: 0.5 + 0.48 * Math.sin(a), y2: 0.5 - 0.48 * Math.cos(a) });
      }
    }
    for (const t of item.answer_targets) {
      if (t.box) add("rect", { x: t.box[0], y: t.box[1], width: t.box[2] - t.box[0], height: t.box[3] - t.box[1] });
      add("ellipse", { cx: t.point[0], cy: t.point[1], rx: 0.035, ry: 0.035 });
    }
  }

  function renderCard(item) {
    const card = document.createElement("article");
    card.className = "card";
    card.dataset.id = item.id;
    card.dataset.verdict = item.verdict;
    card.dataset.failing = item.failing ? "1" : "0";
    card.tabIndex = -1;
    const head = document.createElement("header");
    const id = document.createElement("span"); id.className = "id"; id.textContent = item.id;
    const splits = document.createElement("span"); splits.className = "splits"; splits.textContent = item.splits;
    head.append(id, badge(item.verdict, FAILING_BADGE.has(item.verdict) || item.failing ? "fail" : "pass"));
    if (item.failing) head.append(badge("fails", "fail"));
    if (item.accepted) head.append(badge("accepted by a person", "flag"));
    if (item.queued) head.append(badge("re-ask queued", "flag"));
    head.append(splits);

    const frame = document.createElement("div"); frame.className = "frame";
    const img = new Image();
    img.alt = `frame ${item.id} with its mask outline`;
    img.loading = "lazy"; img.decoding = "async";
    img.src = `/thumb/${encodeURIComponent(item.id)}?t=${encodeURIComponent(token)}`;
    img.onerror = () => {
      const why = document.createElement("div"); why.className = "noimage";
      why.textContent = "image could not be read" + (item.reason ? ": " + item.reason : "");
      frame.replaceChildren(why);
    };
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 1 1"); svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("aria-hidden", "true");
    drawClaims(svg, item);
    frame.append(img, svg);

    const reason = document.createElement("p");
    reason.className = "reason" + (item.failing ? "" : " ok");
    reason.textContent = item.failing ? item.reason
      : (item.accepted && item.reason ? `accepted (${item.reason})` : (item.reason || "passes every check"));
    const text = document.createElement("textarea");
    text.value = item.text || "";
    text.placeholder = item.text ? "" : "no description: " + (item.reason || "missing");
    text.setAttribute("aria-label", `description of ${item.id}`);
    text.addEventListener("keydown", e => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); act(card, "save"); }
      if (e.key === "Escape") { text.blur(); card.focus(); }
    });
    const meta = document.createElement("div"); meta.className = "meta";
    const source = item.provider ? `${item.provider}/${item.model}` : "no ledger record";
    const who = item.who === "edited" ? "changed outside langir" : `written by ${item.who}`;
    meta.textContent = `${item.words} words · ${who} · ${source}` +
      (item.prompt_style ? ` · prompt ${item.prompt_style}` : "") +
      (item.target_regions ? ` · mask: ${item.target_regions.replaceAll(";", ", ")}` : "");
    const actions = document.createElement("div"); actions.className = "actions";
    for (const [action, label, hint] of [["save", "Save", "Ctrl+Enter"], ["accept", "Accept", "a"], ["redo", "Re-ask", "r"]]) {
      const b = document.createElement("button");
      b.type = "button"; b.dataset.action = action; b.textContent = label; b.title = `${label} (${hint})`;
      b.addEventListener("click", () => act(card, action));
      actions.append(b);
    }
    card.append(head, frame, reason, text, meta, actions);
    card.addEventListener("click", () => select(card, false));
    return card;
  }

  async function act(card, action) {
    const id = card.dataset.id;
    const body = action === "save" ? { text: card.querySelector("textarea").value } : {};
    let reply;
    try {
      reply = await fetch(`/api/card/${encodeURIComponent(id)}/${action}`, {
        method: "POST", headers: { "X-Review-Token": token, "Content-Type": "application/json" },
        body: JSON.stringify(body) });
    } catch (e) { say("the review server does not answer (stopped?)"); return; }
    const data = await reply.json();
    if (!reply.ok) { say(`${id}: ${data.error}`); return; }
    const fresh = renderCard(data);
    card.replaceWith(fresh);
    select(fresh, true);
    say({ save: `${id}: saved, now ${data.verdict}${data.failing ? " (still fails)" : ""}`,
          accept: `${id}: accepted`, redo: `${id}: queued for langir describe --redo review` }[action]);
  }

  function current() { return grid.querySelector(".card.current"); }

  function select(card, scroll = true) {
    if (!card) return;
    for (const c of grid.querySelectorAll(".card.current")) c.classList.remove("current");
    card.classList.add("current");
    if (scroll) card.scrollIntoView({ block: "nearest" });
    if (!card.contains(document.activeElement)) card.focus({ preventScroll: !scroll });
  }

  function move(step) {
    const cards = [...grid.querySelectorAll(".card")];
    if (!cards.length) return;
    const i = cards.indexOf(current());
    const next = i + step;
    if (next >= cards.length && state.offset + state.limit < state.total) { page(1); return; }
    if (next < 0 && state.offset > 0) { page(-1); return; }
    select(cards[Math.max(0, Math.min(cards.length - 1, next))]);
  }

  function page(step) {
    const offset = state.offset + step * state.limit;
    if (offset < 0 || offset >= state.total) return;
    state.offset = offset; load().then(() => window.scrollTo(0, 0));
  }

  document.addEventListener("keydown", e => {
    const typing = e.target.closest && e.target.closest("textarea, input, select");
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    const card = current();
    const help = document.getElementById("help");
    if (e.key === "?") { help.hidden = !help.hidden; e.preventDefault(); return; }
    if (e.key === "Escape") { help.hidden = true; return; }
    if (e.key === "j") move(1);
    else if (e.key === "k") move(-1);
    else if (e.key === "e" && card) { const t = card.querySelector("textarea"); t.focus(); t.select(); e.preventDefault(); }
    else if (e.key === "a" && card) act(card, "accept");
    else if (e.key === "r" && card) act(card, "redo");
  });
  form.addEventListener("change", () => { state.offset = 0; load(); });
  form.addEventListener("submit", e => { e.preventDefault(); state.offset = 0; load(); });
  let typed;
  form.elements.q.addEventListener("input", () => { clearTimeout(typed); typed = setTimeout(() => { state.offset = 0; load(); }, 200); });
  document.getElementById("prev").addEventListener("click", () => page(-1));
  document.getElementById("next").addEventListener("click", () => page(1));
  load();
})();
