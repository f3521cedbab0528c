// moescope route explorer. The page carries its data: #moe-data (JSON, aggregates computed in Java) and #moe-details
// (base64 of one binary record per sample, decoded only when that sample is shown; layout in DetailRecords.java).
// Everything is drawn here (canvas heatmaps, SVG bars and lines); nothing is fetched.
(function () {
  'use strict';
  var t0 = performance.now();
  var D = JSON.parse(document.getElementById('moe-data').textContent);
  var BLOB = document.getElementById('moe-details').textContent;

  function bytes(b64) {
    var s = atob(b64), u = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) u[i] = s.charCodeAt(i);
    return u;
  }
  function f32(b64) { var u = bytes(b64); return new Float32Array(u.buffer, 0, u.length >> 2); }
  function f64(b64) { var u = bytes(b64); return new Float64Array(u.buffer, 0, u.length >> 3); }

  var C = D.checkpoints.length, L = D.model.layers, E = D.model.experts, K = D.model.top_k;
  var LOAD = f64(D.stats.load), PROB = f32(D.stats.prob), COACT = f32(D.stats.coact), GPATH = f32(D.group_path);
  var G = D.groups.length, M = D.detail.index.length, W = D.detail.id_bytes;
  var CK_TOKENS = [];
  for (var c0 = 0; c0 < C; c0++) {
    var tk = 0;
    for (var e0 = 0; e0 < E; e0++) tk += LOAD[(c0 * L) * E + e0];
    CK_TOKENS.push(tk / K); // each token is counted once per chosen expert
  }

  var state = {c: C - 1, layer: 0, s: 0, b: Math.min(1, M - 1), g: 0, page: 0};

  // ---- helpers -------------------------------------------------------------------------------------------------
  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, children) {
    var n = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (k === 'text') n.textContent = attrs[k];
      else if (k === 'cls') n.className = attrs[k];
      else n.setAttribute(k, attrs[k]);
    }
    if (children) children.forEach(function (ch) { if (ch != null) n.appendChild(typeof ch === 'string' ? document.createTextNode(ch) : ch); });
    return n;
  }
  function svgEl(tag, attrs) {
    var n = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (var k in attrs) n.setAttribute(k, attrs[k]);
    return n;
  }
  function fmt(v, d) {
    if (v == null || !isFinite(v)) return 'n/a';
    if (Math.abs(v) >= 1000 && Number.isInteger(v)) return v.toLocaleString('en');
    return Number(v).toFixed(d == null ? 3 : d);
  }
  function pct(v) { return isFinite(v) ? (100 * v).toFixed(1) + '%' : 'n/a'; }
  function expertColour(e) { return 'hsl(' + ((e * 137.508) % 360).toFixed(0) + ',70%,' + (e % 2 ? '72%' : '62%') + ')'; }
  function chip(e, extra) {
    var s = el('span', {cls: 'chip' + (extra || ''), text: String(e)});
    s.style.background = expertColour(e);
    return s;
  }
  function layerName(l) { return 'layer ' + D.model.moe_layers[l]; }
  function ckName(c) {
    var k = D.checkpoints[c];
    return k.name + (k.step >= 0 ? ' (step ' + k.step.toLocaleString('en') + ')' : '');
  }
  // Viridis, five stops, linear between them: perceptually ordered and readable in grey.
  var VIR = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  function colour(t) {
    if (!isFinite(t)) return 'rgb(220,220,220)';
    t = Math.max(0, Math.min(1, t)) * (VIR.length - 1);
    var i = Math.min(VIR.length - 2, Math.floor(t)), f = t - i, a = VIR[i], b = VIR[i + 1];
    return 'rgb(' + Math.round(a[0] + f * (b[0] - a[0])) + ',' + Math.round(a[1] + f * (b[1] - a[1])) + ','
        + Math.round(a[2] + f * (b[2] - a[2])) + ')';
  }

  var tip = el('div', {cls: 'tip'});
  document.body.appendChild(tip);
  function showTip(ev, text) {
    tip.textContent = text;
    tip.style.display = 'block';
    tip.style.left = (ev.clientX + 14) + 'px';
    tip.style.top = (ev.clientY + 14) + 'px';
  }
  function hideTip() { tip.style.display = 'none'; }

  // A rows × cols heatmap on a canvas. value(r, c) in [0, max]; NaN is grey. Labels left and on top.
  function heatmap(canvas, o) {
    var left = o.left || 70, top = 16, avail = o.width || 560;
    var cw = Math.max(3, Math.min(28, Math.floor((avail - left - 76) / o.cols)));
    var ch = o.cellHeight || Math.max(3, Math.min(22, cw));
    // room on the right for the colour scale
    var scaleX = left + cw * o.cols + 12, w = scaleX + 64, h = Math.max(top + ch * o.rows + 4, 80),
        dpr = window.devicePixelRatio || 1;
    canvas.width = w * dpr;
    canvas.height = h * dpr;
    canvas.style.width = w + 'px';
    canvas.style.height = h + 'px';
    var g = canvas.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = '#fff';
    g.fillRect(0, 0, w, h);
    // The colour runs from 0 (or, with autoMin, the smallest value: a balanced router's small differences stay
    // visible) to the largest value; the scale on the right says which.
    var max = o.max, min = 0;
    if (max == null || o.autoMin) {
      var hi = -Infinity, lo = Infinity;
      for (var r = 0; r < o.rows; r++) for (var c = 0; c < o.cols; c++) {
        var v = o.value(r, c);
        if (isFinite(v)) { hi = Math.max(hi, v); lo = Math.min(lo, v); }
      }
      if (max == null) max = Math.max(0, hi);
      if (o.autoMin && lo < max) min = lo;
    }
    if (!(max > min)) { min = 0; max = max > 0 ? max : 1; }
    for (var r2 = 0; r2 < o.rows; r2++) for (var c2 = 0; c2 < o.cols; c2++) {
      g.fillStyle = colour((o.value(r2, c2) - min) / (max - min));
      g.fillRect(left + c2 * cw, top + r2 * ch, cw, ch);
    }
    if (o.highlightRow != null) {
      g.strokeStyle = '#e00';
      g.lineWidth = 2;
      g.strokeRect(left - 1, top + o.highlightRow * ch - 1, cw * o.cols + 2, ch + 2);
    }
    // colour scale: 0 at the bottom, the maximum at the top
    var sh = Math.max(40, Math.min(ch * o.rows, 160));
    for (var y = 0; y < sh; y++) {
      g.fillStyle = colour(1 - y / (sh - 1));
      g.fillRect(scaleX, top + y, 10, 1);
    }
    g.fillStyle = '#333';
    g.font = '11px sans-serif';
    g.textBaseline = 'middle';
    g.textAlign = 'left';
    var fmtScale = o.scale || function (v) { return fmt(v, 3); };
    g.fillText(fmtScale(max), scaleX + 13, top + 5);
    g.fillText(fmtScale(min), scaleX + 13, top + sh - 5);
    g.textAlign = 'right';
    var rowStep = Math.ceil(12 / ch);
    for (var r3 = 0; r3 < o.rows; r3 += rowStep) g.fillText(o.rowLabel(r3), left - 4, top + r3 * ch + ch / 2);
    g.textAlign = 'center';
    var colStep = Math.ceil(22 / cw);
    for (var c3 = 0; c3 < o.cols; c3 += colStep) g.fillText(o.colLabel(c3), left + c3 * cw + cw / 2, top / 2);
    function cell(ev) {
      var rect = canvas.getBoundingClientRect();
      var x = ev.clientX - rect.left - left, y = ev.clientY - rect.top - top;
      var cc = Math.floor(x / cw), rr = Math.floor(y / ch);
      return cc >= 0 && cc < o.cols && rr >= 0 && rr < o.rows ? [rr, cc] : null;
    }
    canvas.onmousemove = function (ev) {
      var p = cell(ev);
      if (p) showTip(ev, o.tooltip(p[0], p[1], o.value(p[0], p[1])));
      else hideTip();
    };
    canvas.onmouseleave = hideTip;
    canvas.onclick = function (ev) { var p = cell(ev); if (p && o.onClick) o.onClick(p[0], p[1]); };
    canvas.dataset.max = String(max);
  }

  // Bars of values[i] with an optional reference line; labels every few bars.
  function bars(svg, values, o) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var w = o.width || 560, h = 180, left = 56, bottom = 22, top = 8, n = values.length;
    svg.setAttribute('width', w);
    svg.setAttribute('height', h);
    svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h);
    var max = o.ref || 0;
    values.forEach(function (v) { if (v > max) max = v; });
    if (!(max > 0)) max = 1;
    var bw = (w - left - 4) / n, ph = h - top - bottom;
    svg.appendChild(svgEl('line', {x1: left, y1: top + ph, x2: w - 4, y2: top + ph, stroke: '#999'}));
    for (var i = 0; i < n; i++) {
      var bh = ph * values[i] / max;
      var rect = svgEl('rect', {x: left + i * bw + 0.5, y: top + ph - bh, width: Math.max(1, bw - 1), height: bh,
        fill: expertColour(i), 'data-expert': i});
      var t = svgEl('title', {});
      t.textContent = o.tooltip(i, values[i]);
      rect.appendChild(t);
      svg.appendChild(rect);
      if (i % Math.ceil(22 / bw) === 0) {
        var lab = svgEl('text', {x: left + i * bw + bw / 2, y: h - 6, 'font-size': 10, 'text-anchor': 'middle', fill: '#444'});
        lab.textContent = String(i);
        svg.appendChild(lab);
      }
    }
    if (o.ref) {
      var y = top + ph - ph * o.ref / max;
      svg.appendChild(svgEl('line', {x1: left, y1: y, x2: w - 4, y2: y, stroke: '#c00', 'stroke-dasharray': '5,4'}));
      var rl = svgEl('text', {x: w - 6, y: y - 3 < top + 8 ? y + 11 : y - 3, 'font-size': 10, 'text-anchor': 'end', fill: '#c00'});
      rl.textContent = o.refLabel;
      svg.appendChild(rl);
    }
    [0, 0.5, 1].forEach(function (f) {
      var tl = svgEl('text', {x: left - 4, y: top + ph - ph * f + 3, 'font-size': 10, 'text-anchor': 'end', fill: '#444'});
      tl.textContent = o.axis(max * f);
      svg.appendChild(tl);
    });
  }

  // A line over checkpoints; NaN leaves a gap. The current checkpoint is marked.
  function line(svg, ys, o) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var w = o.width || 420, h = 150, left = 50, bottom = 20, top = 10, n = ys.length;
    svg.setAttribute('width', w);
    svg.setAttribute('height', h);
    var lo = Infinity, hi = -Infinity;
    ys.forEach(function (v) { if (isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); } });
    if (!isFinite(lo)) { lo = 0; hi = 1; }
    if (hi === lo) { hi = lo + 1; lo = lo - 1; }
    var pw = w - left - 8, ph = h - top - bottom;
    function X(i) { return left + (n === 1 ? pw / 2 : pw * i / (n - 1)); }
    function Y(v) { return top + ph - ph * (v - lo) / (hi - lo); }
    svg.appendChild(svgEl('rect', {x: left, y: top, width: pw, height: ph, fill: 'none', stroke: '#ddd'}));
    var d = '', pen = false;
    for (var i = 0; i < n; i++) {
      if (!isFinite(ys[i])) { pen = false; continue; }
      d += (pen ? 'L' : 'M') + X(i).toFixed(1) + ',' + Y(ys[i]).toFixed(1);
      pen = true;
    }
    if (d) svg.appendChild(svgEl('path', {d: d, fill: 'none', stroke: '#0072B2', 'stroke-width': 2}));
    for (var j = 0; j < n; j++) if (isFinite(ys[j])) {
      var dot = svgEl('circle', {cx: X(j), cy: Y(ys[j]), r: j === o.mark ? 4.5 : 2.5, fill: j === o.mark ? '#d55e00' : '#0072B2'});
      var t = svgEl('title', {});
      t.textContent = ckName(j) + ': ' + fmt(ys[j], 2);
      dot.appendChild(t);
      svg.appendChild(dot);
    }
    [lo, hi].forEach(function (v) {
      var tl = svgEl('text', {x: left - 4, y: Y(v) + 3, 'font-size': 10, 'text-anchor': 'end', fill: '#444'});
      tl.textContent = fmt(v, 1);
      svg.appendChild(tl);
    });
    var xl = svgEl('text', {x: left + pw / 2, y: h - 4, 'font-size': 10, 'text-anchor': 'middle', fill: '#444'});
    xl.textContent = o.xLabel;
    svg.appendChild(xl);
  }

  // ---- per-sample records (lazy) ---------------------------------------------------------------------------------
  var cache = new Map();
  function record(m) {
    if (cache.has(m)) return cache.get(m);
    var u = bytes(BLOB.substring(D.detail.start[m], D.detail.start[m + 1]));
    var dv = new DataView(u.buffer), p = 0;
    function u32() { var v = dv.getUint32(p, true); p += 4; return v; }
    function id() { var v = W === 1 ? u[p] : dv.getUint16(p, true); p += W; return v; }
    var r = {index: u32(), n: 0, ids: [], at: []};
    r.n = u32();
    for (var i = 0; i < r.n; i++) r.ids.push(dv.getInt32(p + 4 * i, true));
    p += 4 * r.n;
    var cells = r.n * L * K;
    for (var c = 0; c < C; c++) {
      var loss = dv.getFloat32(p, true); p += 4;
      var top = new Array(cells);
      for (var j = 0; j < cells; j++) top[j] = id();
      var wts = u.slice(p, p + cells); p += cells;
      var path = [];
      for (var l = 0; l < L; l++) {
        var kept = id() + 1, ids = [];
        for (var q = 0; q < kept; q++) ids.push(id());
        path.push(ids);
      }
      r.at.push({loss: loss, top: top, wts: wts, path: path});
    }
    if (cache.size > 256) cache.delete(cache.keys().next().value);
    cache.set(m, r);
    return r;
  }
  // A pathway drawn: one run of expert chips per layer, layers separated by a bar; the text form is its tooltip.
  function pathChips(path, id) {
    var box = el('div', {cls: 'pathchips', title: pathText(path)});
    if (id) box.id = id;
    path.forEach(function (layer, l) {
      var g = el('span', {cls: 'layerrun', title: layerName(l) + ': ' + layer.join(',')});
      layer.forEach(function (e) { g.appendChild(chip(e)); });
      box.appendChild(g);
    });
    return box;
  }
  function pathText(path) { return path.map(function (l) { return l.join(','); }).join('-'); }
  function pathSymbols(path) {
    var s = [];
    path.forEach(function (l, i) { if (i) s.push(0); l.forEach(function (e) { s.push(e + 1); }); });
    return s;
  }
  // Levenshtein with unit costs, as GroupDistances.distance (docs/metrics.md): on characters or on expert symbols.
  function levenshtein(a, b) {
    var n = a.length, m = b.length;
    if (!n) return m;
    if (!m) return n;
    var prev = new Int32Array(m + 1), cur = new Int32Array(m + 1);
    for (var j = 0; j <= m; j++) prev[j] = j;
    for (var i = 1; i <= n; i++) {
      cur[0] = i;
      var ai = a[i - 1];
      for (var j2 = 1; j2 <= m; j2++) {
        var sub = prev[j2 - 1] + (ai === b[j2 - 1] ? 0 : 1);
        var del = prev[j2] + 1, ins = cur[j2 - 1] + 1;
        cur[j2] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
      }
      var t = prev; prev = cur; cur = t;
    }
    return prev[m];
  }
  function tokenText(id) {
    if (D.vocab && D.vocab[id] != null) return D.vocab[id];
    return '#' + id;
  }
  function sampleLabel(m) {
    var id = D.detail.id[m];
    return '#' + D.detail.index[m] + (id != null ? ' ' + id : '') + (D.detail.domain[m] != null ? ' [' + D.detail.domain[m] + ']' : '')
        + ' · ' + D.detail.length[m] + ' tok';
  }

  // ---- header and controls --------------------------------------------------------------------------------------
  function header() {
    var mdl = D.model;
    $('summary').textContent = (mdl.model_type ? mdl.model_type + ' · ' : '') + L + ' MoE layers × ' + E + ' experts, top-' + K
        + ' (' + mdl.router_kind + ') · ' + D.samples.toLocaleString('en') + ' samples, ' + D.tokens.toLocaleString('en')
        + ' tokens · ' + C + ' checkpoint' + (C > 1 ? 's' : '') + ' · pathways at τ = ' + mdl.tau
        + (mdl.tokenizer ? ' · tokens decoded with ' + mdl.tokenizer : ' · no tokenizer: tokens shown as ids');
    $('detail-note').textContent = M === D.samples
        ? 'Per-sample views cover every sample.'
        : 'Aggregates cover all ' + D.samples.toLocaleString('en') + ' samples; per-sample views cover ' + M.toLocaleString('en')
          + ' of them, evenly spaced through the file (raise --detail-mb for more).';
    var ck = $('ckpt');
    ck.max = String(C - 1);
    ck.value = String(state.c);
    if (C === 1) $('ckpt-control').style.display = 'none';
    ck.oninput = function () { state.c = +ck.value; renderAll(); };
    var ls = $('layer');
    for (var l = 0; l < L; l++) ls.appendChild(el('option', {value: l, text: layerName(l)}));
    ls.onchange = function () { state.layer = +ls.value; renderAll(); };
    var gs = $('group');
    D.groups.forEach(function (g, i) { gs.appendChild(el('option', {value: i, text: g.name + ' (' + g.size.toLocaleString('en') + ')'})); });
    gs.onchange = function () { state.g = +gs.value; renderGroups(); saveHash(); };
    if (C === 1) $('training').style.display = 'none';
    $('group-note').textContent = D.memorisation + (D.groups_omitted ? '; ' + D.groups_omitted
        + ' smaller groups are not shown (size cap)' : '') + '.';
    picker($('sample-search'), $('sample-list'), function () { return state.s; }, function (m) { state.s = m; state.page = 0; renderSample(); renderCompare(); saveHash(); });
    picker($('other-search'), $('other-list'), function () { return state.b; }, function (m) { state.b = m; renderCompare(); saveHash(); });
  }

  // A search box over the detailed samples (index, id, domain) and the first 200 matches.
  function picker(input, list, current, choose) {
    function fill() {
      while (list.firstChild) list.removeChild(list.firstChild);
      var q = input.value.trim().toLowerCase(), shown = 0;
      for (var m = 0; m < M && shown < 200; m++) {
        var label = sampleLabel(m);
        if (q && label.toLowerCase().indexOf(q) < 0) continue;
        // the chosen sample is listed where it is, even beyond the first 200
        if (!q && shown === 199 && current() > m) { m = current(); label = sampleLabel(m); }
        var li = el('li', {text: label, 'data-m': m});
        if (m === current()) li.className = 'sel';
        li.onclick = (function (mm) { return function () { choose(mm); fill(); }; })(m);
        list.appendChild(li);
        shown++;
      }
      if (!shown) list.appendChild(el('li', {text: M ? 'no sample matches' : 'no per-sample detail in this page'}));
      var sel = list.querySelector('li.sel');
      if (sel) list.scrollTop = sel.offsetTop - list.offsetTop - 40;
    }
    input.oninput = fill;
    fill();
  }

  // ---- views ------------------------------------------------------------------------------------------------------
  function renderExperts() {
    var c = state.c, tokens = CK_TOKENS[c];
    $('experts-title').textContent = 'Experts per layer at ' + ckName(c);
    heatmap($('load-map'), {rows: L, cols: E, width: 500,
      value: function (l, e) { return LOAD[(c * L + l) * E + e] / tokens; },
      rowLabel: layerName, colLabel: String, highlightRow: state.layer, scale: pct, autoMin: true,
      tooltip: function (l, e, v) {
        return layerName(l) + ', expert ' + e + ': ' + LOAD[(c * L + l) * E + e].toLocaleString('en') + ' tokens (' + pct(v)
            + ' of tokens; uniform ' + pct(K / E) + ')';
      },
      onClick: function (l) { state.layer = l; $('layer').value = String(l); renderAll(); }});
    heatmap($('prob-map'), {rows: L, cols: E, width: 500,
      value: function (l, e) { return PROB[(c * L + l) * E + e]; },
      rowLabel: layerName, colLabel: String, highlightRow: state.layer, autoMin: true,
      tooltip: function (l, e, v) { return layerName(l) + ', expert ' + e + ': mean router probability ' + fmt(v, 4) + ' (uniform ' + fmt(1 / E, 4) + ')'; },
      onClick: function (l) { state.layer = l; $('layer').value = String(l); renderAll(); }});
    var vals = [];
    for (var e = 0; e < E; e++) vals.push(LOAD[(c * L + state.layer) * E + e]);
    $('bars-title').textContent = 'Tokens per expert at ' + layerName(state.layer);
    bars($('load-bars'), vals, {width: 1140, ref: tokens * K / E, refLabel: 'balanced: ' + fmt(tokens * K / E, 0),
      axis: function (v) { return v >= 1e4 ? (v / 1000).toFixed(0) + 'k' : v.toFixed(0); },
      tooltip: function (i, v) { return 'expert ' + i + ': ' + v.toLocaleString('en') + ' tokens (' + pct(v / tokens) + ')'; }});
  }

  function renderCoactivation() {
    var list = D.stats.coact_checkpoints, j = list.indexOf(state.c), c = state.c;
    if (j < 0) { // the nearest checkpoint whose co-activation is embedded
      j = 0;
      for (var i = 1; i < list.length; i++) if (Math.abs(list[i] - c) < Math.abs(list[j] - c)) j = i;
    }
    var ck = list[j], l = state.layer, base = (j * L + l) * E * E;
    $('coact-title').textContent = 'Expert co-activation at ' + layerName(l) + ', ' + ckName(ck);
    $('coact-note').textContent = ck !== c ? 'Co-activation is embedded for ' + list.length + ' of ' + C
        + ' checkpoints (size cap); shown: the nearest one.' : '';
    var max = 0;
    for (var a = 0; a < E; a++) for (var b = 0; b < E; b++) if (a !== b && COACT[base + a * E + b] > max) max = COACT[base + a * E + b];
    heatmap($('coact-map'), {rows: E, cols: E, width: 500, left: 34, max: max, scale: pct,
      value: function (a, b) { return a === b ? NaN : COACT[base + a * E + b]; },
      rowLabel: String, colLabel: String,
      tooltip: function (a, b, v) {
        if (a === b) return 'expert ' + a + ' is chosen for ' + pct(COACT[base + a * E + a]) + ' of tokens';
        var pa = COACT[base + a * E + a], pb = COACT[base + b * E + b];
        return 'experts ' + a + ' and ' + b + ' chosen together for ' + pct(v) + ' of tokens; '
            + (pa * pb > 0 ? fmt(v / (pa * pb), 2) + '× what independent choices would give' : '');
      }});
  }

  function renderTraining() {
    if (C === 1) return;
    var l = state.layer;
    $('training-title').textContent = 'Expert load over training at ' + layerName(l);
    heatmap($('train-map'), {rows: C, cols: E, width: 760, left: 120, cellHeight: Math.max(6, Math.min(18, Math.floor(360 / C))),
      value: function (c, e) { return LOAD[(c * L + l) * E + e] / CK_TOKENS[c]; },
      rowLabel: function (c) { return D.checkpoints[c].step >= 0 ? 'step ' + D.checkpoints[c].step : D.checkpoints[c].name; },
      colLabel: String, highlightRow: state.c, scale: pct, autoMin: true,
      tooltip: function (c, e, v) { return ckName(c) + ', expert ' + e + ': ' + pct(v) + ' of tokens'; },
      onClick: function (c) { state.c = c; $('ckpt').value = String(c); renderAll(); }});
    line($('train-loss'), D.checkpoints.map(function (k) { return k.mean_loss == null ? NaN : k.mean_loss; }),
        {mark: state.c, xLabel: 'checkpoint → (mean loss per sample)'});
  }

  function renderSample() {
    var view = $('sample-view');
    while (view.firstChild) view.removeChild(view.firstChild);
    if (!M) { view.appendChild(el('p', {cls: 'note', text: 'No per-sample detail was embedded.'})); return; }
    var m = state.s, r = record(m), at = r.at[state.c];
    var groups = D.detail.groups[m].map(function (g) { return D.groups[g].name; }).join(', ');
    view.appendChild(el('p', {cls: 'big', text: sampleLabel(m)}));
    view.appendChild(el('p', {text: 'Groups: ' + groups + ' · loss at ' + ckName(state.c) + ': ' + fmt(at.loss, 4)}));
    if (D.vocab) view.appendChild(el('div', {cls: 'text', text: r.ids.map(tokenText).join('')}));
    // Tokens across, layers down: each cell holds the token's top-k experts in the router's order, shaded by weight.
    var per = 48, pages = Math.ceil(r.n / per);
    state.page = Math.min(state.page, pages - 1);
    var from = state.page * per, to = Math.min(r.n, from + per);
    view.appendChild(el('h3', {text: 'Where its tokens go, layer by layer (' + ckName(state.c) + ')'}));
    if (pages > 1) {
      var nav = el('p', {}, ['tokens ' + from + '–' + (to - 1) + ' of ' + r.n + ' ']);
      var prev = el('button', {text: '◀ previous'}), next = el('button', {text: 'next ▶'});
      prev.disabled = state.page === 0;
      next.disabled = state.page === pages - 1;
      prev.onclick = function () { state.page--; renderSample(); };
      next.onclick = function () { state.page++; renderSample(); };
      nav.appendChild(prev);
      nav.appendChild(next);
      view.appendChild(nav);
    }
    var table = el('table', {cls: 'tokens', id: 'token-table'});
    var head = el('tr', {}, [el('th', {cls: 'layer', text: 'token →'})]);
    for (var t = from; t < to; t++) {
      head.appendChild(el('th', {cls: 'tok', text: D.vocab ? tokenText(r.ids[t]) : String(r.ids[t]),
        title: 'position ' + t + ', id ' + r.ids[t]}));
    }
    table.appendChild(head);
    for (var l = 0; l < L; l++) {
      var tr = el('tr', {}, [el('td', {cls: 'layer', text: layerName(l)})]);
      for (var t2 = from; t2 < to; t2++) {
        var td = el('td', {});
        for (var q = 0; q < K; q++) {
          var i = (t2 * L + l) * K + q, e = at.top[i], wgt = at.wts[i] / 255;
          var ch = chip(e);
          ch.style.opacity = (0.45 + 0.55 * Math.min(1, wgt * K / 1.5)).toFixed(2);
          ch.title = 'expert ' + e + ', weight ' + wgt.toFixed(2);
          td.appendChild(ch);
          td.appendChild(document.createElement('br'));
        }
        tr.appendChild(td);
      }
      table.appendChild(tr);
    }
    view.appendChild(table);
    view.appendChild(el('h3', {text: 'Its pathway at ' + ckName(state.c) + ' (experts whose token-averaged probability adds up past τ)'}));
    view.appendChild(pathChips(at.path, 'sample-chips'));
    view.appendChild(el('div', {cls: 'path', id: 'sample-path', text: pathText(at.path)}));
    if (C > 1) {
      view.appendChild(el('h3', {text: 'Its pathway at each checkpoint'}));
      var tb = el('table', {cls: 'plain', id: 'sample-series'});
      tb.appendChild(el('tr', {}, [el('th', {text: 'checkpoint'}), el('th', {text: 'loss'}),
        el('th', {text: 'distance to previous (characters)'}), el('th', {text: 'pathway (hover for its text)'})]));
      var prevText = null;
      for (var c = 0; c < C; c++) {
        var txt = pathText(r.at[c].path);
        var row = el('tr', {cls: 'click' + (c === state.c ? ' cur' : '')}, [el('td', {text: ckName(c)}), el('td', {text: fmt(r.at[c].loss, 4)}),
          el('td', {text: prevText == null ? '' : String(levenshtein(prevText, txt))}), el('td', {}, [pathChips(r.at[c].path)])]);
        row.onclick = (function (cc) { return function () { state.c = cc; $('ckpt').value = String(cc); renderAll(); }; })(c);
        tb.appendChild(row);
        prevText = txt;
      }
      view.appendChild(tb);
    }
  }

  function pathColumn(r, other, title) {
    var box = el('div', {});
    box.appendChild(el('p', {cls: 'big', text: title}));
    var tb = el('table', {cls: 'plain'});
    for (var l = 0; l < L; l++) {
      var td = el('td', {});
      var mine = r.at[state.c].path[l], theirs = other.at[state.c].path[l];
      mine.forEach(function (e) { td.appendChild(chip(e, theirs.indexOf(e) >= 0 ? ' shared' : '')); });
      tb.appendChild(el('tr', {}, [el('td', {text: layerName(l)}), td]));
    }
    box.appendChild(tb);
    return box;
  }

  function renderCompare() {
    var view = $('compare-view');
    while (view.firstChild) view.removeChild(view.firstChild);
    if (M < 2) { view.appendChild(el('p', {cls: 'note', text: 'Needs two samples with detail.'})); return; }
    var a = record(state.s), b = record(state.b), pa = a.at[state.c].path, pb = b.at[state.c].path;
    var ta = pathText(pa), tbx = pathText(pb), sa = pathSymbols(pa), sb = pathSymbols(pb);
    var dc = levenshtein(ta, tbx), de = levenshtein(sa, sb);
    var shared = 0, union = 0;
    for (var l = 0; l < L; l++) {
      var set = {};
      pa[l].forEach(function (e) { set[e] = 1; });
      pb[l].forEach(function (e) { if (set[e]) shared++; else set[e] = 1; });
      union += Object.keys(set).length;
    }
    view.appendChild(el('p', {id: 'pair-distance', cls: 'big', 'data-char': dc, 'data-expert': de,
      text: 'Pathway distance at ' + ckName(state.c) + ': ' + dc + ' characters (' + fmt(dc / Math.max(ta.length, tbx.length, 1), 3)
        + ' of the longer), ' + de + ' expert-level edits; ' + shared + ' of ' + union + ' kept experts shared (outlined).'}));
    view.appendChild(el('div', {cls: 'cols'}, [pathColumn(a, b, 'A: ' + sampleLabel(state.s)), pathColumn(b, a, 'B: ' + sampleLabel(state.b))]));
  }

  function renderGroups() {
    var g = state.g, c = state.c, grp = D.groups[g], base = (g * C + c) * L * E;
    $('group-title').textContent = 'Pathways of group "' + grp.name + '" (' + grp.size.toLocaleString('en') + ' samples) at ' + ckName(c);
    heatmap($('group-map'), {rows: L, cols: E, width: 500, max: 1, scale: pct,
      value: function (l, e) { return GPATH[base + l * E + e]; },
      rowLabel: layerName, colLabel: String,
      tooltip: function (l, e, v) { return layerName(l) + ', expert ' + e + ': in the pathway of ' + pct(v) + ' of the group'; }});
    var d = grp.distance.map(function (v) { return v == null ? NaN : v; });
    $('group-distance-note').textContent = 'Mean pathway distance within the group (characters; exact up to 2,000 pairs, '
        + 'a seeded sample above): ' + fmt(d[c], 1) + ' at this checkpoint.';
    if (C > 1) line($('group-distance'), d, {mark: c, xLabel: 'checkpoint → (mean distance within the group)'});
    else $('group-distance').style.display = 'none';
  }

  function renderAll() {
    $('ckpt-label').textContent = ckName(state.c);
    renderExperts();
    renderCoactivation();
    renderTraining();
    renderSample();
    renderCompare();
    renderGroups();
    saveHash();
  }

  // State in the URL (#c=…&l=…&s=…&b=…&g=…), so a view can be linked or reloaded; s and b are sample indices.
  function saveHash() {
    var h = '#c=' + state.c + '&l=' + state.layer + '&g=' + state.g
        + (M ? '&s=' + D.detail.index[state.s] + '&b=' + D.detail.index[state.b] : '');
    if (location.hash !== h) history.replaceState(null, '', h);
  }
  var scrollTo = null;
  function loadHash() {
    var h = location.hash.replace(/^#/, '');
    h.split('&').forEach(function (kv) {
      var p = kv.split('='), v = parseInt(p[1], 10);
      if (p[0] === 'v' && /^[a-z]+$/.test(p[1] || '') && document.getElementById(p[1])) scrollTo = p[1];
      if (!isFinite(v)) return;
      if (p[0] === 'c' && v >= 0 && v < C) state.c = v;
      if (p[0] === 'l' && v >= 0 && v < L) state.layer = v;
      if (p[0] === 'g' && v >= 0 && v < G) state.g = v;
      if ((p[0] === 's' || p[0] === 'b') && M) {
        var m = D.detail.index.indexOf(v);
        if (m >= 0) state[p[0]] = m;
      }
    });
  }

  loadHash();
  header();
  $('layer').value = String(state.layer);
  $('group').value = String(state.g);
  $('ckpt').value = String(state.c);
  renderAll();
  // #…&v=SECTION shows that section alone (a link to one view; screenshots), with a way back to all of them.
  if (scrollTo) {
    Array.prototype.forEach.call(document.querySelectorAll('main > section'), function (s) {
      if (s.id !== scrollTo) s.style.display = 'none';
    });
    var back = el('a', {href: '#', text: 'show all views'});
    back.onclick = function (ev) {
      ev.preventDefault();
      Array.prototype.forEach.call(document.querySelectorAll('main > section'), function (s) { s.style.display = ''; });
      if (C === 1) $('training').style.display = 'none';
      back.remove();
    };
    document.querySelector('nav').appendChild(back);
  }
  document.documentElement.setAttribute('data-render-ms', String(Math.round(performance.now() - t0)));
  document.documentElement.setAttribute('data-ready', '1');
})();
