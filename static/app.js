// The dashboard: job counts, live processes and recent jobs, refreshed by polling the API
// with the key typed once (kept in this browser's localStorage); a job's details and metrics
// when its id is clicked. No build step.
"use strict";

const GS = (() => {
  const KEY_STORE = "galaxy-server.api-key";
  const REFRESH_MS = 1500;
  const STATES = ["new", "queued", "running", "ok", "error", "paused", "deleting", "deleted"];
  const FINISHED = ["ok", "error", "deleted", "paused"];
  const $ = (id) => document.getElementById(id);
  let key = localStorage.getItem(KEY_STORE) || "";
  let timer = null;
  // The job whose details are shown, and whether they can still change.
  let shownJob = null;
  let shownFinished = false;

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
        ["invocations", p.schedules_workflows ? p.invocations_held ?? 0 : ""],
        ["host", `${p.hostname} / ${p.pid}`],
      ]) {
        row.append(el("td", value, { class: cls }));
      }
      body.append(row);
    }
    if (!procs.length) emptyRow(body, "no live process", 8);
  }

  /** Full views of invocations, kept while none of their steps can still change. */
  const invocationDetails = new Map();

  function settled(detail) {
    return (
      ["scheduled", "cancelled", "failed"].includes(detail.state) &&
      (detail.steps || []).every((s) => !s.job_id || FINISHED.includes(s.job_state))
    );
  }

  /** Fetches the full view of each listed invocation that may still change (one request each). */
  async function invocationSteps(list) {
    const stale = list.filter((i) => {
      const d = invocationDetails.get(i.id);
      return !d || d.state !== i.state || !settled(d);
    });
    const fetched = await Promise.all(stale.map((i) => api("GET", `/api/invocations/${i.id}`)));
    for (const d of fetched) invocationDetails.set(d.id, d);
  }

  function renderInvocations(list) {
    const body = $("invocations").tBodies[0];
    body.replaceChildren();
    for (const inv of list) {
      const detail = invocationDetails.get(inv.id) || inv;
      const row = el("tr", null, { "data-invocation-id": inv.id, "data-state": detail.state });
      const steps = el("td", null, { class: "steps" });
      for (const s of detail.steps || []) {
        if (!s.job_id) continue;
        const state = s.job_state || "new";
        const label = s.workflow_step_label ? ` ${s.workflow_step_label}` : "";
        steps.append(
          el("span", `${s.order_index}${label}: ${state}`, {
            class: `step state-${state}`,
            "data-step": String(s.order_index),
            "data-state": state,
          }),
        );
      }
      row.append(
        el("td", inv.id, { class: "id" }),
        el("td", detail.state, { class: `state state-${detail.state}` }),
        el("td", when(inv.create_time)),
        steps,
      );
      body.append(row);
    }
    if (!list.length) emptyRow(body, "no invocation", 4);
  }

  function renderJobs(jobs) {
    const body = $("jobs").tBodies[0];
    body.replaceChildren();
    for (const j of jobs) {
      const row = el("tr", null, { "data-job-id": j.id, "data-state": j.state });
      if (j.id === shownJob) row.classList.add("selected");
      const id = el("td", null, { class: "id" });
      id.append(el("button", j.id, { type: "button", class: "show-job", "data-job-id": j.id }));
      row.append(
        id,
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

  /** The shown job's fields (`?full=true`) and metrics (`/api/jobs/{id}/metrics`). */
  async function renderJobDetail() {
    if (!shownJob) return;
    const id = shownJob;
    const [job, metrics] = await Promise.all([
      api("GET", `/api/jobs/${id}?full=true`),
      api("GET", `/api/jobs/${id}/metrics`),
    ]);
    if (id !== shownJob) return;
    shownFinished = FINISHED.includes(job.state);
    $("job-detail").hidden = false;
    $("job-detail").dataset.jobId = id;
    $("job-detail").dataset.state = job.state;
    $("job-detail-id").textContent = id;
    const fields = $("job-fields");
    fields.replaceChildren();
    for (const [label, value] of [
      ["tool", `${job.tool_id} ${job.tool_version || ""}`],
      ["state", job.state],
      ["exit code", job.exit_code],
      ["handler", job.handler],
      ["runner", job.job_runner_name],
      ["external id", job.job_runner_external_id],
      ["environment", job.destination_id],
      ["command line", job.command_line],
      ["info", job.info],
    ]) {
      if (value === null || value === undefined || value === "") continue;
      fields.append(el("dt", label), el("dd", value));
    }
    const body = $("job-metrics").tBodies[0];
    body.replaceChildren();
    for (const m of metrics) {
      const row = el("tr", null, { "data-metric": m.name, title: `${m.plugin}: ${m.name} = ${m.raw_value}` });
      row.append(el("td", m.title, { class: "title" }), el("td", m.value, { class: "value" }));
      body.append(row);
    }
    if (!metrics.length) emptyRow(body, shownFinished ? "no metric recorded" : "not finished yet", 2);
  }

  function showJob(id) {
    shownJob = id;
    shownFinished = false;
    for (const row of $("jobs").tBodies[0].rows) {
      row.classList.toggle("selected", row.dataset.jobId === id);
    }
    renderJobDetail().catch((e) => showError(e.message));
  }

  function jobsQuery() {
    const params = new URLSearchParams({ limit: $("filter-limit").value });
    if ($("filter-state").value) params.set("state", $("filter-state").value);
    if ($("filter-tool").value) params.set("tool_id", $("filter-tool").value);
    return `/api/jobs?${params}`;
  }

  async function refresh() {
    try {
      const [summary, procs, jobs, invocations] = await Promise.all([
        api("GET", "/api/jobs/summary"),
        api("GET", "/api/handlers"),
        api("GET", jobsQuery()),
        api("GET", "/api/invocations?limit=10"),
      ]);
      renderCounts(summary);
      renderHandlers(procs);
      renderJobs(jobs);
      await invocationSteps(invocations);
      renderInvocations(invocations);
      if (shownJob && !shownFinished) await renderJobDetail();
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
    $("jobs").tBodies[0].addEventListener("click", (ev) => {
      const button = ev.target.closest("button.show-job");
      if (button) showJob(button.dataset.jobId);
    });
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
      shownJob = null;
      $("job-detail").hidden = true;
    });
    if (key) start();
  }

  document.addEventListener("DOMContentLoaded", setup);
  return { api, el, refresh, showError, $ };
})();
