// symbackprop serve: the student page. Pick a network and a derivative, type the derivation, read the verdict.
"use strict";
(() => {
  const { $, api, tex, texEl, parts, plainName, fillSpecs, setDrawing, showError } = SB;
  let mf = null;           // the MathLive <math-field>
  let mode = "math";       // "math" | "latex"
  let hintLevel = 0;
  let busy = false;

  function makeMathField() {
    if (window.MathfieldElement) {
      window.MathfieldElement.fontsDirectory = "/static/vendor/mathlive-0.111.1/fonts";
      window.MathfieldElement.soundsDirectory = null;
      mf = new window.MathfieldElement();
      mf.id = "mathfield";
      mf.setAttribute("aria-label", "your answer as mathematics");
      mf.smartFence = true;
      mf.mathModeSpace = "\\,";  // a space is a thin space, not a jump out of the parentheses
      mf.addEventListener("keydown", (ev) => {
        // Enter checks, except while a \command is being typed (MathLive's LaTeX mode commits it)
        if (ev.key === "Enter" && !ev.shiftKey && mf.mode !== "latex") { ev.preventDefault(); check(); }
      }, { capture: true });
      $("mathfield-slot").appendChild(mf);
      try {  // the lectures' names as shortcuts (readable once mounted): yhat shows ŷ, partial shows ∂
        mf.inlineShortcuts = { ...mf.inlineShortcuts, yhat: "\\hat{y}", partial: "\\partial" };
      } catch (e) { /* an older MathLive: typing yhat still works as the plain-text name */ }
    } else {
      const p = document.createElement("p");
      p.className = "muted";
      p.textContent = "The math field could not start; use the LaTeX tab.";
      $("mathfield-slot").appendChild(p);
      setMode("latex");
    }
  }

  function setMode(m) {
    mode = m;
    $("tab-math").setAttribute("aria-selected", String(m === "math"));
    $("tab-latex").setAttribute("aria-selected", String(m === "latex"));
    $("tab-math").tabIndex = m === "math" ? 0 : -1;
    $("tab-latex").tabIndex = m === "latex" ? 0 : -1;
    $("panel-math").hidden = m !== "math";
    $("panel-latex").hidden = m !== "latex";
    if (m === "latex" && mf && !$("latex").value.trim() && mf.value) $("latex").value = mf.value;
  }

  function answerText() {
    if (mode === "math" && mf) return mf.getValue("latex-expanded") || mf.value;
    return $("latex").value;
  }

  function preview() {
    const box = $("preview");
    box.textContent = "";
    for (const line of $("latex").value.split("\n")) {
      if (!line.trim()) continue;
      const d = document.createElement("div");
      d.appendChild(texEl(line, false));
      box.appendChild(d);
    }
  }

  async function loadSpec() {
    const name = $("spec").value;
    showError("");
    clearResult();
    try {
      const info = await api(`/api/specs/${encodeURIComponent(name)}`);
      setDrawing($("drawing"), info.drawing_svg);
      tex($("loss"), info.loss);
      tex($("reduction"), (info.reduction === "mean" ? "J = " : "J = ") + info.reduction_latex);
      const given = $("given");
      given.textContent = "";
      for (const line of info.given || []) {
        const d = document.createElement("div");
        d.appendChild(texEl(line));
        given.appendChild(d);
      }
      const wrt = $("wrt");
      wrt.textContent = "";
      for (const t of info.targets) {
        const o = document.createElement("option");
        o.value = t.name;
        o.textContent = (t.kind === "matrix" ? "" : "∂L/∂") + plainName(t.latex) +
                        (t.kind === "matrix" ? " (matrix)" : "");
        o.dataset.latex = t.latex;
        o.dataset.kind = t.kind;
        wrt.appendChild(o);
      }
      const want = new URLSearchParams(location.search).get("wrt");
      if (want && [...wrt.options].some((o) => o.value === want)) wrt.value = want;
      showWrt();
    } catch (e) {
      showError(e.message);
    }
  }

  function showWrt() {
    const o = $("wrt").selectedOptions[0];
    if (!o) return;
    const t = o.dataset.kind === "matrix" ? o.dataset.latex : `\\frac{\\partial L}{\\partial ${o.dataset.latex}}`;
    tex($("wrt-tex"), t + " = \\;?");
    clearResult();
  }

  function clearResult() {
    hintLevel = 0;
    $("hint-box").hidden = true;
    $("hint-box").textContent = "";
    $("solution-box").hidden = true;
    $("solution-box").textContent = "";
    $("hint").textContent = "Show a hint";
  }

  function setBusy(b) {
    busy = b;
    for (const id of ["check", "hint", "solution"]) $(id).disabled = b;
  }

  const HEADLINES = { correct: "Correct", incorrect: "Not yet right", unparseable: "Cannot read this answer" };

  function showVerdict(v) {
    const box = $("verdict");
    box.textContent = "";
    box.className = `verdict ${v.verdict}`;
    box.dataset.verdict = v.verdict;
    const h = document.createElement("p");
    h.className = "headline";
    h.textContent = HEADLINES[v.verdict] || v.verdict;
    box.appendChild(h);
    const fb = document.createElement("p");
    fb.className = "feedback";
    if (v.verdict === "unparseable") fb.textContent = (v.error && v.error.message) || v.feedback.split("\n")[0];
    else fb.appendChild(parts(v.feedback_parts));
    box.appendChild(fb);
    if (v.steps && v.steps.length) {
      const ol = document.createElement("ol");
      ol.className = "steps";
      for (const s of v.steps) {
        const li = document.createElement("li");
        li.className = s.equal ? "ok" : (s.step === v.first_wrong_step ? "wrong" : "later");
        li.appendChild(texEl(`${s.left} ${s.equal ? "=" : "\\neq"} ${s.right}`));
        ol.appendChild(li);
      }
      box.appendChild(ol);
    }
    if (v.normalized && v.normalized.length) {
      const n = document.createElement("p");
      n.className = "how";
      n.textContent = "read from the math field: " + v.normalized.join("; ");
      box.appendChild(n);
    }
    if (v.decided_by) {
      const d = document.createElement("p");
      d.className = "how";
      d.appendChild(document.createTextNode("decided by "));
      d.appendChild(parts(v.decided_by_parts));
      box.appendChild(d);
    }
    if (v.note_parts && v.note_parts.length) {
      const n = document.createElement("p");
      n.className = "how";
      n.appendChild(parts(v.note_parts));
      box.appendChild(n);
    }
  }

  async function check() {
    if (busy) return;
    const answer = answerText().trim();
    if (!answer) { showError("type an answer first"); return; }
    showError("");
    setBusy(true);
    $("verdict").dataset.verdict = "pending";
    try {
      const v = await api("/api/verify", { json: { spec: $("spec").value, wrt: $("wrt").value, answer } });
      showVerdict(v);
    } catch (e) {
      $("verdict").dataset.verdict = "error";
      showError(e.message);
    } finally {
      setBusy(false);
    }
  }

  async function hint() {
    if (busy) return;
    showError("");
    setBusy(true);
    try {
      hintLevel = Math.min(hintLevel + 1, 2);
      const h = await api("/api/hint", { json: { spec: $("spec").value, wrt: $("wrt").value, level: hintLevel } });
      const box = $("hint-box");
      box.textContent = "";
      const title = document.createElement("p");
      title.innerHTML = "<strong></strong>";
      title.firstChild.textContent = hintLevel === 1 ? "Hint: the path(s) of influence" : "Hint: and the local derivatives";
      box.appendChild(title);
      for (const line of h.lines) {
        const d = document.createElement("div");
        d.appendChild(texEl(line, false));
        box.appendChild(d);
      }
      box.hidden = false;
      $("hint").textContent = h.more ? "Show more of the hint" : "Show a hint";
    } catch (e) {
      showError(e.message);
    } finally {
      setBusy(false);
    }
  }

  async function solution() {
    if (busy) return;
    showError("");
    setBusy(true);
    try {
      const q = new URLSearchParams({ spec: $("spec").value, wrt: $("wrt").value });
      const s = await api(`/api/solution?${q}`);
      const box = $("solution-box");
      box.textContent = "";
      const title = document.createElement("p");
      title.innerHTML = "<strong>The worked solution</strong>";
      box.appendChild(title);
      const d = document.createElement("div");
      d.className = "display";
      d.appendChild(texEl(s.latex, true, "div"));
      box.appendChild(d);
      for (const line of s.details || []) {
        const e = document.createElement("div");
        e.appendChild(texEl(line, false));
        box.appendChild(e);
      }
      box.hidden = false;
    } catch (e) {
      showError(e.message);
    } finally {
      setBusy(false);
    }
  }

  function tabKeys(ev) {
    if (ev.key === "ArrowRight" || ev.key === "ArrowLeft") {
      setMode(mode === "math" ? "latex" : "math");
      $(mode === "math" ? "tab-math" : "tab-latex").focus();
    }
  }

  async function start() {
    makeMathField();
    $("tab-math").addEventListener("click", () => setMode("math"));
    $("tab-latex").addEventListener("click", () => setMode("latex"));
    $("tab-math").addEventListener("keydown", tabKeys);
    $("tab-latex").addEventListener("keydown", tabKeys);
    $("latex").addEventListener("input", preview);
    $("latex").addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); check(); }
    });
    $("check").addEventListener("click", check);
    $("hint").addEventListener("click", hint);
    $("solution").addEventListener("click", solution);
    $("spec").addEventListener("change", loadSpec);
    $("wrt").addEventListener("change", showWrt);
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
