// The SQL console's clicks: a name in the schema browser goes into the editor at the
// cursor, a query of the history replaces the editor's text. A file of this site, as the
// Content-Security-Policy wants (no inline script); without it the history's links still
// fill the editor through GET /sql?q=, which runs nothing.
"use strict";
(function () {
  var editor = document.getElementById("sql-editor");
  if (!editor) { return; }

  function insert(text) {
    var start = editor.selectionStart, end = editor.selectionEnd;
    var before = editor.value.slice(0, start), after = editor.value.slice(end);
    var pad = before && !/[\s(,.]$/.test(before) ? " " : "";
    editor.value = before + pad + text + after;
    var at = start + pad.length + text.length;
    editor.focus();
    editor.setSelectionRange(at, at);
  }

  document.querySelectorAll("button[data-insert]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      event.preventDefault();  // a button in a <summary> would also open its <details>
      insert(button.dataset.insert);
    });
  });
  document.querySelectorAll("a.reuse[data-query]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      editor.value = link.dataset.query;
      editor.focus();
      editor.setSelectionRange(editor.value.length, editor.value.length);
    });
  });

  // the filter box (hidden without this script): tables whose name or a column's matches;
  // a table that matches by a column opens to show it
  var filter = document.getElementById("schema-filter");
  if (filter) {
    filter.hidden = false;
    filter.addEventListener("input", function () {
      var wanted = filter.value.trim().toLowerCase();
      document.querySelectorAll("details.relation").forEach(function (relation) {
        var byName = relation.dataset.relation.indexOf(wanted) >= 0;
        var byColumn = false;
        relation.querySelectorAll("li.column").forEach(function (column) {
          var hit = wanted !== "" && column.dataset.column.indexOf(wanted) >= 0;
          byColumn = byColumn || hit;
          column.classList.toggle("match", hit);
        });
        relation.hidden = !(byName || byColumn);
        relation.open = wanted !== "" && byColumn && !byName;
      });
    });
  }
}());
