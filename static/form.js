// The dashboard's "Run a tool" form: histories, tools and their inputs from the API
// (`/api/tools/{id}?io_details=true`), submitted as `POST /api/tools` like any Galaxy client.
"use strict";

(() => {
  const { api, el, refresh, showError, $ } = GS;
  const PASTE = "files_0|url_paste";
  let inputs = [];

  async function loadHistories(select) {
    const histories = await api("GET", "/api/histories");
    const box = $("run-history");
    box.replaceChildren();
    for (const h of histories) box.append(el("option", `${h.name} (${h.id})`, { value: h.id }));
    if (select) box.value = select;
    if (!histories.length) box.append(el("option", "no history yet: one is made on Run", { value: "" }));
  }

  async function loadTools() {
    const tools = await api("GET", "/api/tools");
    const box = $("run-tool");
    const filter = $("filter-tool");
    box.replaceChildren();
    for (const t of tools) {
      box.append(el("option", `${t.name} (${t.id})`, { value: t.id }));
      if (![...filter.options].some((o) => o.value === t.id)) {
        filter.append(el("option", t.id, { value: t.id }));
      }
    }
    await showTool();
  }

  async function datasetsOf(historyId) {
    if (!historyId) return [];
    const contents = await api("GET", `/api/histories/${historyId}/contents`);
    return contents.filter((d) => !d.deleted && d.history_content_type === "dataset");
  }

  function field(param, control) {
    const row = el("div", null, { class: "row" });
    control.id = `param-${param.name}`;
    control.name = param.name;
    control.dataset.param = param.name;
    control.dataset.type = param.type;
    row.append(el("label", param.label || param.name, { for: control.id }), control);
    return row;
  }

  function control(param, datasets) {
    switch (param.type) {
      case "data": {
        const box = el("select");
        for (const d of datasets) {
          box.append(el("option", `${d.hid}: ${d.name} [${d.state}]`, { value: d.id }));
        }
        if (!datasets.length) box.append(el("option", "no dataset in this history", { value: "" }));
        return box;
      }
      case "select": {
        const box = el("select");
        for (const [label, value, selected] of param.options || []) {
          const opt = el("option", label, { value });
          if (selected) opt.selected = true;
          box.append(opt);
        }
        return box;
      }
      case "boolean": {
        const box = el("input", null, { type: "checkbox" });
        box.checked = param.value === true || param.value === "true";
        return box;
      }
      case "integer":
      case "float": {
        const box = el("input", null, { type: "number", step: param.type === "float" ? "any" : "1" });
        if (param.value !== null && param.value !== undefined) box.value = param.value;
        return box;
      }
      default: {
        const box = el("input", null, { type: "text" });
        if (param.value !== null && param.value !== undefined) box.value = param.value;
        return box;
      }
    }
  }

  async function showTool() {
    const toolId = $("run-tool").value;
    const area = $("tool-inputs");
    area.replaceChildren();
    if (!toolId) return;
    const tool = await api("GET", `/api/tools/${encodeURIComponent(toolId)}?io_details=true`);
    inputs = tool.inputs || [];
    const datasets = await datasetsOf($("run-history").value);
    if (toolId === "upload1") {
      const paste = el("textarea", null, { rows: "4" });
      area.append(field({ name: PASTE, label: "Paste content", type: "text" }, paste));
    }
    for (const p of inputs) area.append(field(p, control(p, datasets)));
  }

  function values() {
    const out = {};
    for (const node of $("tool-inputs").querySelectorAll("[data-param]")) {
      const name = node.dataset.param;
      switch (node.dataset.type) {
        case "data":
          if (node.value) out[name] = { src: "hda", id: node.value };
          break;
        case "boolean":
          out[name] = node.checked;
          break;
        case "integer":
          if (node.value !== "") out[name] = parseInt(node.value, 10);
          break;
        case "float":
          if (node.value !== "") out[name] = parseFloat(node.value);
          break;
        default:
          out[name] = node.value;
      }
    }
    return out;
  }

  async function ensureHistory() {
    if ($("run-history").value) return $("run-history").value;
    const h = await api("POST", "/api/histories", { name: "Dashboard history" });
    await loadHistories(h.id);
    return h.id;
  }

  async function run(ev) {
    ev.preventDefault();
    const status = $("run-status");
    status.textContent = "submitting…";
    try {
      const historyId = await ensureHistory();
      const body = { tool_id: $("run-tool").value, history_id: historyId, inputs: values() };
      const res = await api("POST", "/api/tools", body);
      const ids = (res.jobs || []).map((j) => j.id);
      status.textContent = `submitted job ${ids.join(", ")}`;
      status.dataset.jobId = ids[0] || "";
      await refresh();
      await showTool();
    } catch (e) {
      status.textContent = "";
      showError(e.message);
    }
  }

  function guard(fn) {
    return (...args) => fn(...args).catch((e) => showError(e.message));
  }

  document.addEventListener("gs:ready", guard(async () => {
    await loadHistories();
    await loadTools();
  }));
  document.addEventListener("DOMContentLoaded", () => {
    $("run-tool").addEventListener("change", guard(showTool));
    $("run-history").addEventListener("change", guard(showTool));
    $("run-form").addEventListener("submit", run);
    $("new-history").addEventListener("click", guard(async () => {
      const h = await api("POST", "/api/histories", { name: `Dashboard history ${new Date().toLocaleString()}` });
      await loadHistories(h.id);
      await showTool();
    }));
  });
})();
