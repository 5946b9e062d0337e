// Draws each Plotly figure a page carries as a JSON data block
// (<script type="application/json" data-plotly-for="DIV-ID">): the dashboard's
// Content-Security-Policy runs scripts from files of this site only, never inline ones.
"use strict";
document.querySelectorAll("script[type='application/json'][data-plotly-for]")
  .forEach(function (block) {
    var figure = JSON.parse(block.textContent);
    Plotly.newPlot(block.dataset.plotlyFor, figure.data, figure.layout, figure.config);
  });
