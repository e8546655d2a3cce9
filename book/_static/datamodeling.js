// The book's own script, two rules that keep everything inside the column:
// - a display equation wider than the column is scaled down to fit it. MathJax 3 does not break
//   long equations across lines, and a formula that scrolls sideways hides its end; down to 60%
//   of its size it stays readable;
// - a snake_case name in code inside a table may break after an underscore (a <wbr>, so copying
//   the name still copies it whole), not in the middle of a word.
(function () {
  "use strict";

  function breakIdentifiers() {
    const spans = document.querySelectorAll(
      ".bd-article td code span.pre, .bd-article th code span.pre"
    );
    for (const span of spans) {
      if (span.dataset.dmWbr) continue;
      span.dataset.dmWbr = "1";
      const parts = span.textContent.split(/(?<=_)/);
      if (parts.length < 2) continue;
      span.textContent = "";
      parts.forEach((part, i) => {
        if (i) span.appendChild(document.createElement("wbr"));
        span.appendChild(document.createTextNode(part));
      });
    }
  }

  function fit() {
    for (const box of document.querySelectorAll('mjx-container[display="true"]')) {
      if (!box.dataset.dmFontSize) {
        box.dataset.dmFontSize = String(parseFloat(getComputedStyle(box).fontSize));
      }
      const natural = parseFloat(box.dataset.dmFontSize);
      box.style.fontSize = natural + "px";
      const available = box.parentElement ? box.parentElement.clientWidth : 0;
      const math = box.querySelector("mjx-math") || box;
      const needed = math.getBoundingClientRect().width;
      if (available > 0 && needed > available) {
        const scale = Math.max(0.6, (available - 2) / needed);
        box.style.fontSize = (natural * scale).toFixed(2) + "px";
      }
    }
  }

  function start() {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(fit);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", breakIdentifiers);
  } else {
    breakIdentifiers();
  }
  window.addEventListener("load", start);
  window.addEventListener("resize", fit);
})();
