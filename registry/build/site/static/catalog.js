// The catalog's only script: copy buttons everywhere; on the home page, search, filters with
// counts and sort, their state in the URL's query string (a link restores it, the back button
// steps through it). Data comes from v1/search.json (every model in a few hundred bytes),
// else from the index pages (v1/index.json and v1/index/<n>.json); from file:// (where fetch
// is refused) the same document as search.json, embedded in the page, is used instead.
// Built for 100,000 models: search.json is parsed as it arrives (the first cards show after
// its first chunk), each model's search text is made once, and only the first PAGE cards of
// the results are in the DOM ("Show more" adds the next ones).
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
  var fields = selects.map(function (select) { return select.dataset.field; });
  var embedded = JSON.parse(document.getElementById("catalog-data").textContent);
  var root = list.dataset.index.replace(/v1\/search\.json$/, "");  // the site's, from this page
  var DEFAULT_SORT = "name";
  var PAGE = 60;  // cards in the DOM at first, and added by each "Show more"
  var BATCH = 1 << 20;  // characters of search.json parsed at once once the first cards show
  // The titles of registry/build/site/html.py's FLAG_TITLES, as the server-rendered cards say.
  var FLAG_TITLES = {
    "drift": "the latest drift report is over the risk tier's threshold (monitored)",
    "evaluation-failed": "the latest evaluation did not pass"
  };

  // Every model once: {model, name, text (what the search looks in), ids (of its value of
  // each filter's field: a number, or a list for a list field), mask, card (made when first
  // shown)}. The filters work on the numbers: 100,000 models times eight fields.
  var entries = [];
  var dictionary;  // per field: value -> number
  var vocabulary;  // per field: number -> value
  var orders = Object.create(null);  // sort key -> entries in that order, made once
  var results = [];  // the entries the state asks for, in its order
  var limit = PAGE;  // how many of them are in the DOM
  var complete = false;

  var more = document.createElement("button");
  more.type = "button";
  more.className = "more";
  more.hidden = true;
  list.parentNode.insertBefore(more, list.nextSibling);

  function later() {
    return new Promise(function (resolve) { setTimeout(resolve, 0); });
  }

  function getJSON(url) {
    return fetch(url).then(function (response) {
      if (!response.ok) { throw new Error(url + ": HTTP " + response.status); }
      return response.json();
    });
  }

  // search.json's models, handed to `batch` as its text arrives: the document is split
  // between two models of its "models" array (a scan that knows strings and nesting), so
  // each batch is ordinary JSON. Without a readable stream, the whole document at once.
  function streamModels(url, batch) {
    return fetch(url).then(function (response) {
      if (!response.ok) { throw new Error(url + ": HTTP " + response.status); }
      if (!response.body || !response.body.getReader || !window.TextDecoder) {
        return response.json().then(function (doc) { batch(doc.models); });
      }
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var splitter = modelSplitter(batch);
      function pump() {
        return reader.read().then(function (step) {
          if (step.done) { splitter.end(decoder.decode()); return; }
          var before = entries.length;
          splitter.push(decoder.decode(step.value, { stream: true }));
          // after a batch, a task of its own for the next read: the browser paints between
          return entries.length === before ? pump() : later().then(pump);
        });
      }
      return pump();
    });
  }

  // Cuts the models array's text after a model: at the last '},{"' of what has arrived, or at
  // its closing ']' at the end. A cut inside a string or inside a model leaves text that is
  // not JSON (the prefix is read the same way as in the whole document), so JSON.parse itself
  // checks every cut; a refused cut is tried at the previous candidate.
  function modelSplitter(batch) {
    var head = "";  // the text before the models array, until its start is found
    var text = null;  // the array's text not handed on yet (null: not found yet)
    var handed = 0;  // models handed on

    function parse(part) {
      if (part.charCodeAt(0) === 44) { part = part.slice(1); }  // the comma after a cut
      try {
        return JSON.parse("[" + part + "]");
      } catch (notACut) {
        return null;
      }
    }

    function cut(pattern, offset, tries) {
      var at = text.lastIndexOf(pattern);
      while (at !== -1 && tries > 0) {
        var models = parse(text.slice(0, at + offset));
        if (models) {
          text = text.slice(at + offset);
          handed += models.length;
          batch(models);
          return true;
        }
        at = at > 0 ? text.lastIndexOf(pattern, at - 1) : -1;
        tries -= 1;
      }
      return false;
    }

    function push(chunk) {
      if (text === null) {
        head += chunk;
        var start = head.search(/"models"\s*:\s*\[/);
        if (start === -1) { return; }
        text = head.slice(head.indexOf("[", start) + 1);
        head = null;
      } else {
        text += chunk;
      }
      // the first models at once (the first cards), then in batches of BATCH characters
      if (handed < PAGE || text.length >= BATCH) { cut('},{"', 1, 4); }
    }

    function end(chunk) {
      if (text === null) {  // no models array where expected: read the document whole
        batch(JSON.parse(head + chunk).models || []);
        return;
      }
      text += chunk;
      if (!cut("]", 0, 8)) { throw new Error("search.json: no end to its models"); }
    }

    return { push: push, end: end };
  }

  // v1/index.json, then every page it links to (v1/index/<n>.json), each link relative to
  // the document that holds it; each page's models handed to `batch` as it arrives.
  function indexPages(url, batch) {
    var seen = Object.create(null);  // keys come from the registry
    function page(address) {
      seen[address] = true;
      return getJSON(address).then(function (doc) {
        batch(doc.models || []);
        var next = (doc.links && doc.links.next) || (doc.pages && doc.pages.next);
        next = next && new URL(next, address).href;
        return next && !seen[next] ? page(next) : undefined;
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
  // neither can be read, the copy of search.json embedded in the page. A source that fails
  // half-way is dropped whole before the next is read.
  function load() {
    if (location.protocol === "file:") {
      add(embedded.models);
      return Promise.resolve();
    }
    return streamModels(list.dataset.index, add)
      .catch(function () {
        reset();
        var known = Object.create(null);  // keys come from the registry
        embedded.models.forEach(function (model) { known[model.name] = model; });
        return indexPages(list.dataset.pages, function (models) {
          add(models.map(function (entry) { return fromIndex(entry, known[entry.name]); }));
        });
      })
      .catch(function () {
        reset();
        add(embedded.models);
      });
  }

  function reset() {
    entries = [];
    dictionary = fields.map(function () { return Object.create(null); });  // registry's keys
    vocabulary = fields.map(function () { return []; });
  }
  reset();

  // A batch of models: their search text and filter values made once; the first cards shown
  // while the rest arrives.
  function add(models) {
    for (var i = 0; i < models.length; i += 1) {
      var model = models[i];
      entries.push({
        model: model, name: model.name, text: haystack(model), ids: idsOf(model), mask: 0,
        card: null
      });
    }
    if (!complete && list.dataset.shown === undefined) { preview(); }
  }

  function haystack(model) {
    var tags = model.tags || [];
    var versions = model.versions || [];
    return (model.name + " " + model.intended_use + " " + model.summary + " " +
      model.publisher + " " + model.framework + " " + model.format + " " + model.license +
      (tags.length ? " " + tags.join(" ") : "") +
      (versions.length ? " " + versions.join(" ") : "")).toLowerCase();
  }

  function present(v) { return v !== null && v !== undefined && v !== ""; }

  function idOf(f, value) {
    var id = dictionary[f][value];
    if (id === undefined) {
      id = vocabulary[f].length;
      dictionary[f][value] = id;
      vocabulary[f].push(value);
    }
    return id;
  }

  function idsOf(model) {
    var ids = new Array(fields.length);
    for (var f = 0; f < fields.length; f += 1) {
      var value = model[fields[f]];
      if (Array.isArray(value)) {
        ids[f] = [];
        for (var i = 0; i < value.length; i += 1) {
          if (present(value[i])) { ids[f].push(idOf(f, value[i])); }
        }
      } else {
        ids[f] = present(value) ? idOf(f, value) : -1;
      }
    }
    return ids;
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
      if (key === "updated") {  // the latest first; unknown times last
        var s = x.updated || "";
        var t = y.updated || "";
        order = t < s ? -1 : t > s ? 1 : 0;
      } else if (key === "size") {  // the smallest first; unknown sizes last
        var p = typeof x.size === "number" ? x.size : Infinity;
        var q = typeof y.size === "number" ? y.size : Infinity;
        order = p === q ? 0 : p < q ? -1 : 1;
      }
      return order || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    };
  }

  // The entries sorted by `key`, once per key (the published order is already by name).
  function orderOf(key) {
    if (!orders[key]) {
      var sorted = entries.slice();
      var byName = compareBy(DEFAULT_SORT);
      var inOrder = key === DEFAULT_SORT && sorted.every(function (entry, i) {
        return i === 0 || byName(sorted[i - 1], entry) <= 0;
      });
      orders[key] = inOrder ? sorted : sorted.sort(compareBy(key));
    }
    return orders[key];
  }

  // Which tests `entry` fails, one bit each: 1 the search words, 2 << i the filter of
  // fields[i]. It is shown when it fails none, counted under a filter's values when it fails
  // no other.
  function maskOf(entry, words, wanted) {
    var mask = 0;
    for (var w = 0; w < words.length; w += 1) {
      if (entry.text.indexOf(words[w]) === -1) { mask = 1; break; }
    }
    for (var f = 0; f < fields.length; f += 1) {
      var want = wanted[f];
      if (want === NOTHING) { continue; }
      var has = entry.ids[f];
      if (typeof has === "number" ? has !== want : has.indexOf(want) === -1) { mask |= 2 << f; }
    }
    return mask;
  }

  function wordsOf(state) { return state.q.toLowerCase().split(/\s+/).filter(Boolean); }

  // Per field, the number of the value asked for; NOTHING when none is; UNKNOWN for a value
  // no model has (a shared link may name one), which nothing matches.
  var NOTHING = -2;
  var UNKNOWN = -3;
  function wantedOf(state) {
    return fields.map(function (field, f) {
      var value = state.filters[field];
      if (!value) { return NOTHING; }
      var id = dictionary[f][value];
      return id === undefined ? UNKNOWN : id;
    });
  }

  // The filters' counts: for each field, of the entries that fail no other test.
  function countOptions() {
    var counts = vocabulary.map(function (values) { return new Int32Array(values.length); });
    var any = new Int32Array(fields.length);
    for (var i = 0; i < entries.length; i += 1) {
      var mask = entries[i].mask;
      if (mask & 1) { continue; }  // the search words fail it: no filter counts it
      var ids = entries[i].ids;
      for (var f = 0; f < fields.length; f += 1) {
        if ((mask & ~(2 << f)) !== 0) { continue; }
        any[f] += 1;
        var has = ids[f];
        if (typeof has === "number") {
          if (has >= 0) { counts[f][has] += 1; }
        } else {
          for (var k = 0; k < has.length; k += 1) { counts[f][has[k]] += 1; }
        }
      }
    }
    selects.forEach(function (select, f) {
      Array.prototype.forEach.call(select.options, function (o) {
        var id = dictionary[f][o.value];
        var n = !o.value ? any[f] : id === undefined ? 0 : counts[f][id];
        o.textContent = (o.value || "any") + " (" + n + ")";
      });
    });
  }

  // A card as the home page's template renders one (registry/build/site/templates/index.html),
  // built node by node (no HTML parsing of the registry's text).
  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function badge(className, key, value) {
    var node = element("span", className);
    node.appendChild(element("span", "key", key + ":"));
    node.appendChild(document.createTextNode(" " + value));
    return node;
  }

  function bytes(n) {
    if (n < 1000) { return n + " B"; }
    if (n < 1000000) { return (n / 1000).toFixed(1) + " kB"; }
    if (n < 1000000000) { return (n / 1000000).toFixed(1) + " MB"; }
    return (n / 1000000000).toFixed(2) + " GB";
  }

  function badgesOf(model) {
    var nodes = [
      badge("badge", "format", model.format),
      badge("badge", "framework", model.framework),
      badge("badge", "license", model.license),
      badge("badge tier-" + model.risk_tier, "risk", model.risk_tier),
      badge("badge status-" + model.status, "status", model.status)
    ];
    if (model.decision && model.decision !== "allow") {
      var decision = badge("badge decision-" + model.decision, "governance", model.decision);
      decision.title = "governance decision";
      nodes.push(decision);
    }
    (model.flags || []).forEach(function (flag) {
      var node = element("span", "badge flag flag-" + flag);
      node.title = (FLAG_TITLES[flag] || flag) + ", in one of its versions";
      var mark = element("span", "", "⚑");
      mark.setAttribute("aria-hidden", "true");
      node.appendChild(mark);
      node.appendChild(document.createTextNode(" " + flag));
      nodes.push(node);
    });
    if (model.signed) {
      var signed = element("span", "badge signed", "signed");
      signed.title = "signature verified";
      nodes.push(signed);
    }
    (model.tags || []).forEach(function (tag) { nodes.push(element("span", "tag", "#" + tag)); });
    return nodes;
  }

  function cardOf(entry) {
    if (entry.card) { return entry.card; }
    var model = entry.model;
    var card = element("li", "card");
    card.dataset.name = model.name;
    var title = element("h2");
    var link = element("a", "", model.name);
    link.href = root + "models/" + model.name + "/index.html";
    title.appendChild(link);
    title.appendChild(document.createTextNode(" "));
    title.appendChild(element("span", "version", model.latest));
    card.appendChild(title);
    card.appendChild(element("p", "", model.intended_use));
    var badges = element("p", "badges");
    badgesOf(model).forEach(function (node) {
      badges.appendChild(node);
      badges.appendChild(document.createTextNode(" "));  // the template's spacing
    });
    card.appendChild(badges);
    var muted = element("p", "muted", "by " + model.publisher);
    if (model.updated) {
      muted.appendChild(document.createTextNode(" · updated "));
      var time = element("time", "", model.updated.slice(0, 10));
      time.setAttribute("datetime", model.updated);
      muted.appendChild(time);
    }
    if (typeof model.size === "number") {
      muted.appendChild(document.createTextNode(" · " + bytes(model.size)));
    }
    card.appendChild(muted);
    entry.card = card;
    return card;
  }

  // The first `limit` results in the list, and the others behind "Show more".
  function render() {
    var fragment = document.createDocumentFragment();
    var shown = Math.min(limit, results.length);
    for (var i = 0; i < shown; i += 1) { fragment.appendChild(cardOf(results[i])); }
    while (list.firstChild) { list.removeChild(list.firstChild); }
    list.appendChild(fragment);
    list.dataset.shown = String(shown);
    var rest = results.length - shown;
    more.hidden = rest <= 0;
    more.textContent = "Show " + Math.min(rest, PAGE) + " more (" + rest + " not shown)";
  }

  // While the data arrives: the first cards the state asks for, from what has arrived (by
  // name, the published order, they are already the final ones).
  function preview() {
    var state = readState(location.search);
    var words = wordsOf(state);
    var wanted = wantedOf(state);
    results = entries.filter(function (entry) { return maskOf(entry, words, wanted) === 0; });
    if (state.sort !== DEFAULT_SORT) { results.sort(compareBy(state.sort)); }
    if (results.length) { render(); }
  }

  function apply(state) {
    var words = wordsOf(state);
    var wanted = wantedOf(state);
    for (var i = 0; i < entries.length; i += 1) {
      entries[i].mask = maskOf(entries[i], words, wanted);
    }
    countOptions();
    results = orderOf(state.sort).filter(function (entry) { return entry.mask === 0; });
    limit = PAGE;
    render();
    count.textContent = results.length + " of " + entries.length +
      (results.length > limit ? " (first " + limit + " shown)" : "");
    empty.hidden = results.length !== 0;
    clear.disabled = queryOf(state) === "";
  }

  function setup() {
    complete = true;
    selects.forEach(function (select, f) {  // one option per value, sorted, added at once
      var fragment = document.createDocumentFragment();
      vocabulary[f].slice().sort().forEach(function (value) {
        var added = element("option", "", value);
        added.value = value;
        fragment.appendChild(added);
      });
      select.appendChild(fragment);
    });

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
    more.addEventListener("click", function () {
      var first = limit;
      limit += PAGE;
      render();
      count.textContent = results.length + " of " + entries.length +
        (results.length > limit ? " (first " + limit + " shown)" : "");
      var next = list.children[first];  // the keyboard goes on where the new cards start
      if (next) { next.querySelector("a").focus(); }
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
    list.removeAttribute("aria-busy");
    form.hidden = false;
    var capped = document.getElementById("more-models");  // for readers without scripts
    if (capped) { capped.hidden = true; }
  }

  list.setAttribute("aria-busy", "true");
  load().then(setup);
})();
