// dronefront replay viewer: plain JavaScript, no libraries, no network.
// Data: one zlib blob (base64) of little-endian arrays described by meta.arrays.
(() => {
  'use strict';

  const meta = JSON.parse(document.getElementById('meta').textContent);
  const $ = (id) => document.getElementById(id);
  const TYPED = {
    int8: Int8Array, uint8: Uint8Array, int16: Int16Array, int32: Int32Array,
    float32: Float32Array, float64: Float64Array,
  };
  const LAYERS = [
    ['terrain', 'Terrain', true], ['objectives', 'Objectives', true],
    ['jammers', 'Jammer zones', true], ['soldiers', 'Soldiers', true],
    ['killed', 'Killed soldiers', true], ['drones', 'Drones', true],
    ['tracks', 'Drone tracks', true], ['blasts', 'Strikes, bombs, shells', true],
    ['losses', 'Drone losses', true],
    ['marks', 'Interceptors, RF, autonomy, evacuation', true],
  ];
  // Which layer checkbox shows a flash of each shape (meta.blast_kinds[k].shape).
  const SHAPE_LAYER = { disc: 'blasts', cross: 'losses' };

  // ------------------------------------------------------------------ decoding
  async function inflate(b64) {
    const bin = atob(b64.trim());
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
    return new Response(stream).arrayBuffer();
  }

  function decodeDelta(buf, spec, cols) {
    // Byte planes (low then high) of per-frame int16 differences -> absolute int16.
    const n = spec.length;
    const bytes = new Uint8Array(buf, spec.offset, 2 * n);
    const out = new Int16Array(n);
    for (let i = 0; i < n; i++) {
      const d = ((bytes[i] | (bytes[n + i] << 8)) << 16) >> 16;
      out[i] = i < cols ? d : out[i - cols] + d;
    }
    return out;
  }

  function unpack(buf) {
    const a = {};
    for (const [name, spec] of Object.entries(meta.arrays)) {
      if (spec.dtype === 'delta16') continue;
      a[name] = new TYPED[spec.dtype](buf, spec.offset, spec.length);
    }
    a.sx = decodeDelta(buf, meta.arrays.sx, meta.soldiers);
    a.sy = decodeDelta(buf, meta.arrays.sy, meta.soldiers);
    a.dx = decodeDelta(buf, meta.arrays.dx, meta.drones);
    a.dy = decodeDelta(buf, meta.arrays.dy, meta.drones);
    return a;
  }

  // ------------------------------------------------------------------ state
  const S = {
    t: 0, playing: false, speed: 30, k: 1, cx: 0, cy: 0, w: 1, h: 1, dpr: 1,
    layers: {}, dirty: true, mouse: null, drag: null, sliding: false,
  };
  let A = null; // arrays
  let frameTime = null; // Float64Array of frame times (s)
  let terrainCanvas = null;
  const N = meta.soldiers;
  const M = meta.drones;
  const dt = meta.dt;
  const duration = meta.duration;
  const px = new Float32Array(N);
  const py = new Float32Array(N);
  const dpx = new Float32Array(M);
  const dpy = new Float32Array(M);
  const dvis = new Uint8Array(M);
  const status = new Int8Array(N);
  const posture = new Int8Array(N);
  const applied = { status: -1, statusPtr: 0, posture: -1, posturePtr: 0 };

  const canvas = $('canvas');
  const ctx = canvas.getContext('2d');

  function fmtTime(t) {
    const s = Math.max(0, Math.round(t));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = s % 60;
    return `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
  }

  function frameAt(t) {
    // Largest frame whose time is <= t.
    let lo = 0;
    let hi = frameTime.length - 1;
    if (t >= frameTime[hi]) return hi;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (frameTime[mid] <= t) lo = mid; else hi = mid - 1;
    }
    return lo;
  }

  function applyChanges(kind, frame, target, base, fArr, cArr, vArr) {
    const ptrKey = kind + 'Ptr';
    if (frame < applied[kind]) {
      if (base) target.set(base); else target.fill(0);
      applied[ptrKey] = 0;
    }
    let p = applied[ptrKey];
    while (p < fArr.length && fArr[p] <= frame) {
      target[cArr[p]] = vArr[p];
      p++;
    }
    applied[ptrKey] = p;
    applied[kind] = frame;
  }

  // ------------------------------------------------------------------ view
  const wx = (x) => (x - S.cx) * S.k + S.w / 2;
  const wy = (y) => S.h / 2 - (y - S.cy) * S.k;
  const ox = meta.origin[0];
  const oy = meta.origin[1];
  const q = meta.scale;

  function fit(x0, y0, x1, y1) {
    const pad = 1.06;
    S.cx = (x0 + x1) / 2;
    S.cy = (y0 + y1) / 2;
    S.k = Math.min(S.w / Math.max(1, (x1 - x0) * pad), S.h / Math.max(1, (y1 - y0) * pad));
    S.dirty = true;
  }

  function fitMap() { fit(...meta.view); }

  function fitSoldiers() {
    let x0 = Infinity; let y0 = Infinity; let x1 = -Infinity; let y1 = -Infinity;
    const f = frameAt(S.t);
    applyChanges('status', f, status, null, A.st_frame, A.st_soldier, A.st_value);
    for (let i = 0; i < N; i++) {
      if (status[i] === 2) continue;
      const x = ox + A.sx[f * N + i] * q;
      const y = oy + A.sy[f * N + i] * q;
      if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
    }
    if (!Number.isFinite(x0)) { fitMap(); return; }
    const m = 40;
    fit(x0 - m, y0 - m, x1 + m, y1 + m);
  }

  function resize() {
    const r = canvas.getBoundingClientRect();
    S.dpr = window.devicePixelRatio || 1;
    const first = S.w <= 1;
    S.w = Math.max(1, r.width);
    S.h = Math.max(1, r.height);
    canvas.width = Math.round(S.w * S.dpr);
    canvas.height = Math.round(S.h * S.dpr);
    if (first) fitMap();
    S.dirty = true;
  }

  // ------------------------------------------------------------------ terrain
  function buildTerrain() {
    const t = meta.terrain;
    const c = document.createElement('canvas');
    c.width = t.nx;
    c.height = t.ny;
    const cctx = c.getContext('2d');
    const img = cctx.createImageData(t.nx, t.ny);
    const rgb = t.colors.map((h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)));
    for (let r = 0; r < t.ny; r++) {
      const src = (t.ny - 1 - r) * t.nx; // grid row 0 is at y0 (bottom)
      for (let col = 0; col < t.nx; col++) {
        const cls = A.terrain[src + col];
        const o = 4 * (r * t.nx + col);
        const v = rgb[cls] || [200, 200, 200];
        img.data[o] = v[0]; img.data[o + 1] = v[1]; img.data[o + 2] = v[2]; img.data[o + 3] = 255;
      }
    }
    cctx.putImageData(img, 0, 0);
    terrainCanvas = c;
  }

  // ------------------------------------------------------------------ drawing
  function positions(f, a) {
    const g = Math.min(f + 1, meta.frames - 1);
    const b = 1 - a;
    const base = f * N;
    const next = g * N;
    for (let i = 0; i < N; i++) {
      const x = ox + (A.sx[base + i] * b + A.sx[next + i] * a) * q;
      const y = oy + (A.sy[base + i] * b + A.sy[next + i] * a) * q;
      px[i] = wx(x);
      py[i] = wy(y);
    }
    for (let j = 0; j < M; j++) {
      const s0 = A.d_sortie[f * M + j];
      dvis[j] = s0 >= 0 ? 1 : 0;
      if (!dvis[j]) continue;
      const s1 = A.d_sortie[g * M + j];
      const aa = s1 === s0 ? a : 0;
      const x = ox + (A.dx[f * M + j] * (1 - aa) + A.dx[g * M + j] * aa) * q;
      const y = oy + (A.dy[f * M + j] * (1 - aa) + A.dy[g * M + j] * aa) * q;
      dpx[j] = wx(x);
      dpy[j] = wy(y);
    }
  }

  function drawShapes() {
    if (S.layers.objectives) {
      ctx.lineWidth = 2;
      ctx.setLineDash([6, 4]);
      ctx.strokeStyle = '#b07800';
      ctx.fillStyle = 'rgba(255, 190, 40, 0.12)';
      ctx.font = '12px system-ui, sans-serif';
      for (const o of meta.objectives) {
        ctx.beginPath();
        o.points.forEach(([x, y], i) => (i ? ctx.lineTo(wx(x), wy(y)) : ctx.moveTo(wx(x), wy(y))));
        ctx.closePath();
        ctx.fill();
        ctx.stroke();
        const [lx, ly] = o.points[o.points.length - 1];
        ctx.fillStyle = '#7a5300';
        ctx.fillText('objective: ' + o.name, Math.max(4, wx(lx)) + 4, Math.max(14, wy(ly) + 14));
        ctx.fillStyle = 'rgba(255, 190, 40, 0.12)';
      }
      ctx.setLineDash([]);
    }
    if (S.layers.jammers) {
      for (const j of meta.jammers) {
        const col = meta.side_colors[j.side][0];
        ctx.beginPath();
        ctx.arc(wx(j.x), wy(j.y), Math.max(2, j.radius * S.k), 0, 2 * Math.PI);
        ctx.globalAlpha = j.active ? 0.07 : 0.03;
        ctx.fillStyle = col;
        ctx.fill();
        ctx.globalAlpha = j.active ? 0.8 : 0.3;
        ctx.setLineDash([3, 3]);
        ctx.lineWidth = 1.5;
        ctx.strokeStyle = col;
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.globalAlpha = 1;
        ctx.fillStyle = col;
        ctx.font = '11px system-ui, sans-serif';
        ctx.fillText('jammer ' + j.name, wx(j.x) + 4, wy(j.y) - 4);
      }
    }
  }

  function drawSoldiers() {
    const r = Math.min(6, Math.max(1.6, 0.45 * S.k));
    const big = r >= 2;
    // Killed first, then wounded, then healthy on top.
    for (const st of [2, 1, 0]) {
      if (st === 2 && !S.layers.killed) continue;
      for (let side = 0; side < 2; side++) {
        ctx.fillStyle = meta.side_colors[side][st];
        ctx.beginPath();
        const rr = st === 2 ? r * 0.8 : r;
        for (let i = 0; i < N; i++) {
          if (status[i] !== st || A.s_side[i] !== side) continue;
          const x = px[i];
          const y = py[i];
          if (x < -8 || y < -8 || x > S.w + 8 || y > S.h + 8) continue;
          if (big) { ctx.moveTo(x + rr, y); ctx.arc(x, y, rr, 0, 2 * Math.PI); } else {
            ctx.rect(x - rr, y - rr, 2 * rr, 2 * rr);
          }
        }
        ctx.fill();
      }
    }
  }

  function drawDrones(f) {
    const types = meta.drone_types;
    if (S.layers.tracks) {
      const back = Math.max(1, Math.ceil(meta.track_seconds / (dt * meta.every)));
      ctx.lineWidth = 1.5;
      for (let j = 0; j < M; j++) {
        if (!dvis[j]) continue;
        const sortie = A.d_sortie[f * M + j];
        ctx.strokeStyle = types[A.d_type[j]].color;
        ctx.globalAlpha = 0.75;
        ctx.beginPath();
        ctx.moveTo(dpx[j], dpy[j]);
        for (let g = f; g >= Math.max(0, f - back); g--) {
          if (A.d_sortie[g * M + j] !== sortie) break;
          ctx.lineTo(wx(ox + A.dx[g * M + j] * q), wy(oy + A.dy[g * M + j] * q));
        }
        ctx.stroke();
      }
      ctx.globalAlpha = 1;
    }
    ctx.lineWidth = 1.5;
    for (let j = 0; j < M; j++) {
      if (!dvis[j]) continue;
      const x = dpx[j];
      const y = dpy[j];
      const s = 5;
      ctx.beginPath();
      ctx.moveTo(x, y - s); ctx.lineTo(x + s, y); ctx.lineTo(x, y + s); ctx.lineTo(x - s, y);
      ctx.closePath();
      ctx.fillStyle = types[A.d_type[j]].color;
      ctx.fill();
      ctx.strokeStyle = meta.side_colors[A.d_side[j]][0];
      ctx.stroke();
    }
  }

  function flashWindow() { return Math.max(2 * dt * meta.every, S.speed * 0.6); }

  function lowerBound(arr, v) {
    let lo = 0;
    let hi = arr.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (arr[mid] < v) lo = mid + 1; else hi = mid; }
    return lo;
  }

  function drawBlasts(under) {
    // Two passes: translucent discs under the soldiers, rings and crosses on top.
    const win = flashWindow();
    // An event of step s shows from the end of that step, (s + 1) * dt, with its effects.
    const first = lowerBound(A.b_step, Math.floor((S.t - win) / dt) - 1);
    for (let i = first; i < A.b_step.length; i++) {
      const tb = (A.b_step[i] + 1) * dt;
      if (tb > S.t) break;
      const age = (S.t - tb) / win;
      if (age < 0 || age >= 1) continue;
      const kind = A.b_kind[i];
      const info = meta.blast_kinds[kind];
      const shape = info.shape;
      if (!S.layers[SHAPE_LAYER[shape] || 'marks']) continue;
      const x = wx(A.b_x[i]);
      const y = wy(A.b_y[i]);
      if (shape === 'ring' || shape === 'triangle' || shape === 'square') {
        if (under) continue;
        const s = 6;
        ctx.globalAlpha = 1 - 0.7 * age;
        ctx.strokeStyle = info.color;
        ctx.lineWidth = 2;
        ctx.beginPath();
        if (shape === 'ring') {
          ctx.arc(x, y, s, 0, 2 * Math.PI);
        } else if (shape === 'triangle') {
          ctx.moveTo(x, y - s); ctx.lineTo(x + s, y + s * 0.8); ctx.lineTo(x - s, y + s * 0.8);
          ctx.closePath();
        } else {
          ctx.rect(x - s, y - s, 2 * s, 2 * s);
        }
        ctx.stroke();
        continue;
      }
      if (shape === 'cross') {
        if (under) continue;
        const s = 5;
        ctx.globalAlpha = 1 - 0.7 * age;
        ctx.strokeStyle = info.color;
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.moveTo(x - s, y - s); ctx.lineTo(x + s, y + s);
        ctx.moveTo(x + s, y - s); ctx.lineTo(x - s, y + s);
        ctx.stroke();
        continue;
      }
      const r = Math.max(4, A.b_radius[i] * S.k);
      if (under) {
        ctx.globalAlpha = 0.35 * (1 - age);
        ctx.fillStyle = info.color;
        ctx.beginPath();
        ctx.arc(x, y, r, 0, 2 * Math.PI);
        ctx.fill();
        continue;
      }
      ctx.globalAlpha = 1 - age;
      ctx.beginPath();
      ctx.arc(x, y, r, 0, 2 * Math.PI);
      ctx.strokeStyle = info.color;
      ctx.lineWidth = 2;
      ctx.stroke();
      ctx.fillStyle = '#fff2a0';
      ctx.beginPath();
      ctx.arc(x, y, Math.min(4, Math.max(1.5, r * 0.1)), 0, 2 * Math.PI);
      ctx.fill();
    }
    ctx.globalAlpha = 1;
  }

  function draw() {
    const f = frameAt(S.t);
    const span = f + 1 < meta.frames ? frameTime[f + 1] - frameTime[f] : 1;
    const a = f + 1 < meta.frames ? Math.min(1, Math.max(0, (S.t - frameTime[f]) / span)) : 0;
    applyChanges('status', f, status, null, A.st_frame, A.st_soldier, A.st_value);
    applyChanges('posture', f, posture, A.po_start, A.po_frame, A.po_soldier, A.po_value);
    positions(f, a);
    ctx.setTransform(S.dpr, 0, 0, S.dpr, 0, 0);
    ctx.fillStyle = '#cfcab3';
    ctx.fillRect(0, 0, S.w, S.h);
    if (S.layers.terrain && terrainCanvas) {
      const t = meta.terrain;
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(terrainCanvas, wx(t.x0), wy(t.y0 + t.ny * t.cell),
        t.nx * t.cell * S.k, t.ny * t.cell * S.k);
    }
    drawShapes();
    drawBlasts(true);
    if (S.layers.soldiers) drawSoldiers();
    if (S.layers.drones) drawDrones(f);
    drawBlasts(false);
    drawScale();
    updateReadout(f);
    S.dirty = false;
  }

  function drawScale() {
    const target = 120 / S.k;
    const pow = Math.pow(10, Math.floor(Math.log10(target)));
    const len = [1, 2, 5, 10].map((m) => m * pow).filter((v) => v <= target).pop() || pow;
    const x = 12;
    const y = S.h - 14;
    ctx.fillStyle = '#ffffffcc';
    ctx.fillRect(x - 4, y - 16, len * S.k + 60, 24);
    ctx.strokeStyle = '#222';
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(x, y); ctx.lineTo(x + len * S.k, y);
    ctx.moveTo(x, y - 4); ctx.lineTo(x, y + 2);
    ctx.moveTo(x + len * S.k, y - 4); ctx.lineTo(x + len * S.k, y + 2);
    ctx.stroke();
    ctx.fillStyle = '#222';
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillText(len >= 1000 ? `${len / 1000} km` : `${len} m`, x + len * S.k + 6, y + 4);
  }

  function updateReadout(f) {
    $('time').textContent = `${fmtTime(S.t)} / ${fmtTime(duration)}`;
    const step = Math.min(meta.steps, Math.floor(S.t / dt + 1e-6));
    $('step').textContent = `step ${step} / ${meta.steps} (frame ${f + 1} / ${meta.frames})`;
    const slider = $('slider');
    if (!S.sliding) slider.value = String(S.t);
    const row = step - 1;
    const parts = [];
    let flying = 0;
    for (let side = 0; side < 2; side++) {
      let hw = [meta.initial[side], 0, 0, 0];
      if (row >= 0 && meta.steps > 0) {
        const o = (Math.min(row, meta.steps - 1) * 2 + side) * 4;
        hw = Array.from(A.series.subarray(o, o + 4));
      }
      flying += hw[3];
      if (meta.initial[side] === 0) continue;
      const name = meta.sides[side];
      parts.push(`<b class="${name}">${name}</b> ${meta.initial[side].toLocaleString()}: ` +
        `${hw[0].toLocaleString()} healthy &middot; ${hw[1].toLocaleString()} wounded ` +
        `&middot; ${hw[2].toLocaleString()} killed`);
    }
    parts.push(`drones flying: ${flying}`);
    $('counts').innerHTML = parts.join(' &nbsp;|&nbsp; ');
  }

  // ------------------------------------------------------------------ tooltip
  function pick(mx, my) {
    let best = null;
    let bestD = 64; // 8 px squared
    if (S.layers.drones) {
      for (let j = 0; j < M; j++) {
        if (!dvis[j]) continue;
        const d = (dpx[j] - mx) ** 2 + (dpy[j] - my) ** 2;
        if (d < bestD) { bestD = d; best = { kind: 'drone', i: j }; }
      }
    }
    if (S.layers.soldiers && !best) {
      for (let i = 0; i < N; i++) {
        if (status[i] === 2 && !S.layers.killed) continue;
        const d = (px[i] - mx) ** 2 + (py[i] - my) ** 2;
        if (d < bestD) { bestD = d; best = { kind: 'soldier', i }; }
      }
    }
    return best;
  }

  function toWorld(sx, sy) { return [(sx - S.w / 2) / S.k + S.cx, (S.h / 2 - sy) / S.k + S.cy]; }

  function describe(hit) {
    if (hit.kind === 'drone') {
      const j = hit.i;
      const f = frameAt(S.t);
      const type = meta.drone_types[A.d_type[j]];
      const [x, y] = toWorld(dpx[j], dpy[j]);
      return `drone slot ${j}: ${type.name} (${type.role}, ${type.link} link)\n` +
        `side: ${meta.sides[A.d_side[j]]}\nsortie: ${A.d_sortie[f * M + j]}\n` +
        `phase: ${meta.phases[A.d_phase[f * M + j]] || '?'}\n` +
        `position: ${x.toFixed(0)}, ${y.toFixed(0)} m`;
    }
    const i = hit.i;
    const [x, y] = toWorld(px[i], py[i]);
    const lines = [
      `soldier #${A.s_index[i]} (${meta.sides[A.s_side[i]]})`,
      `unit: ${meta.units[A.s_unit[i]]}, platoon ${A.s_platoon[i]}`,
      `role: ${meta.roles[A.s_role[i]]}`,
      `status: ${meta.statuses[status[i]]}`,
      `posture: ${meta.postures[posture[i]]}`,
      `position: ${x.toFixed(0)}, ${y.toFixed(0)} m`,
    ];
    if (status[i] > 0 && A.s_cause[i] >= 0) lines.push(`hit by: ${meta.weapons[A.s_cause[i]]}`);
    return lines.join('\n');
  }

  function updateTooltip() {
    const tip = $('tooltip');
    if (!S.mouse || S.drag) { tip.hidden = true; return; }
    const hit = pick(S.mouse[0], S.mouse[1]);
    if (!hit) { tip.hidden = true; return; }
    tip.textContent = describe(hit);
    tip.hidden = false;
    const x = Math.min(S.mouse[0] + 14, S.w - tip.offsetWidth - 4);
    const y = Math.min(S.mouse[1] + 14, S.h - tip.offsetHeight - 4);
    tip.style.left = `${Math.max(0, x)}px`;
    tip.style.top = `${Math.max(0, y)}px`;
  }

  // ------------------------------------------------------------------ UI
  function setPlaying(on) {
    S.playing = on && S.t < duration;
    if (on && S.t >= duration) { S.t = 0; S.playing = true; }
    $('play').innerHTML = S.playing ? '&#10074;&#10074; Pause' : '&#9654; Play';
    S.dirty = true;
  }

  function seek(t) {
    S.t = Math.min(duration, Math.max(0, Number(t) || 0));
    S.dirty = true;
  }

  function buildLegend() {
    const rows = [];
    const row = (cls, color, label, extra = '') =>
      `<div class="legend-row"><span class="swatch ${cls}" style="background:${color};${extra}">` +
      `</span>${label}</div>`;
    rows.push('<div class="legend-group">Soldiers</div>');
    meta.sides.forEach((side, i) => {
      if (!meta.initial[i]) return;
      meta.statuses.forEach((st, k) => rows.push(row('dot', meta.side_colors[i][k],
        `${side} ${st}`)));
    });
    if (meta.drone_types.length && M) {
      rows.push('<div class="legend-group">Drones (outline: side)</div>');
      const used = new Set(Array.from(A.d_type));
      meta.drone_types.forEach((t, k) => {
        if (used.has(k)) rows.push(row('diamond', t.color, `${t.name} (${t.role})`));
      });
    }
    rows.push('<div class="legend-group">Events (circle: lethal radius)</div>');
    const kinds = new Set(Array.from(A.b_kind));
    meta.blast_kinds.forEach((b, k) => {
      const swatch = { disc: 'dot', ring: 'ring' }[b.shape] || '';
      if (kinds.has(k)) rows.push(row(swatch, b.color, b.label,
        b.shape === 'ring' ? `background:transparent;border-color:${b.color}` : ''));
    });
    rows.push('<div class="legend-group">Map</div>');
    if (meta.objectives.length) rows.push(row('', 'rgba(255,190,40,0.3)', 'objective',
      'border:2px dashed #b07800'));
    if (meta.jammers.length) rows.push(row('dot', 'rgba(120,120,120,0.2)', 'jammer zone',
      'border:1.5px dashed #555'));
    const used = new Set(Array.from(A.terrain));
    meta.terrain.classes.forEach((c, k) => {
      if (used.has(k)) rows.push(row('', meta.terrain.colors[k], `terrain: ${c}`));
    });
    $('legend').innerHTML = rows.join('');
  }

  function buildLayers() {
    const box = $('layers');
    for (const [key, label, on] of LAYERS) {
      S.layers[key] = on;
      const lab = document.createElement('label');
      const cb = document.createElement('input');
      cb.type = 'checkbox';
      cb.id = `layer-${key}`;
      cb.checked = on;
      cb.addEventListener('change', () => { S.layers[key] = cb.checked; S.dirty = true; });
      lab.append(cb, ' ' + label);
      box.append(lab);
    }
  }

  function bindEvents() {
    $('play').addEventListener('click', () => setPlaying(!S.playing));
    $('speed').addEventListener('change', (e) => { S.speed = Number(e.target.value); });
    const slider = $('slider');
    slider.max = String(duration);
    slider.step = String(dt * meta.every / 4);
    slider.addEventListener('input', () => seek(slider.value));
    slider.addEventListener('pointerdown', () => { S.sliding = true; });
    window.addEventListener('pointerup', () => { S.sliding = false; });
    $('fit-map').addEventListener('click', fitMap);
    $('fit-units').addEventListener('click', fitSoldiers);
    window.addEventListener('resize', resize);
    canvas.addEventListener('mousedown', (e) => {
      S.drag = [e.offsetX, e.offsetY, S.cx, S.cy];
      canvas.classList.add('dragging');
    });
    window.addEventListener('mouseup', () => { S.drag = null; canvas.classList.remove('dragging'); });
    canvas.addEventListener('mousemove', (e) => {
      S.mouse = [e.offsetX, e.offsetY];
      if (S.drag) {
        S.cx = S.drag[2] - (e.offsetX - S.drag[0]) / S.k;
        S.cy = S.drag[3] + (e.offsetY - S.drag[1]) / S.k;
        S.dirty = true;
      }
      updateTooltip();
    });
    canvas.addEventListener('mouseleave', () => { S.mouse = null; updateTooltip(); });
    canvas.addEventListener('wheel', (e) => {
      e.preventDefault();
      const [wx0, wy0] = toWorld(e.offsetX, e.offsetY);
      S.k *= Math.exp(-e.deltaY * 0.0015);
      S.k = Math.min(200, Math.max(1e-4, S.k));
      S.cx = wx0 - (e.offsetX - S.w / 2) / S.k;
      S.cy = wy0 - (S.h / 2 - e.offsetY) / S.k;
      S.dirty = true;
    }, { passive: false });
    window.addEventListener('keydown', (e) => {
      if (e.target.tagName === 'SELECT' || e.target.tagName === 'INPUT') return;
      const stepT = dt * meta.every;
      if (e.code === 'Space') { e.preventDefault(); setPlaying(!S.playing); }
      if (e.code === 'ArrowRight') seek(S.t + stepT);
      if (e.code === 'ArrowLeft') seek(S.t - stepT);
    });
  }

  let last = null;
  function tick(now) {
    if (last !== null && S.playing) {
      S.t += Math.min(0.25, (now - last) / 1000) * S.speed;
      if (S.t >= duration) { S.t = duration; setPlaying(false); }
      S.dirty = true;
    }
    last = now;
    if (S.dirty) {
      draw();
      if (S.mouse) updateTooltip();
    }
    requestAnimationFrame(tick);
  }

  async function main() {
    const buf = await inflate($('data').textContent);
    A = unpack(buf);
    frameTime = Float64Array.from(A.frame_step, (s) => s * dt);
    if (meta.note) {
      const note = $('note');
      note.textContent = `Thinned for display: ${meta.note}. Counts above are for all soldiers.`;
      note.hidden = false;
    }
    buildLayers();
    buildLegend();
    buildTerrain();
    bindEvents();
    resize();
    draw();
    $('loading').remove();
    document.body.dataset.ready = '1';
    requestAnimationFrame(tick);
  }

  window.dronefrontReplay = {
    meta,
    play: () => setPlaying(true),
    pause: () => setPlaying(false),
    seek,
    fitMap,
    fitSoldiers,
    setView: (cx, cy, k) => { S.cx = cx; S.cy = cy; S.k = k; S.dirty = true; },
    state: () => ({ t: S.t, playing: S.playing, speed: S.speed, k: S.k, cx: S.cx, cy: S.cy }),
    // Page coordinates of a drawn soldier or drone (as of the last draw), for tests.
    screenPosition: (kind, i) => {
      const r = canvas.getBoundingClientRect();
      const [x, y] = kind === 'drone' ? [dpx[i], dpy[i]] : [px[i], py[i]];
      return [r.left + x, r.top + y];
    },
  };

  main().catch((err) => {
    const box = $('loading');
    if (box) box.textContent = `cannot show the replay: ${err.message || err}`;
    console.error('dronefront replay:', err);
  });
})();
