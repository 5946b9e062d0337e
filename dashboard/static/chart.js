// Draws each Plotly figure a page carries as a JSON data block
// (<script type="application/json" data-plotly-for="DIV-ID">): the dashboard's
// Content-Security-Policy runs scripts from files of this site only, never inline ones.
// In the dark theme (<html data-theme="dark">, or no choice and a dark system preference)
// the chart's text and grid turn light and the pair total (#333333) light grey; a change of
// theme redraws them.
"use strict";
(function () {
  function dark() {
    var chosen = document.documentElement.dataset.theme;
    if (chosen) { return chosen === "dark"; }
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  }

  function darken(figure) {
    var layout = figure.layout;
    layout.paper_bgcolor = "rgba(0,0,0,0)";
    layout.plot_bgcolor = "rgba(0,0,0,0)";
    layout.font = { color: "#dddddd" };
    ["xaxis", "yaxis", "yaxis2"].forEach(function (name) {
      if (layout[name]) { layout[name].gridcolor = "#444444"; }
    });
    figure.data.forEach(function (trace) {
      if (trace.meta === "pair-total") { trace.line.color = "#cccccc"; }
    });
  }

  function draw(redraw) {
    document.querySelectorAll("script[type='application/json'][data-plotly-for]")
      .forEach(function (block) {
        var figure = JSON.parse(block.textContent);
        if (dark()) { darken(figure); }
        (redraw ? Plotly.react : Plotly.newPlot)(
          block.dataset.plotlyFor, figure.data, figure.layout, figure.config);
      });
  }

  draw(false);
  // the header's theme toggle (html[data-theme]) redraws the charts in the new theme
  new MutationObserver(function () { draw(true); })
    .observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
}());
