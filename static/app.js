// The dashboard: job counts, live processes and recent jobs, refreshed by polling the API
// with the key typed once (kept in this browser's localStorage). No build step.
"use strict";

const GS = (() => {
  const KEY_STORE = "galaxy-server.api-key";
  const REFRESH_MS = 1500;
  const STATES = ["new", "queued", "running", "ok", "error", "paused", "deleting", "deleted"];
  const $ = (id) => document.getElementById(id);
  let key = localStorage.getItem(KEY_STORE) || "";
  let timer = null;

  /** Calls the API with the key; resolves with the JSON body, rejects with Galaxy's err_msg. */
  async function api(method, path, body) {
    const headers = { "x-api-key": key };
    if (body !== undefined) headers["content-type"] = "application/json";
    const resp = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await resp.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (_) {
      data = null;
    }
    if (!resp.ok) {
      const msg = data && data.err_msg ? data.err_msg : `HTTP ${resp.status}`;
      const err = new Error(`${method} ${path}: ${msg}`);
      err.status = resp.status;
      throw err;
    }
    return data;
  }

  function el(tag, text, attrs) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    return node;
  }

  function showError(msg) {
    const box = $("error");
    box.textContent = msg || "";
    box.hidden = !msg;
  }

  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso.endsWith("Z") ? iso : `${iso}Z`);
    return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString();
  }

  function emptyRow(body, text, columns) {
    const row = el("tr");
    row.append(el("td", text, { colspan: String(columns), class: "empty" }));
    body.append(row);
  }

  function renderCounts(summary) {
    const list = $("counts");
    list.replaceChildren();
    for (const state of STATES) {
      const item = el("li", null, { "data-state": state, class: `count state-${state}` });
      item.append(el("span", summary[state] || 0, { class: "n" }), el("span", state, { class: "label" }));
      list.append(item);
    }
  }

  function renderHandlers(procs) {
    const body = $("handlers").tBodies[0];
    body.replaceChildren();
    for (const p of procs) {
      const row = el("tr", null, { "data-server-name": p.server_name });
      const age = typeof p.heartbeat_age === "number" ? `${p.heartbeat_age.toFixed(1)} s` : "";
      for (const [cls, value] of [
        ["name", p.server_name],
        ["mode", p.mode],
        ["pools", (p.pools || []).join(", ")],
        ["tags", (p.tags || []).join(", ") + (p.draining ? " (draining)" : "")],
        ["age", age],
        ["held", p.jobs_held],
        ["host", `${p.hostname} / ${p.pid}`],
      ]) {
        row.append(el("td", value, { class: cls }));
      }
      body.append(row);
    }
    if (!procs.length) emptyRow(body, "no live process", 7);
  }

  function renderJobs(jobs) {
    const body = $("jobs").tBodies[0];
    body.replaceChildren();
    for (const j of jobs) {
      const row = el("tr", null, { "data-job-id": j.id, "data-state": j.state });
      row.append(
        el("td", j.id, { class: "id" }),
        el("td", j.tool_id, { class: "tool" }),
        el("td", j.state, { class: `state state-${j.state}` }),
        el("td", when(j.create_time)),
        el("td", when(j.update_time)),
        el("td", j.exit_code === null || j.exit_code === undefined ? "" : j.exit_code),
      );
      body.append(row);
    }
    if (!jobs.length) emptyRow(body, "no job", 6);
  }

  function jobsQuery() {
    const params = new URLSearchParams({ limit: $("filter-limit").value });
    if ($("filter-state").value) params.set("state", $("filter-state").value);
    if ($("filter-tool").value) params.set("tool_id", $("filter-tool").value);
    return `/api/jobs?${params}`;
  }

  async function refresh() {
    try {
      const [summary, procs, jobs] = await Promise.all([
        api("GET", "/api/jobs/summary"),
        api("GET", "/api/handlers"),
        api("GET", jobsQuery()),
      ]);
      renderCounts(summary);
      renderHandlers(procs);
      renderJobs(jobs);
      $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
      showError("");
    } catch (e) {
      showError(e.message);
      if (e.status === 401 || e.status === 403) stop();
    }
  }

  function stop() {
    if (timer) clearInterval(timer);
    timer = null;
  }

  async function start() {
    stop();
    try {
      const me = await api("GET", "/api/users/current");
      $("whoami").textContent = me && me.email ? `signed in as ${me.email}` : "key accepted";
    } catch (e) {
      $("main").hidden = true;
      $("forget-key").hidden = false;
      showError(e.message);
      return;
    }
    $("main").hidden = false;
    $("forget-key").hidden = false;
    document.dispatchEvent(new Event("gs:ready"));
    await refresh();
    timer = setInterval(refresh, REFRESH_MS);
  }

  function setup() {
    for (const s of STATES) $("filter-state").append(el("option", s, { value: s }));
    for (const id of ["filter-state", "filter-tool", "filter-limit"]) {
      $(id).addEventListener("change", refresh);
    }
    $("key-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      key = $("api-key").value.trim();
      localStorage.setItem(KEY_STORE, key);
      $("api-key").value = "";
      start();
    });
    $("forget-key").addEventListener("click", () => {
      stop();
      key = "";
      localStorage.removeItem(KEY_STORE);
      $("main").hidden = true;
      $("forget-key").hidden = true;
      $("whoami").textContent = "";
    });
    if (key) start();
  }

  document.addEventListener("DOMContentLoaded", setup);
  return { api, el, refresh, showError, $ };
})();
