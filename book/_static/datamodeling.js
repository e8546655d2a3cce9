// The book's own script: a display equation wider than the column is scaled down to fit it.
// MathJax 3 does not break long equations across lines, and a formula that scrolls sideways
// hides its end; down to 60% of its size it stays readable.
(function () {
  "use strict";

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

  window.addEventListener("load", start);
  window.addEventListener("resize", fit);
})();
