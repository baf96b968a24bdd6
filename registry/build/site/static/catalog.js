// The catalog's only script: search and filters on the home page, copy buttons everywhere.
// Data comes from v1/search.json (every model in a few hundred bytes); from file:// (where
// fetch is refused) the same document, embedded in the page, is used instead.
(function () {
  "use strict";

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(button.dataset.copy).then(function () {
        button.textContent = "Copied";
      }, function () {
        button.textContent = "Select and copy";
      });
    });
  });

  var list = document.getElementById("models");
  if (!list) { return; }
  var embedded = JSON.parse(document.getElementById("catalog-data").textContent);

  function load() {
    if (location.protocol === "file:") { return Promise.resolve(embedded); }
    return fetch(list.dataset.index)
      .then(function (response) { return response.ok ? response.json() : embedded; })
      .catch(function () { return embedded; });
  }

  function values(model, field) {
    var value = model[field];
    return Array.isArray(value) ? value : [value];
  }

  function haystack(model) {
    return [model.name, model.intended_use, model.summary, model.publisher, model.framework,
      model.format, model.license].concat(model.tags, model.versions).join(" ").toLowerCase();
  }

  function setup(index) {
    var byName = {};
    index.models.forEach(function (model) { byName[model.name] = model; });
    var selects = Array.prototype.slice.call(document.querySelectorAll("select[data-field]"));
    selects.forEach(function (select) {
      var seen = {};
      index.models.forEach(function (model) {
        values(model, select.dataset.field).forEach(function (v) { seen[v] = true; });
      });
      Object.keys(seen).sort().forEach(function (v) {
        var option = document.createElement("option");
        option.value = v;
        option.textContent = v;
        select.appendChild(option);
      });
      select.addEventListener("change", apply);
    });
    var search = document.getElementById("search");
    search.addEventListener("input", apply);
    document.getElementById("filters").hidden = false;

    function apply() {
      var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      list.querySelectorAll("li[data-name]").forEach(function (item) {
        var model = byName[item.dataset.name];
        var text = model ? haystack(model) : "";
        var ok = !!model && words.every(function (w) { return text.indexOf(w) !== -1; }) &&
          selects.every(function (s) {
            return !s.value || values(model, s.dataset.field).indexOf(s.value) !== -1;
          });
        item.hidden = !ok;
        if (ok) { shown += 1; }
      });
      document.getElementById("count").textContent = shown + " of " + index.models.length;
      document.getElementById("empty").hidden = shown !== 0;
    }
    apply();
  }

  load().then(setup);
})();
