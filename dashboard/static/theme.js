// Light or dark theme: the browser's preference (prefers-color-scheme, in hawatch.css) until
// the header's toggle picks one, remembered in localStorage. Loaded in <head> without defer
// so a saved choice applies before the first paint (no flash). A file, not inline script:
// the Content-Security-Policy (dashboard/headers.py) allows scripts from this site only.
(function () {
  "use strict";
  var KEY = "hawatch-theme";
  var root = document.documentElement;
  if (root.hasAttribute("data-theme-fixed")) {
    return;  // the wallboard is always dark
  }
  function saved() {
    try {
      var value = window.localStorage.getItem(KEY);
      return value === "dark" || value === "light" ? value : null;
    } catch (e) {
      return null;  // storage disabled: the preference alone
    }
  }
  function current() {
    return root.getAttribute("data-theme") ||
      (window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
  }
  var choice = saved();
  if (choice) {
    root.setAttribute("data-theme", choice);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("theme-toggle");
    if (!button) {
      return;
    }
    function label() {
      var dark = current() === "dark";
      button.textContent = dark ? "Light theme" : "Dark theme";
      button.setAttribute("aria-pressed", dark ? "true" : "false");
    }
    button.hidden = false;
    label();
    button.addEventListener("click", function () {
      var next = current() === "dark" ? "light" : "dark";
      root.setAttribute("data-theme", next);
      try {
        window.localStorage.setItem(KEY, next);
      } catch (e) {
        // not remembered, still switched
      }
      label();
    });
  });
}());
