// symbackprop serve: helpers shared by both pages (no framework, no network beyond this server).
"use strict";
const SB = (() => {
  const $ = (id) => document.getElementById(id);

  function showError(message) {
    const el = $("error");
    if (!el) return;
    if (!message) { el.hidden = true; el.textContent = ""; return; }
    el.textContent = String(message).split("\n")[0];
    el.hidden = false;
  }

  async function api(path, options = {}) {
    const opts = { credentials: "same-origin", ...options };
    if (opts.json !== undefined) {
      opts.method = opts.method || "POST";
      opts.headers = { "content-type": "application/json", ...(opts.headers || {}) };
      opts.body = JSON.stringify(opts.json);
      delete opts.json;
    }
    let response;
    try {
      response = await fetch(path, opts);
    } catch (e) {
      throw new Error("the server cannot be reached (is `symbackprop serve` still running?)");
    }
    const type = response.headers.get("content-type") || "";
    if (!response.ok) {
      let message = `error ${response.status}`;
      if (type.includes("json")) {
        try { message = (await response.json()).error || message; } catch (e) { /* keep the status */ }
      }
      throw new Error(message);
    }
    if (opts.raw) return response;
    return type.includes("json") ? response.json() : response.text();
  }

  function tex(el, source, display = false) {
    el.textContent = "";
    if (!window.katex) { el.textContent = source; return el; }
    try {
      window.katex.render(source, el, { displayMode: display, throwOnError: false, strict: "ignore",
                                        maxSize: 20, maxExpand: 200, trust: false, output: "htmlAndMathml" });
    } catch (e) {
      el.textContent = source;
    }
    return el;
  }

  function texEl(source, display = false, tag = "span") {
    const el = document.createElement(tag);
    el.className = "tex";
    return tex(el, source, display);
  }

  // every [data-tex] under root, typeset (inline, or display for .display)
  function renderAll(root) {
    root.querySelectorAll("[data-tex]").forEach((el) => {
      tex(el, el.getAttribute("data-tex"), el.classList.contains("display"));
    });
  }

  // feedback parts [{text} | {tex}] -> a fragment
  function parts(list) {
    const frag = document.createDocumentFragment();
    for (const p of list || []) {
      if (p.tex !== undefined) frag.appendChild(texEl(p.tex));
      else frag.appendChild(document.createTextNode(p.text));
    }
    return frag;
  }

  // w^{1}_{1,1} -> w¹₁,₁ for <option> text (options cannot hold typeset math)
  const SUP = { "0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹", "L": "ᴸ" };
  const SUB = { "0": "₀", "1": "₁", "2": "₂", "3": "₃", "4": "₄", "5": "₅", "6": "₆", "7": "₇", "8": "₈", "9": "₉", ",": ",", "i": "ᵢ", "j": "ⱼ" };
  function plainName(latex) {
    let s = latex.replace(/\\hat\{y\}/g, "ŷ").replace(/\\hat\{([a-z])\}/g, "$1\u0302");
    s = s.replace(/\^\{([^{}]*)\}|\^(.)/g, (m, a, b) => [...(a ?? b)].map((c) => SUP[c] ?? c).join(""));
    s = s.replace(/_\{([^{}]*)\}|_(.)/g, (m, a, b) => [...(a ?? b)].map((c) => SUB[c] ?? c).join(""));
    return s.replace(/\\([a-zA-Z]+)/g, "$1");
  }

  async function fillSpecs(select, preferred) {
    const data = await api("/api/specs");
    select.textContent = "";
    for (const s of data.specs) {
      const o = document.createElement("option");
      o.value = s.name;
      o.textContent = s.origin === "lecture" ? s.title : `${s.title} (${s.origin})`;
      select.appendChild(o);
    }
    const want = new URLSearchParams(location.search).get("spec") || preferred;
    if (want && [...select.options].some((o) => o.value === want)) select.value = want;
    return data.specs;
  }

  function setDrawing(box, svgText) {
    box.textContent = "";
    if (!svgText) {
      const p = document.createElement("p");
      p.className = "muted";
      p.textContent = "(too large to draw; the layers are listed below)";
      box.appendChild(p);
      return;
    }
    // our own server's SVG (generated names, escaped); parsed as XML, never as script
    const doc = new DOMParser().parseFromString(svgText, "image/svg+xml");
    const svg = doc.documentElement;
    if (svg.nodeName !== "svg") return;
    svg.querySelectorAll("script").forEach((s) => s.remove());
    box.appendChild(document.importNode(svg, true));
    renderAll(box);
  }

  return { $, api, tex, texEl, renderAll, parts, plainName, fillSpecs, setDrawing, showError };
})();
