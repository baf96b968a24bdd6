// The catalog's only script: copy buttons everywhere; on the home page, search, filters with
// counts and sort, their state in the URL's query string (a link restores it, the back button
// steps through it). Data comes from v1/search.json (every model in a few hundred bytes),
// else from the index pages (v1/index.json and v1/index/<n>.json); from file:// (where fetch
// is refused) the same document as search.json, embedded in the page, is used instead.
(function () {
  "use strict";

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      function refused() { button.textContent = "Select and copy"; }
      // The clipboard API exists only in secure contexts (https, localhost): elsewhere it is
      // undefined, and the button says what to do instead of failing silently.
      if (!navigator.clipboard) { refused(); return; }
      navigator.clipboard.writeText(button.dataset.copy).then(function () {
        button.textContent = "Copied";
      }, refused);
    });
  });

  var list = document.getElementById("models");
  if (!list) { return; }
  var form = document.getElementById("filters");
  var search = document.getElementById("search");
  var sort = document.getElementById("sort");
  var clear = form.querySelector("button.clear");
  var count = document.getElementById("count");
  var empty = document.getElementById("empty");
  var selects = Array.prototype.slice.call(form.querySelectorAll("select[data-field]"));
  var cards = Array.prototype.slice.call(list.querySelectorAll("li[data-name]"));
  var embedded = JSON.parse(document.getElementById("catalog-data").textContent);
  var DEFAULT_SORT = "name";

  function getJSON(url) {
    return fetch(url).then(function (response) {
      if (!response.ok) { throw new Error(url + ": HTTP " + response.status); }
      return response.json();
    });
  }

  // v1/index.json, then every page it links to (v1/index/<n>.json), each link relative to
  // the document that holds it.
  function indexPages(url) {
    var models = [];
    var seen = Object.create(null);  // keys come from the registry
    function page(address) {
      seen[address] = true;
      return getJSON(address).then(function (doc) {
        models = models.concat(doc.models || []);
        var next = (doc.links && doc.links.next) || (doc.pages && doc.pages.next);
        next = next && new URL(next, address).href;
        return next && !seen[next] ? page(next) : models;
      });
    }
    return page(new URL(url, location.href).href);
  }

  // An entry of the index pages in the shape of search.json's. The index carries the latest
  // version's flags only and no size: those come from the page's own copy of search.json
  // when it lists the model (the page and the index come from the same build).
  function fromIndex(entry, known) {
    var model = {
      name: entry.name, latest: entry.latest, versions: entry.versions || [],
      format: entry.format, framework: entry.framework, license: entry.license,
      tags: entry.tags || [], risk_tier: entry.risk_tier, status: entry.status,
      decision: entry.decision, flags: entry.flags || [], signed: entry.signed,
      publisher: entry.publisher, intended_use: entry.intended_use,
      summary: entry.description || "", updated: entry.updated_at || null, size: null
    };
    if (known) {
      model.flags = model.flags.concat((known.flags || []).filter(function (flag) {
        return model.flags.indexOf(flag) === -1;
      })).sort();
      model.size = typeof known.size === "number" ? known.size : null;
      if (known.updated && (!model.updated || known.updated > model.updated)) {
        model.updated = known.updated;
      }
    }
    return model;
  }

  // search.json; without it the index pages; from file:// (where fetch is refused), or if
  // neither can be read, the copy of search.json embedded in the page.
  function load() {
    if (location.protocol === "file:") { return Promise.resolve(embedded.models); }
    return getJSON(list.dataset.index)
      .then(function (doc) { return doc.models; })
      .catch(function () {
        var known = Object.create(null);  // keys come from the registry
        embedded.models.forEach(function (model) { known[model.name] = model; });
        return indexPages(list.dataset.pages).then(function (entries) {
          return entries.map(function (entry) { return fromIndex(entry, known[entry.name]); });
        });
      })
      .catch(function () { return embedded.models; });
  }

  function values(model, field) {
    var value = model[field];
    return (Array.isArray(value) ? value : [value]).filter(function (v) {
      return v !== null && v !== undefined && v !== "";
    });
  }

  function haystack(model) {
    return [model.name, model.intended_use, model.summary, model.publisher, model.framework,
      model.format, model.license].concat(model.tags || [], model.versions || [])
      .join(" ").toLowerCase();
  }

  // The state: {q, sort, filters: {field: value}}, read from and written to the query string
  // (?q=…&format=…&flag=…&sort=…; each select's data-param names its parameter).
  function readState(query) {
    var params = new URLSearchParams(query);
    var state = {
      q: params.get(search.dataset.param) || "",
      sort: params.get(sort.dataset.param) || DEFAULT_SORT,
      filters: {}
    };
    selects.forEach(function (select) {
      state.filters[select.dataset.field] = params.get(select.dataset.param) || "";
    });
    return state;
  }

  function currentState() {
    var state = { q: search.value, sort: sort.value || DEFAULT_SORT, filters: {} };
    selects.forEach(function (select) { state.filters[select.dataset.field] = select.value; });
    return state;
  }

  function queryOf(state) {
    var params = new URLSearchParams();
    if (state.q.trim()) { params.set(search.dataset.param, state.q); }
    selects.forEach(function (select) {
      var value = state.filters[select.dataset.field];
      if (value) { params.set(select.dataset.param, value); }
    });
    if (state.sort !== DEFAULT_SORT) { params.set(sort.dataset.param, state.sort); }
    var text = params.toString();
    return text ? "?" + text : "";
  }

  function option(select, value) {
    var found = Array.prototype.filter.call(select.options, function (o) {
      return o.value === value;
    })[0];
    if (!found) {
      found = document.createElement("option");
      found.value = value;
      found.textContent = value;
      select.appendChild(found);
    }
    return found;
  }

  function show(state) {
    search.value = state.q;
    selects.forEach(function (select) {
      var value = state.filters[select.dataset.field];
      if (value) { option(select, value); }  // a shared link may name a value no model has now
      select.value = value;
    });
    sort.value = state.sort;
    if (sort.value !== state.sort) { sort.value = DEFAULT_SORT; }
  }

  function compareBy(key) {
    return function (a, b) {
      var x = a.model;
      var y = b.model;
      var order = 0;
      if (x && y && key === "updated") {  // the latest first; unknown times last
        var s = x.updated || "";
        var t = y.updated || "";
        order = t < s ? -1 : t > s ? 1 : 0;
      } else if (x && y && key === "size") {  // the smallest first; unknown sizes last
        var p = typeof x.size === "number" ? x.size : Infinity;
        var q = typeof y.size === "number" ? y.size : Infinity;
        order = p === q ? 0 : p < q ? -1 : 1;
      }
      return order || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    };
  }

  function setup(models) {
    var byName = Object.create(null);  // keys come from the registry
    models.forEach(function (model) {
      byName[model.name] = { model: model, text: haystack(model) };
    });
    var entries = cards.map(function (card) {
      var known = byName[card.dataset.name];
      return {
        card: card,
        name: card.dataset.name,
        model: known && known.model,
        text: known ? known.text : ""
      };
    });
    selects.forEach(function (select) {
      var seen = Object.create(null);  // keys come from the registry
      models.forEach(function (model) {
        values(model, select.dataset.field).forEach(function (v) { seen[v] = true; });
      });
      Object.keys(seen).sort().forEach(function (v) { option(select, v); });
    });

    function apply(state) {
      var words = state.q.toLowerCase().split(/\s+/).filter(Boolean);
      var fields = selects.map(function (select) { return select.dataset.field; });
      // for each entry, which filters it fails (it is shown when it fails none, and counted
      // under a filter's values when it fails no other)
      var failing = entries.map(function (entry) {
        if (!entry.model) {  // a card the data does not list: shown only when nothing is asked
          return words.length || fields.some(function (f) { return state.filters[f]; }) ? ["*"] : [];
        }
        var failed = words.every(function (w) { return entry.text.indexOf(w) !== -1; }) ? [] : ["*"];
        fields.forEach(function (field) {
          var wanted = state.filters[field];
          if (wanted && values(entry.model, field).indexOf(wanted) === -1) { failed.push(field); }
        });
        return failed;
      });
      selects.forEach(function (select) {
        var field = select.dataset.field;
        var counts = Object.create(null);  // keys come from the registry
        var any = 0;
        entries.forEach(function (entry, i) {
          var failed = failing[i];
          if (!entry.model || failed.some(function (f) { return f !== field; })) { return; }
          any += 1;
          values(entry.model, field).forEach(function (v) { counts[v] = (counts[v] || 0) + 1; });
        });
        Array.prototype.forEach.call(select.options, function (o) {
          o.textContent = (o.value || "any") + " (" + (o.value ? counts[o.value] || 0 : any) + ")";
        });
      });
      var shown = 0;
      entries.forEach(function (entry, i) {
        entry.card.hidden = failing[i].length !== 0;
        if (!entry.card.hidden) { shown += 1; }
      });
      entries.slice().sort(compareBy(state.sort)).forEach(function (entry) {
        list.appendChild(entry.card);
      });
      count.textContent = shown + " of " + entries.length;
      empty.hidden = shown !== 0;
      clear.disabled = queryOf(state) === "";
    }

    // Typing in the search box is one step of the history (replaced as it grows); every other
    // change is a step of its own, so the back button undoes them one by one.
    var typing = false;
    function commit(replace) {
      var state = currentState();
      var url = location.pathname + queryOf(state) + location.hash;
      if (url !== location.pathname + location.search + location.hash) {
        try {
          history[replace ? "replaceState" : "pushState"](null, "", url);
        } catch (refused) {
          // a browser may refuse to rewrite a file:// URL: the page works, without history
        }
      }
      apply(state);
    }

    search.addEventListener("input", function () {
      commit(typing);
      typing = true;
    });
    selects.concat([sort]).forEach(function (select) {
      select.addEventListener("change", function () {
        typing = false;
        commit(false);
      });
    });
    clear.addEventListener("click", function () {
      typing = false;
      show(readState(""));
      commit(false);
      search.focus();
    });
    // Enter in the search box submits the form, which the CSP (form-action 'none') refuses.
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    window.addEventListener("popstate", function () {
      typing = false;
      var state = readState(location.search);
      show(state);
      apply(currentState());
    });

    show(readState(location.search));
    apply(currentState());
    form.hidden = false;
  }

  load().then(setup);
})();
