// The catalog's only script: copy buttons everywhere; on the home page, search, filters with
// counts and sort, their state in the URL's query string (a link restores it, the back button
// steps through it). Data comes from v1/search.json (every model in a few hundred bytes),
// else from the index pages (v1/index.json and v1/index/<n>.json); from file:// (where fetch
// is refused) the same document as search.json, embedded in the page, is used instead.
//
// Built for 100,000 models. The models are read, held and searched off the page, by engines
// in Web Workers (this same file, started by the page): the page never parses the data and
// stays responsive while it arrives. search.json is read by one worker, which cuts its bytes
// between two models, parses the first batch itself (the first cards) and hands the others in
// turn to two workers, so that both cores decode and parse it; each searches its share and the
// page merges their answers. Cards shown while the data arrives come before the end of the
// document is checked: a document refused at its end replaces them with what is read instead.
// Each model's search text is made once, after the data is read (or when a search needs it
// first); only the first PAGE cards of the results are in the DOM ("Show more" adds the next
// ones). What cannot be read that way (no search.json, a document
// of another shape, a cut the bytes got wrong) is read by one worker the careful way; where
// no worker can run (file://, a browser or policy refusing it), the same engine runs in the
// page.
(function () {
  "use strict";

  var PAGE = 60;  // cards in the DOM at first, and added by each "Show more"
  var BATCH = 1 << 20;  // bytes (or characters) of search.json parsed at once after the first
  var SHARDS = 3;  // workers sharing search.json: one reads and cuts it, two parse it
  var DEFAULT_SORT = "name";

  function later() {
    return new Promise(function (resolve) { setTimeout(resolve, 0); });
  }

  // Models in the order a sort key asks for (the name breaks ties: the published order).
  function compareBy(key) {
    return function (x, y) {
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
      return order || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0);
    };
  }

  // A model as the engines read it, mended in place: its lists lists of strings, its time and
  // size of their types (a size finite and not negative) or null, no object or list in the
  // other fields they read; no model without a name. search.json is the build's, but a page
  // must not stop on one edited by hand or damaged (a value nested 10,000 deep stops String()).
  var SCALARS = ["latest", "format", "framework", "license", "risk_tier", "status", "decision",
    "signed", "publisher", "intended_use", "summary"];
  function sane(model) {
    if (!model || typeof model !== "object" || typeof model.name !== "string") { return null; }
    model.versions = strings(model.versions);
    model.tags = strings(model.tags);
    model.flags = strings(model.flags);
    for (var k = 0; k < SCALARS.length; k += 1) {
      var value = model[SCALARS[k]];
      if (value !== null && typeof value === "object") { model[SCALARS[k]] = null; }
    }
    if (typeof model.updated !== "string") { model.updated = null; }
    var size = model.size;
    if (typeof size !== "number" || !isFinite(size) || size < 0) { model.size = null; }
    return model;
  }

  function strings(list) {
    if (!Array.isArray(list)) { return []; }
    for (var i = 0; i < list.length; i += 1) {
      if (typeof list[i] !== "string") {
        return list.filter(function (v) { return typeof v === "string"; });
      }
    }
    return list;
  }

  // What a card shows of a model, as the page is sent it: the fields `sane` mended and no other
  // (a field the catalog does not know is neither copied between workers nor kept by the page).
  var SHOWN = ["name", "versions", "tags", "flags", "updated", "size"].concat(SCALARS);
  function shown(entry) {
    var card = {};
    for (var k = 0; k < SHOWN.length; k += 1) { card[SHOWN[k]] = entry.model[SHOWN[k]]; }
    return card;
  }

  // An engine: its models, each once with its search text and filter values, and the answer
  // to a state ({q, sort, filters}). No DOM: it runs in a worker or in the page alike.
  function Engine(fields) {
    // Every model once: {model, text (what the search looks in), ids (of its value of each
    // filter's field: a number, or a list for a list field), mask}. The filters work on the
    // numbers: 100,000 models times eight fields.
    var entries;
    var dictionary;  // per field: value -> number
    var vocabulary;  // per field: number -> value
    var orders;  // sort key -> entries in that order, made once
    var last;  // the last state answered: its key, results and counts
    var indexed;  // how many entries have their search text

    function reset() {
      entries = [];
      dictionary = fields.map(function () { return new Map(); });
      vocabulary = fields.map(function () { return []; });
      orders = Object.create(null);
      last = { key: null };
      indexed = 0;
    }
    reset();

    function add(models) {
      for (var i = 0; i < models.length; i += 1) {
        var model = sane(models[i]);
        if (model) { entries.push({ model: model, text: null, ids: idsOf(model), mask: 0 }); }
      }
    }

    // The search texts of the entries up to `end`. They are made after the models are read, a
    // share at a time while nothing else runs (`indexing`), or at once when a search needs
    // them: reading the data, which the page waits for, does not wait for them.
    function index(end) {
      end = Math.min(end, entries.length);
      if (indexed >= end) { return; }
      var share = entries.slice(indexed, end);
      var texts = haystacks(share.map(function (entry) { return entry.model; }));
      for (var i = 0; i < share.length; i += 1) { share[i].text = texts[i]; }
      indexed = end;
    }

    function indexing() {
      function step() {
        if (indexed >= entries.length) { return undefined; }
        index(indexed + 4096);
        return later().then(step);
      }
      return later().then(step);  // after what is already asked
    }

    function haystack(model) {
      var tags = model.tags || [];
      var versions = model.versions || [];
      return model.name + " " + model.intended_use + " " + model.summary + " " +
        model.publisher + " " + model.framework + " " + model.format + " " + model.license +
        (tags.length ? " " + tags.join(" ") : "") +
        (versions.length ? " " + versions.join(" ") : "");
    }

    // The search texts of a batch, lower-cased in one call (a call per model cost more than
    // the rest of the text's making); per model if a text holds the separator itself.
    function haystacks(models) {
      var texts = models.map(haystack);
      var lowered = texts.join("\u0000").toLowerCase().split("\u0000");
      if (lowered.length === texts.length) { return lowered; }
      return texts.map(function (text) { return text.toLowerCase(); });
    }

    function present(v) { return v !== null && v !== undefined && v !== ""; }

    function idOf(f, value) {
      value = String(value);  // as an option's value will say it
      var id = dictionary[f].get(value);
      if (id === undefined) {
        id = vocabulary[f].length;
        dictionary[f].set(value, id);
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

    function byModels(compare) {
      return function (a, b) { return compare(a.model, b.model); };
    }

    // The entries sorted by `key`, once per key (the published order is already by name).
    function orderOf(key) {
      if (!orders[key]) {
        var sorted = entries.slice();
        var byName = byModels(compareBy(DEFAULT_SORT));
        var inOrder = key === DEFAULT_SORT && sorted.every(function (entry, i) {
          return i === 0 || byName(sorted[i - 1], entry) <= 0;
        });
        orders[key] = inOrder ? sorted : sorted.sort(byModels(compareBy(key)));
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
        var id = dictionary[f].get(value);
        return id === undefined ? UNKNOWN : id;
      });
    }

    // While the data arrives: the first models `state` asks for among those read (by name, the
    // published order, they are already the final first ones).
    function preview(state) {
      var words = wordsOf(state);
      if (words.length) { index(entries.length); }
      var wanted = wantedOf(state);
      var found = entries.filter(function (entry) {
        return maskOf(entry, words, wanted) === 0;
      });
      if (state.sort !== DEFAULT_SORT) { found.sort(byModels(compareBy(state.sort))); }
      return found.slice(0, PAGE).map(shown);
    }

    // The filters' counts: for each field, of the entries that fail no other test.
    function countValues() {
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
      return { counts: counts, any: any };
    }

    // The answer to `state`: its first `to` results (the models), how many there are of how
    // many, and each filter's counts (per field, by the number of each value of `values`). The
    // last state's results are kept, so that "Show more" does not search again.
    function query(state, to) {
      var key = JSON.stringify([state.q, state.sort, fields.map(function (field) {
        return state.filters[field] || "";
      })]);
      if (last.key !== key) {
        var words = wordsOf(state);
        if (words.length) { index(entries.length); }
        var wanted = wantedOf(state);
        for (var i = 0; i < entries.length; i += 1) {
          entries[i].mask = maskOf(entries[i], words, wanted);
        }
        var tally = countValues();
        last = {
          key: key,
          results: orderOf(state.sort).filter(function (entry) { return entry.mask === 0; }),
          counts: tally.counts,
          any: tally.any
        };
      }
      return {
        models: last.results.slice(0, to).map(shown),
        matched: last.results.length,
        total: entries.length,
        counts: last.counts,
        any: last.any
      };
    }

    // Once the data is read: the values of each field, as numbered, and the answer to `state`;
    // the search texts are made after.
    function ready(state) {
      var first = query(state, PAGE);
      indexing();
      return { values: vocabulary, first: first };
    }

    return { add: add, reset: reset, preview: preview, query: query, ready: ready };
  }

  // Called after each batch until it returns true: the first models `state` asks for among
  // those read, to `show`, once there are some.
  function previewing(engine, state, show) {
    return function () {
      var models = engine.preview(state);
      if (models.length) { show(models); }
      return models.length > 0;
    };
  }

  // The careful way, into one engine: search.json as its text arrives, split between two
  // models; without it the index pages; from file:// (where fetch is refused), or if neither
  // can be read, the copy of search.json embedded in the page. A source that fails half-way
  // is dropped whole before the next is read. `pause` runs between two batches (in the page,
  // a task boundary to paint); `preview` (a `previewing`) after each batch until it showed
  // some, and again after a source is dropped. Resolves with whether it read every model (not:
  // the embedded copy, when it is cut short).
  function readCarefully(engine, sources, pause, preview) {
    var read = 0;
    var first = preview;  // until it showed some: again after a source is dropped
    function add(models) {
      engine.add(models);
      read += models.length;
      if (first && first()) { first = null; }
    }
    function drop() {
      engine.reset();
      first = preview;
    }

    function getJSON(url) {
      return fetch(url).then(function (response) {
        if (!response.ok) { throw new Error(url + ": HTTP " + response.status); }
        return response.json();
      });
    }

    // search.json's models, handed to `batch` as its text arrives: the document is split
    // between two models of its "models" array, so each batch is ordinary JSON. Without a
    // readable stream, the whole document at once.
    function streamModels(url, batch) {
      return fetch(url).then(function (response) {
        if (!response.ok) { throw new Error(url + ": HTTP " + response.status); }
        if (!response.body || !response.body.getReader || typeof TextDecoder === "undefined") {
          return response.json().then(function (doc) { batch(doc.models); });
        }
        var reader = response.body.getReader();
        var decoder = new TextDecoder();
        var splitter = modelSplitter(batch);
        function pump() {
          return reader.read().then(function (step) {
            if (step.done) { splitter.end(decoder.decode()); return; }
            var before = read;
            splitter.push(decoder.decode(step.value, { stream: true }));
            return read === before ? pump() : pause().then(pump);
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
      var before = null;  // the text before the array's '[', once found
      var text = null;  // the array's text not handed on yet (null: not found yet)
      var handed = 0;  // models handed on
      var want = 0;  // characters held before a cut is tried (doubled while none is found)

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
          before = head.slice(0, head.indexOf("[", start));
          text = head.slice(before.length + 1);
          head = null;
        } else {
          text += chunk;
        }
        // the first models at once (the first cards), then in batches of BATCH characters; a
        // model of many MB costs a few tries, not one a chunk
        if (text.length < want) { return; }
        if (cut('},{"', 1, 4)) {
          want = handed < PAGE ? 0 : BATCH;
        } else {
          want = Math.max(handed < PAGE ? 0 : BATCH, 2 * text.length);
        }
      }

      function end(chunk) {
        if (text === null) {  // no models array where expected: read the document whole
          batch(JSON.parse(head + chunk).models || []);
          return;
        }
        text += chunk;
        if (!cut("]", 0, 8) || !isTheModels(before, text.slice(1))) {
          throw new Error("search.json: no end to its models, or not the document's own");
        }
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
          var next = (doc.links && doc.links.next) || (doc.pages && doc.pages.next);
          next = next && new URL(next, address).href;
          // the next page asked for first: it arrives while this one's models are taken in
          var following = next && !seen[next] ? page(next) : undefined;
          batch(doc.models || []);
          return following;
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

    var models = !sources.search ? Promise.reject(new Error("no search.json")) :
      streamModels(sources.search, add);
    return models
      .catch(function () {
        if (!sources.pages) { throw new Error("no index pages"); }
        drop();
        var known = Object.create(null);  // keys come from the registry
        sources.embedded.forEach(function (model) { known[model.name] = model; });
        return indexPages(sources.pages, function (models) {
          add(models.map(function (entry) { return fromIndex(entry, known[entry.name]); }));
        });
      })
      .then(function () { return true; }, function () {
        drop();
        add(sources.embedded);
        return !sources.capped;
      });
  }

  // Shared, the reading worker's part: search.json's bytes cut between two models (at a
  // '},{"'), the first batch parsed here (the first cards) and the others sent, as bytes, to
  // the other workers in turn (`peers`: their ports). A cut the bytes suggest may fall inside
  // a string that ends in '},{': JSON.parse then refuses the batch before it (its last string
  // is not closed), and the whole shared read is given up (the page reads carefully instead).
  // Resolves with whether it went through (the others report on their own batches); rejects,
  // marked `unread`, if search.json cannot be fetched at all.
  function readShared(engine, url, peers, first) {
    var decoder = new TextDecoder();
    var turn = 0;
    var parsed = true;

    function own(bytes) {
      var models = parse(decoder.decode(bytes));
      if (!models) { parsed = false; return; }
      engine.add(models);
      if (first && first()) { first = null; }
    }
    function hand(bytes) {
      turn += 1;
      if (turn === 1 || !peers.length) { own(bytes); return; }
      peers[(turn - 2) % peers.length].postMessage({ batch: bytes }, [bytes.buffer]);
    }

    function unreadable(why) {
      var error = new Error(url + ": " + why);
      error.unread = true;  // the careful reading would not read it either
      throw error;
    }
    return fetch(url).catch(unreadable).then(function (response) {
      if (!response.ok) { unreadable("HTTP " + response.status); }
      if (!response.body || !response.body.getReader) { return false; }
      var reader = response.body.getReader();
      var parts = [];  // the bytes not handed on yet, as they arrived (joined once a batch)
      var size = 0;
      var start = -1;  // where the models array's text starts, once found
      var before = "";  // the text before its '['
      // A cut is tried once `want` bytes are held (the first one at once), and only in the
      // bytes not searched yet: a model of many MB costs a few searches, not one a chunk.
      var want = 0;
      var searched = 0;
      function held() {
        var bytes = parts.length === 1 ? parts[0] : joined(parts, size);
        parts = [bytes];
        return bytes;
      }
      function keep(bytes) {
        parts = [bytes];
        size = bytes.length;
      }
      function pump() {
        return reader.read().then(function (step) {
          if (!parsed) { reader.cancel(); return false; }  // given up: no need for the rest
          if (step.done) { return finish(size ? held() : null); }
          parts.push(step.value);
          size += step.value.length;
          if (start < 0) {
            start = arrayStart(held());
            if (start === -2) { reader.cancel(); return false; }
            if (start === -1) { return pump(); }
            before = decoder.decode(held().subarray(0, start - 1));
            keep(held().subarray(start));
          }
          if (size < want) { return pump(); }
          var bytes = held();
          var at = lastCut(bytes, searched);
          if (at > 0) {
            hand(bytes.slice(0, at));
            keep(bytes.subarray(at));
            want = BATCH;
            searched = 0;
          } else {
            want = Math.max(turn > 0 ? BATCH : 0, 2 * size);
            searched = Math.max(0, size - 3);
          }
          return pump();
        });
      }
      // The last batch: the bytes up to the array's closing ']', the candidates from the end
      // tried in turn: the one after which the text completes the document (isTheModels); the
      // batch itself is checked by the worker that parses it.
      function finish(bytes) {
        if (start < 0 || !bytes) { return false; }
        var at = bytes.lastIndexOf(93);  // ']'
        for (var tries = 0; at !== -1 && tries < 64; tries += 1) {
          if (isTheModels(before, decoder.decode(bytes.subarray(at + 1)))) {
            hand(bytes.slice(0, at));
            return parsed;
          }
          at = at > 0 ? bytes.lastIndexOf(93, at - 1) : -1;
        }
        return false;
      }
      return pump();
    });
  }

  // Whether the array a reader took for the models is the document's own "models": the text
  // around it, with a marker in its place, parsed as JSON (a "models" nested deeper, a second
  // "models" key after it, or text that is not JSON around it gives another value).
  var MARKER = "\u0000the models";
  function isTheModels(before, after) {
    try {
      var doc = JSON.parse(before + JSON.stringify(MARKER) + after);
      return doc !== null && typeof doc === "object" && doc.models === MARKER;
    } catch (notJSON) {
      return false;
    }
  }

  // Where the models array's text starts in the first bytes of search.json ('[' excluded); -1
  // if they do not say yet, -2 if it is not in the first 4 kB of ASCII (read carefully then).
  function arrayStart(bytes) {
    var mark = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;  // a BOM
    var head = new TextDecoder().decode(bytes.subarray(mark, Math.min(bytes.length, 4096)));
    var found = /^[\x00-\x7f]*?"models"\s*:\s*\[/.exec(head);
    if (found) { return mark + found[0].length; }
    return bytes.length >= 4096 ? -2 : -1;
  }

  // The end of the last '}' followed by ',{"' in `bytes` from `from` on (a cut between two
  // models), or -1.
  function lastCut(bytes, from) {
    var at = bytes.length - 4;
    while (at >= from) {
      at = bytes.lastIndexOf(125, at);  // '}'
      if (at < from) { return -1; }
      if (bytes[at + 1] === 44 && bytes[at + 2] === 123 && bytes[at + 3] === 34) { return at + 1; }
      at -= 1;
    }
    return -1;
  }

  function joined(parts, size) {
    var all = new Uint8Array(size);
    var at = 0;
    parts.forEach(function (part) {
      all.set(part, at);
      at += part.length;
    });
    return all;
  }

  // A batch's models (its text, with or without the comma that followed the cut before it),
  // or null if it is not a list of models.
  function parse(text) {
    if (text.charCodeAt(0) === 44) { text = text.slice(1); }
    try {
      return JSON.parse("[" + text + "]");
    } catch (notACut) {
      return null;
    }
  }

  // In a worker (this file, started by the page): an engine behind messages. The page sends
  // one of {op: "careful", fields, sources, state}, {op: "lead", fields, url, state} with the
  // ports of the other workers, or {op: "follow", fields, state} with the port of the reading
  // one; then {op: "query", state, to}. Each is answered {id, result}; the first models come
  // early as {preview}. Only the last of the queries waiting is searched (the page shows only the
  // answer to its last question): the others are answered {id, result: null}, so that fast
  // typing does not queue a search per keystroke.
  if (typeof document === "undefined") {
    var engine = null;
    var waiting = null;  // the last query not answered yet
    // An answer that cannot be sent (a value the copy refuses) is sent as a failure.
    var answer = function (id, result) {
      try {
        self.postMessage({ id: id, result: result });
      } catch (refused) {
        self.postMessage({ id: id, result: { failed: true } });
      }
    };
    var answerLast = function () {
      var message = waiting;
      waiting = null;
      try {
        answer(message.id, engine.query(message.state, message.to));
      } catch (error) {
        answer(message.id, { failed: true });
      }
    };
    self.onmessage = function (event) {
      var message = event.data;
      if (message.op === "query") {
        if (!engine) { return; }
        if (waiting) {
          answer(waiting.id, null);
        } else {
          setTimeout(answerLast, 0);  // after the messages already queued
        }
        waiting = message;
        return;
      }
      engine = Engine(message.fields);
      var first = previewing(engine, message.state, function (models) {
        try {
          self.postMessage({ preview: models });
        } catch (refused) {
          // no early cards: the answer will say what the data is
        }
      });
      // Every way out answers: the page waits for each worker's answer.
      var loaded = function (ok, whole) {
        var result = { failed: true };
        try {
          if (ok) {
            result = engine.ready(message.state);
            result.whole = whole !== false;
          }
        } catch (error) {
          result = { failed: true };
        }
        answer(message.id, result);
      };
      if (message.op === "careful") {
        readCarefully(engine, message.sources, function () { return Promise.resolve(); }, first)
          .then(function (whole) { loaded(true, whole); }, function () { loaded(false); });
      } else if (message.op === "lead") {
        var ended = function () {  // the others answer once told: nothing more comes
          event.ports.forEach(function (port) { port.postMessage({ end: true }); });
        };
        readShared(engine, message.url, event.ports, first).then(function (parsed) {
          ended();
          loaded(parsed);
        }, function (error) {
          ended();
          answer(message.id, { failed: true, unread: Boolean(error && error.unread) });
        });
      } else if (message.op === "follow") {
        var parsed = true;
        event.ports[0].onmessage = function (batch) {
          if (batch.data.end) { loaded(parsed); return; }
          try {
            var models = parsed && parse(new TextDecoder().decode(batch.data.batch));
            if (models) { engine.add(models); } else { parsed = false; }
          } catch (error) {
            parsed = false;
          }
        };
      }
    };
    return;
  }

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
  var script = document.currentScript && document.currentScript.src;  // the workers' code
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
  var online = location.protocol !== "file:";  // from file://, fetch is refused
  var sources = {  // absolute: the workers' own address is static/catalog.js
    search: online ? new URL(list.dataset.index, location.href).href : null,
    pages: online ? new URL(list.dataset.pages, location.href).href : null,
    embedded: embedded.models,
    capped: embedded.count > embedded.models.length  // the copy holds the first models only
  };
  // The titles of registry/build/site/html.py's FLAG_TITLES, as the server-rendered cards say.
  var FLAG_TITLES = {
    "drift": "the latest drift report is over the risk tier's threshold (monitored)",
    "evaluation-failed": "the latest evaluation did not pass"
  };

  var cards = Object.create(null);  // model name -> its card, made once (keys from the registry)
  var limit = PAGE;  // how many results are in the DOM

  var more = document.createElement("button");
  more.type = "button";
  more.className = "more";
  more.hidden = true;
  list.parentNode.insertBefore(more, list.nextSibling);

  // The engines, from the page's side: `load(state, preview)` resolves with each one's values
  // per field and its answer to `state` ({values, answers}; null if they could not read the
  // data: the page then tries the next way), and `query(state, to)` with each one's answer
  // (null for a question a later one replaced).

  // What the engines said once they read the data, as `load` resolves with it.
  function together(results) {
    return {
      whole: results.every(function (result) { return result.whole !== false; }),
      values: results.map(function (result) { return result.values; }),
      answers: results.map(function (result) { return result.first; })
    };
  }

  // One engine in the page, read carefully.
  function inPage() {
    var engine = Engine(fields);
    return {
      load: function (state, preview) {
        return readCarefully(engine, sources, later, previewing(engine, state, preview))
          .then(function (whole) {
            var result = engine.ready(state);
            result.whole = whole;
            return together([result]);
          });
      },
      query: function (state, to) {
        return new Promise(function (resolve) { resolve([engine.query(state, to)]); });
      },
      stop: function () {}
    };
  }

  // Engines in workers: `shared` of them reading search.json together, or one reading
  // carefully. A worker that fails (it could not start, or stopped) rejects what is pending.
  function inWorkers(shared) {
    var workers = [];
    var pending = Object.create(null);
    var next = 0;
    var preview = null;
    var dead = false;
    function failed() {
      dead = true;
      workers.forEach(function (worker) { worker.terminate(); });
      Object.keys(pending).forEach(function (id) { pending[id].reject(new Error("worker")); });
      pending = Object.create(null);
    }
    function received(event) {
      var message = event.data;
      if (message.preview) {
        if (preview) { preview(message.preview); }
        return;
      }
      var waiting = pending[message.id];
      delete pending[message.id];
      if (waiting) { waiting.resolve(message.result); }
    }
    function send(worker, message, ports) {
      message.id = next;
      next += 1;
      return new Promise(function (resolve, reject) {
        if (dead) {
          reject(new Error("worker"));
          return;
        }
        pending[message.id] = { resolve: resolve, reject: reject };
        worker.postMessage(message, ports || []);
      });
    }
    try {
      for (var i = 0; i < (shared || 1); i += 1) {
        var worker = new Worker(script);
        worker.onerror = failed;
        worker.onmessageerror = failed;
        worker.onmessage = received;
        workers.push(worker);
      }
    } catch (refused) {  // none left running
      failed();
      throw refused;
    }
    function all(results) {
      return results.some(function (result) { return !result || result.failed; }) ? null :
        results;
    }
    return {
      load: function (state, onPreview) {
        preview = onPreview;
        if (!shared) {
          return send(workers[0], { op: "careful", fields: fields, sources: sources, state: state })
            .then(function (result) { return all([result]) && together([result]); });
        }
        var channels = workers.slice(1).map(function () { return new MessageChannel(); });
        var lead = send(workers[0], { op: "lead", fields: fields, url: sources.search,
          state: state }, channels.map(function (channel) { return channel.port1; }));
        var followers = workers.slice(1).map(function (worker, k) {
          return send(worker, { op: "follow", fields: fields, state: state }, [channels[k].port2]);
        });
        return Promise.all([lead].concat(followers)).then(function (results) {
          unread = Boolean(results[0] && results[0].unread);
          return all(results) && together(results);
        });
      },
      query: function (state, to) {
        return Promise.all(workers.map(function (worker) {
          return send(worker, { op: "query", state: state, to: to });
        }));
      },
      stop: failed
    };
  }
  var unread = false;  // search.json could not be read (not: its shared reading failed)

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
      var known = Object.prototype.hasOwnProperty.call(FLAG_TITLES, flag);
      node.title = (known ? FLAG_TITLES[flag] : flag) + ", in one of its versions";
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

  function cardOf(model) {
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
    return card;
  }

  // The first results in the list (cards made once and kept), the others behind "Show more".
  // Cards of a preview are not kept: they come from data not checked whole yet.
  function render(models, matched, preview) {
    var fragment = document.createDocumentFragment();
    var placed = new Set();  // names are unique in a registry; a damaged search.json may repeat one
    models.forEach(function (model) {
      var card = preview ? null : cards[model.name];
      if (!card || placed.has(model.name)) {
        card = cardOf(model);
        if (!preview && !cards[model.name]) { cards[model.name] = card; }
      }
      placed.add(model.name);
      fragment.appendChild(card);
    });
    while (list.firstChild) { list.removeChild(list.firstChild); }
    list.appendChild(fragment);
    list.dataset.shown = String(models.length);
    var rest = matched - models.length;
    more.hidden = rest <= 0;
    more.textContent = "Show " + Math.min(rest, PAGE) + " more (" + rest + " not shown)";
  }

  // While the data arrives: the first cards the state asks for, from what has arrived (each
  // preview replaces the one before: a source dropped half-way is followed by the next).
  function preview(models) {
    if (!listening) { render(models, models.length, true); }
  }

  // The engines' values, per field: the options (added once each, sorted), and each engine's
  // numbering of them, to read its counts.
  var numbering = [];  // per engine, per field: number -> value
  function learn(values) {
    numbering = values;
    selects.forEach(function (select, f) {
      var have = new Set();  // a page set up before (a worker failed) has some
      Array.prototype.forEach.call(select.options, function (o) { have.add(o.value); });
      var fresh = new Set();
      values.forEach(function (engine) {
        engine[f].forEach(function (value) { if (!have.has(value)) { fresh.add(value); } });
      });
      var fragment = document.createDocumentFragment();
      Array.from(fresh).sort().forEach(function (value) {
        var added = element("option", "", value);
        added.value = value;
        fragment.appendChild(added);
      });
      select.appendChild(fragment);
    });
  }

  // The engines' answers as one: their results merged in the state's order, the counts added.
  function merged(answers, state) {
    var order = compareBy(state.sort);
    var models = [];
    var at = answers.map(function () { return 0; });
    while (models.length < limit) {
      var best = -1;
      for (var e = 0; e < answers.length; e += 1) {
        var candidate = answers[e].models[at[e]];
        if (candidate && (best === -1 || order(candidate, answers[best].models[at[best]]) < 0)) {
          best = e;
        }
      }
      if (best === -1) { break; }
      models.push(answers[best].models[at[best]]);
      at[best] += 1;
    }
    var counts = fields.map(function () { return new Map(); });
    var any = fields.map(function () { return 0; });
    answers.forEach(function (answer, e) {
      fields.forEach(function (field, f) {
        any[f] += answer.any[f];
        numbering[e][f].forEach(function (value, id) {
          counts[f].set(value, (counts[f].get(value) || 0) + answer.counts[f][id]);
        });
      });
    });
    return {
      models: models,
      matched: answers.reduce(function (n, answer) { return n + answer.matched; }, 0),
      total: answers.reduce(function (n, answer) { return n + answer.total; }, 0),
      counts: counts,
      any: any
    };
  }

  function countOptions(answer) {
    selects.forEach(function (select, f) {
      Array.prototype.forEach.call(select.options, function (o) {
        var n = !o.value ? answer.any[f] : answer.counts[f].get(o.value) || 0;
        o.textContent = (o.value || "any") + " (" + n + ")";
      });
    });
  }

  function counted(answer) {
    count.textContent = answer.matched + " of " + answer.total +
      (answer.matched > limit ? " (first " + limit + " shown)" : "");
  }

  // An answer is shown only if no later question was asked (typing fast asks many); the
  // list is aria-busy while one is awaited.
  var asked = 0;
  function ask(state, then) {
    asked += 1;
    var mine = asked;
    var from = engines;
    list.setAttribute("aria-busy", "true");
    if (loading) { return; }  // the state shown is asked once the data is read
    from.query(state, limit).then(function (answers) {
      if (mine !== asked) { return; }
      if (answers.some(function (answer) { return !answer; })) { return; }  // replaced
      if (answers.some(function (answer) { return answer.failed; })) {
        throw new Error("engine");
      }
      then(merged(answers, state));
      list.removeAttribute("aria-busy");
    }).catch(function () { fallback(from); });
  }

  function display(answer) {
    countOptions(answer);
    render(answer.models, answer.matched);
    counted(answer);
    empty.hidden = answer.matched !== 0;
  }

  // The page for `state`: from the engines' `answers` if they came with the data, else asked.
  function apply(state, answers) {
    limit = PAGE;
    clear.disabled = queryOf(state) === "";
    if (!answers) {
      ask(state, display);
      return;
    }
    asked += 1;  // an answer still awaited is not shown
    display(merged(answers, state));
    list.removeAttribute("aria-busy");
  }

  function listen() {
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
      ask(currentState(), function (answer) {
        render(answer.models, answer.matched);
        counted(answer);
        var next = list.children[first];  // the keyboard goes on where the new cards start
        if (next) { next.querySelector("a").focus(); }
      });
    });
    // Enter in the search box submits the form, which the CSP (form-action 'none') refuses.
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    window.addEventListener("popstate", function () {
      typing = false;
      show(readState(location.search));
      apply(currentState());
    });
  }

  // The ways to read the data, in turn until one does: search.json shared by workers, then
  // one worker reading carefully (from the index pages if search.json could not be read at
  // all), then the page itself. Once set up, a way that fails later is replaced the same way
  // and the state shown is asked again.
  var ways = [];
  if (sources.search && script && typeof Worker !== "undefined") {
    ways.push(function () { return inWorkers(SHARDS); });
    ways.push(function () {
      if (unread) { sources.search = null; }
      return inWorkers(0);
    });
  }
  ways.push(inPage);
  var engines = null;
  var loading = true;  // the data is being read (questions wait for it)
  var listening = false;
  function start() {
    var way = ways.shift();
    try {
      engines = way();
    } catch (refused) {  // a policy or the browser refused a worker
      start();
      return;
    }
    var from = engines;
    loading = true;
    numbering = [];
    list.setAttribute("aria-busy", "true");
    var asking = readState(location.search);
    from.load(asking, preview).then(function (loaded) {
      if (!loaded) { throw new Error("unread"); }
      loading = false;
      learn(loaded.values);
      if (!listening) {
        listening = true;
        listen();
        show(readState(location.search));
      }
      var state = currentState();
      apply(state, queryOf(state) === queryOf(asking) ? loaded.answers : null);
      form.hidden = false;
      // "and N more models" stays if the page could read only its own copy of the first ones
      var note = document.getElementById("more-models");
      if (note) { note.hidden = loaded.whole; }
    }).catch(function () { fallback(from); });
  }
  // The next way, once, when the engines in use fail (a failure of engines already replaced,
  // from a question they left pending, changes nothing).
  function fallback(from) {
    if (from !== engines) { return; }
    if (!ways.length) {  // nothing left to try: the page stays as it is, no longer busy
      list.removeAttribute("aria-busy");
      return;
    }
    engines.stop();
    start();
  }
  start();
})();
