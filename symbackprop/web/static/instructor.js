// symbackprop serve: the instructor page. A spec's full derivation, worksheets, grading a class CSV.
"use strict";
(() => {
  const { $, api, renderAll, fillSpecs, setDrawing, showError } = SB;
  let job = null;

  async function loadSpec() {
    showError("");
    $("document").hidden = true;
    try {
      const info = await api(`/api/specs/${encodeURIComponent($("spec").value)}`);
      setDrawing($("drawing"), info.drawing_svg);
    } catch (e) {
      showError(e.message);
    }
  }

  async function uploadSpec() {
    const f = $("spec-file").files[0];
    if (!f) { showError("choose a .toml file first"); return; }
    showError("");
    try {
      const text = await f.text();
      const r = await api("/api/specs", { method: "POST", body: text, headers: { "content-type": "text/plain" } });
      await fillSpecs($("spec"), r.name);
      $("spec").value = r.name;
      await loadSpec();
    } catch (e) {
      showError(e.message);
    }
  }

  async function showDoc() {
    showError("");
    const box = $("document");
    box.textContent = "working…";
    box.hidden = false;
    try {
      const d = await api(`/api/document?spec=${encodeURIComponent($("spec").value)}`);
      // the server's own HTML: escaped text and data-tex attributes only (symbackprop.web.texhtml)
      box.innerHTML = d.html;
      renderAll(box);
    } catch (e) {
      box.hidden = true;
      showError(e.message);
    }
  }

  function saveBlob(blob, name) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 10000);
  }

  async function worksheet() {
    showError("");
    const status = $("ws-status");
    status.textContent = $("pdf").checked ? "compiling (this takes a few seconds)…" : "writing…";
    $("worksheet").disabled = true;
    try {
      const variants = parseInt($("variants").value || "0", 10) || 0;
      const seed = parseInt($("seed").value || "0", 10) || 0;
      const r = await api("/api/worksheet", { json: { spec: $("spec").value, variants: variants || null, seed,
                                                      pdf: $("pdf").checked }, raw: true });
      const cd = r.headers.get("content-disposition") || "";
      const m = cd.match(/filename="([^"]+)"/);
      saveBlob(await r.blob(), m ? m[1] : "worksheets.zip");
      status.textContent = "downloaded: " + (r.headers.get("x-files") || "").split(",").join(", ");
    } catch (e) {
      status.textContent = "";
      showError(e.message);
    } finally {
      $("worksheet").disabled = false;
    }
  }

  function showSummary(st) {
    const s = st.summary;
    const box = $("summary");
    box.textContent = "";
    const p = document.createElement("p");
    p.textContent = `${s.total} ${s.total === 1 ? "answer" : "answers"}: ${s.correct} correct, ${s.incorrect} incorrect, ${s.unparseable} unreadable.`;
    box.appendChild(p);
    if (st.common_mistakes && st.common_mistakes.length) {
      const t = document.createElement("table");
      const head = t.insertRow();
      for (const h of ["most common mistakes", "answers"]) {
        const th = document.createElement("th");
        th.textContent = h;
        head.appendChild(th);
      }
      for (const [kind, n] of st.common_mistakes) {
        const r = t.insertRow();
        r.insertCell().textContent = kind.replace(/_/g, " ");
        r.insertCell().textContent = String(n);
      }
      box.appendChild(t);
    }
    box.hidden = false;
  }

  async function poll() {
    if (!job) return;
    try {
      const st = await api(`/api/grade/${job}`);
      $("progress").max = Math.max(st.total, 1);
      $("progress").value = st.done;
      $("grade-status").textContent = `graded ${st.done} of ${st.total}`;
      if (st.state === "running") { setTimeout(poll, 300); return; }
      $("grade").disabled = false;
      if (st.state === "failed") { showError(st.error || "grading failed"); return; }
      $("dl-csv").href = `/api/grade/${job}/results.csv`;
      $("dl-json").href = `/api/grade/${job}/results.json`;
      $("dl-csv").setAttribute("download", `graded-${st.spec}.csv`);
      $("dl-json").setAttribute("download", `graded-${st.spec}.json`);
      $("downloads").hidden = false;
      $("grade-status").textContent = `done: graded ${st.done} of ${st.total}`;
      document.body.dataset.graded = "1";
      showSummary(st);
    } catch (e) {
      $("grade").disabled = false;
      showError(e.message);
    }
  }

  async function grade() {
    const f = $("csv").files[0];
    if (!f) { showError("choose a CSV file first"); return; }
    showError("");
    $("summary").hidden = true;
    $("downloads").hidden = true;
    document.body.dataset.graded = "";
    const form = new FormData();
    form.append("spec", $("spec").value);
    form.append("file", f);
    $("grade").disabled = true;
    $("progress").hidden = false;
    $("progress").value = 0;
    try {
      const st = await api("/api/grade", { method: "POST", body: form });
      job = st.job;
      poll();
    } catch (e) {
      $("grade").disabled = false;
      showError(e.message);
    }
  }

  async function start() {
    $("spec").addEventListener("change", loadSpec);
    $("upload-spec").addEventListener("click", uploadSpec);
    $("show-doc").addEventListener("click", showDoc);
    $("worksheet").addEventListener("click", worksheet);
    $("grade").addEventListener("click", grade);
    try {
      await fillSpecs($("spec"), "lecture_2_2_1");
      await loadSpec();
      document.body.dataset.ready = "1";
    } catch (e) {
      showError(e.message);
    }
  }

  document.addEventListener("DOMContentLoaded", start);
})();
