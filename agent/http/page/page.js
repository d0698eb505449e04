// The agent's page: the rack drawn from the catalog's location labels (tray,
// chip, hbm, link, shelf, psu, cdu), kept live by server-sent events. Plain
// script, no libraries, nothing fetched from elsewhere.
'use strict';

const READING = { ok: 0, error: 1, timeout: 2, out_of_range: 3, stale: 4 };
const UNITS = { Cel: '°C', Pa: 'Pa', kPa: 'kPa', 'L/min': 'L/min', RPM: 'rpm', '%': '%' };
const LEVEL_WORD = { critical: 'CRIT', warning: 'WARN', failing: 'FAIL', stale: 'STALE' };
const LEVEL_RANK = { critical: 4, failing: 3, warning: 2, stale: 1 };
const MAX_TABLE_ROWS = 200;

const page = {
  catalog: null,      // /api/catalog
  values: [],         // per sensor index: {v, s, t} (value or null, status, time)
  status: null,       // the newest status event
  rack: null,         // the parts drawn, from the catalog
  knownTrays: new Set(),  // every tray seen since the page opened: a tray that goes is shown missing
  measure: 'die',
  source: null,
  chart: null,        // {index, points, meta} while the detail shows a chart
  drawPending: false,
  drawnOnce: false,
  lastEvent: 0,
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

// ---- values and their meaning ------------------------------------------------------------

function unitText(unit) { return UNITS[unit] ?? unit; }

function decimals(resolution) {
  if (!(resolution > 0) || resolution >= 1) return 0;
  return Math.min(6, Math.max(0, Math.ceil(-Math.log10(resolution) - 1e-9)));
}

function numberText(meta, v) {
  return v.toFixed(decimals(meta.resolution));
}

// A reading as people read it: the state's word, else the number and unit.
function readingText(index) {
  const meta = page.catalog.sensors[index];
  const r = page.values[index];
  if (!r) return 'not read yet';
  if (r.v === null) return r.s === READING.stale ? 'stale' : r.s === READING.timeout ? 'timeout' : 'no reading';
  if (meta.states && meta.states[String(r.v)] !== undefined) return meta.states[String(r.v)];
  const unit = unitText(meta.unit);
  return numberText(meta, r.v) + (unit ? ' ' + unit : '');
}

// The same judgement as `racktel status`: stale, failing, then limits.
function levelOf(index) {
  const meta = page.catalog.sensors[index];
  const r = page.values[index];
  if (!r) return null;
  if (r.s === READING.stale) return 'stale';
  if (r.v === null) return 'failing';
  if (meta.crit_high !== undefined && r.v >= meta.crit_high) return 'critical';
  if (meta.crit_low !== undefined && r.v <= meta.crit_low) return 'critical';
  if (meta.warn_high !== undefined && r.v >= meta.warn_high) return 'warning';
  if (meta.warn_low !== undefined && r.v <= meta.warn_low) return 'warning';
  if (r.s === READING.out_of_range) return 'warning';
  return null;
}

function worstLevel(indices) {
  let worst = null;
  for (const i of indices) {
    const l = levelOf(i);
    if (l && (!worst || LEVEL_RANK[l] > LEVEL_RANK[worst])) worst = l;
  }
  return worst;
}

function limitsText(meta) {
  const parts = [];
  for (const k of ['warn_low', 'warn_high', 'crit_low', 'crit_high']) {
    if (meta[k] !== undefined) parts.push(k.replace('_', ' ') + ' ' + numberText(meta, meta[k]));
  }
  return parts.join(' · ');
}

// Colour class on the one ramp: `t` 0 (cool) .. 1 (at the warning limit); past it, hot.
function rampClass(t) {
  if (t === null || Number.isNaN(t)) return 'c-none';
  if (t >= 1) return 'c-hot';
  return 'c' + Math.max(0, Math.min(4, Math.floor(t * 5)));
}

function shortTime(ms) {
  return ms ? new Date(ms).toLocaleTimeString([], { hour12: false }) : '—';
}

// ---- the rack, from location labels --------------------------------------------------------

function labelOf(meta, key) { return meta.location[key]; }

function byNumber(a, b) {
  const na = Number(a), nb = Number(b);
  return Number.isNaN(na) || Number.isNaN(nb) ? String(a).localeCompare(String(b)) : na - nb;
}

function getOr(map, key, make) {
  if (!map.has(key)) map.set(key, make());
  return map.get(key);
}

function buildRack(catalog) {
  const trays = new Map(), shelves = new Map(), cdus = new Map();
  catalog.sensors.forEach((meta, i) => {
    const tray = labelOf(meta, 'tray'), chip = labelOf(meta, 'chip');
    const shelf = labelOf(meta, 'shelf'), psu = labelOf(meta, 'psu'), cdu = labelOf(meta, 'cdu');
    if (tray !== undefined) {
      const t = getOr(trays, tray, () => ({ id: tray, chips: new Map(), facts: [] }));
      if (chip === undefined) { t.facts.push(i); return; }
      const c = getOr(t.chips, chip, () => ({ id: chip, tray, sensors: [], die: [], hbm: [], power: [], links: [] }));
      c.sensors.push(i);
      if (labelOf(meta, 'link') !== undefined || (meta.kind === 'state' && /link/.test(meta.key))) c.links.push(i);
      else if (labelOf(meta, 'hbm') !== undefined || (meta.kind === 'temperature' && /hbm/i.test(meta.key))) c.hbm.push(i);
      else if (meta.kind === 'temperature') c.die.push(i);
      else if (meta.kind === 'power') c.power.push(i);
    } else if (shelf !== undefined) {
      const s = getOr(shelves, shelf, () => ({ id: shelf, psus: new Map(), facts: [] }));
      if (psu === undefined) s.facts.push(i);
      else getOr(s.psus, psu, () => ({ id: psu, shelf, sensors: [] })).sensors.push(i);
    } else if (cdu !== undefined) {
      getOr(cdus, cdu, () => ({ id: cdu, sensors: [] })).sensors.push(i);
    }
  });
  for (const t of trays.keys()) page.knownTrays.add(t);
  return { trays, shelves, cdus };
}

// What a chip's cell shows for the chosen measure: {value text, t on the ramp, sensor to chart}.
function chipMeasure(chip) {
  const sensors = page.catalog.sensors;
  const first = (list) => list.find((i) => /die/.test(sensors[i].key)) ?? list[0];
  if (page.measure === 'links') {
    if (!chip.links.length) return { text: '—', t: null, index: null };
    const read = chip.links.filter((i) => page.values[i] && page.values[i].v !== null);
    const down = read.filter((i) => page.values[i].v !== 0).length;
    const text = !read.length ? 'no reading' : down ? `${down} down` : `${read.length}/${chip.links.length} up`;
    return { text, t: !read.length ? null : down ? 1 : 0, index: chip.links[0] };
  }
  let index = null;
  if (page.measure === 'die') index = first(chip.die);
  if (page.measure === 'power') index = chip.power[0];
  if (page.measure === 'hbm') {
    for (const i of chip.hbm) {
      const r = page.values[i];
      if (r && r.v !== null && (index === null || r.v > page.values[index].v)) index = i;
    }
    if (index === null) index = chip.hbm[0] ?? null;
  }
  if (index === null || index === undefined) return { text: '—', t: null, index: null };
  return { text: readingText(index), t: rampOf(index), index };
}

// Where a reading sits between cool and its warning limit.
function rampOf(index) {
  const meta = page.catalog.sensors[index];
  const r = page.values[index];
  if (!r || r.v === null) return null;
  const top = meta.warn_high ?? meta.crit_high;
  if (top === undefined) return 0;
  const bottom = meta.kind === 'temperature' ? 20 : 0;
  return top > bottom ? (r.v - bottom) / (top - bottom) : 0;
}

function setCell(cell, { what, value, t, level, label }) {
  if (what !== undefined) cell.querySelector('.what').textContent = what;
  cell.querySelector('.value').textContent = value;
  cell.querySelector('.mark').textContent = level ? LEVEL_WORD[level] : '';
  cell.className = 'cell ' + rampClass(level === 'critical' || level === 'warning' ? Math.max(1, t ?? 1) : t);
  if (level) cell.dataset.level = level; else delete cell.dataset.level;
  cell.setAttribute('aria-label', label + (level ? ', ' + level : ''));
}

function makeCell(what, onclick) {
  return el('button', { type: 'button', class: 'cell c-none', onclick },
    el('span', { class: 'what', text: what }), el('span', { class: 'value', text: '…' }), el('span', { class: 'mark' }));
}

function factName(meta) {
  const dot = meta.key.indexOf('.', meta.key.indexOf('/') + 1);
  return (dot >= 0 ? meta.key.slice(dot + 1) : meta.name).replace(/_/g, ' ');
}

// ---- drawing ---------------------------------------------------------------------------------

function drawLegend() {
  const names = { die: 'die temperature', hbm: 'hottest HBM stack', power: 'power', links: 'links down' };
  const legend = $('legend');
  legend.replaceChildren(el('b', { text: `Chips by ${names[page.measure]}:` }),
    el('span', { class: 'c0', text: 'cool' }), el('span', { class: 'c2', text: '…' }),
    el('span', { class: 'c4', text: 'near limit' }), el('span', { class: 'c-hot', text: 'past warning (WARN) or critical (CRIT)' }),
    el('span', { class: 'c-none', text: 'no reading (FAIL, STALE)' }));
}

function drawSkeleton() {
  const { trays, shelves, cdus } = page.rack;
  const trayIds = [...page.knownTrays].sort(byNumber);
  const trayBox = $('trays');
  trayBox.replaceChildren();
  if (!trayIds.length) trayBox.append(el('p', { class: 'note', text: 'No sensor has a "tray" location label.' }));
  for (const id of trayIds) {
    const tray = trays.get(id);
    if (!tray) {
      trayBox.append(el('div', { class: 'tray missing', 'data-tray': id },
        el('div', { class: 'tray-name', text: `tray ${id}` }),
        el('div', { class: 'tray-body', text: 'MISSING: no sensors reported (removed, unpowered or not answering)' })));
      continue;
    }
    const chips = el('div', { class: 'chips' });
    for (const chip of [...tray.chips.values()].sort((a, b) => byNumber(a.id, b.id))) {
      chip.cell = makeCell(`chip ${chip.id}`, () => openDetail(`chip ${chip.id} (tray ${id})`, chip.sensors, chipMeasure(chip).index));
      chip.cell.dataset.chip = chip.id;
      chips.append(chip.cell);
    }
    const facts = el('div', { class: 'tray-facts' });
    tray.factCells = tray.facts.map((i) => {
      const f = el('button', { type: 'button', class: 'fact', onclick: () => openDetail(`tray ${id}`, tray.facts, i) });
      f.dataset.sensor = page.catalog.sensors[i].key;
      facts.append(f);
      return f;
    });
    trayBox.append(el('div', { class: 'tray', 'data-tray': id },
      el('div', { class: 'tray-name', text: `tray ${id}` }), el('div', { class: 'tray-body' }, chips, facts)));
  }

  const cooling = $('cooling');
  cooling.replaceChildren();
  if (!cdus.size) cooling.append(el('p', { class: 'note', text: 'No sensor has a "cdu" location label.' }));
  for (const cdu of [...cdus.values()].sort((a, b) => byNumber(a.id, b.id))) {
    const loop = el('div', { class: 'loop' });
    cdu.cells = cdu.sensors.map((i) => {
      const c = makeCell(factName(page.catalog.sensors[i]), () => openDetail(`CDU ${cdu.id}`, cdu.sensors, i));
      c.append(el('span', { class: 'limits', text: limitsText(page.catalog.sensors[i]) }));
      loop.append(c);
      return c;
    });
    cooling.append(el('h3', { text: cdus.size > 1 ? `CDU ${cdu.id}` : 'CDU' }), loop);
    cdu.delta = el('p', { class: 'note' });
    cooling.append(cdu.delta);
  }

  const power = $('power');
  power.replaceChildren();
  if (!shelves.size) power.append(el('p', { class: 'note', text: 'No sensor has a "shelf" location label.' }));
  for (const shelf of [...shelves.values()].sort((a, b) => byNumber(a.id, b.id))) {
    const psus = el('div', { class: 'psus' });
    for (const psu of [...shelf.psus.values()].sort((a, b) => byNumber(a.id, b.id))) {
      psu.cell = makeCell(`PSU ${psu.id}`, () => openDetail(`shelf ${shelf.id} PSU ${psu.id}`, psu.sensors, psuPower(psu)));
      psu.cell.dataset.psu = `${shelf.id}/${psu.id}`;
      psus.append(psu.cell);
    }
    shelf.head = el('h3');
    shelf.head.tabIndex = 0;
    shelf.head.addEventListener('click', () => openDetail(`power shelf ${shelf.id}`, shelf.facts, shelf.facts[0]));
    shelf.head.addEventListener('keydown', (e) => { if (e.key === 'Enter') shelf.head.click(); });
    power.append(el('div', { class: 'shelf', 'data-shelf': shelf.id }, shelf.head, psus));
  }
  drawLegend();
}

function psuPower(psu) {
  return psu.sensors.find((i) => page.catalog.sensors[i].kind === 'power' && /output/.test(page.catalog.sensors[i].key)) ??
    psu.sensors.find((i) => page.catalog.sensors[i].kind === 'power') ?? psu.sensors[0];
}

function drawValues() {
  const { trays, shelves, cdus } = page.rack;
  const sensors = page.catalog.sensors;
  for (const tray of trays.values()) {
    for (const chip of tray.chips.values()) {
      const m = chipMeasure(chip);
      const level = worstLevel(chip.sensors);
      setCell(chip.cell, { value: m.text, t: m.t, level, label: `chip ${chip.id}: ${m.text}` });
    }
    tray.facts.forEach((i, k) => {
      const f = tray.factCells[k];
      const text = `${factName(sensors[i])} ${readingText(i)}`;
      if (f.textContent !== text) f.textContent = text;
      const level = levelOf(i);
      if (level) f.dataset.level = level; else delete f.dataset.level;
      if (level === 'critical' || level === 'warning') f.textContent = `${LEVEL_WORD[level]} ${text}`;
    });
  }
  for (const shelf of shelves.values()) {
    const parts = shelf.facts.map((i) => `${factName(sensors[i])} ${readingText(i)}`);
    shelf.head.textContent = `power shelf ${shelf.id}` + (parts.length ? ': ' + parts.join(', ') : '');
    for (const psu of shelf.psus.values()) {
      const p = psuPower(psu);
      const stateSensor = psu.sensors.find((i) => sensors[i].kind === 'state');
      const level = worstLevel(psu.sensors);
      const value = readingText(p) + (stateSensor !== undefined ? ` · ${readingText(stateSensor)}` : '');
      setCell(psu.cell, { value, t: rampOf(p), level, label: `shelf ${shelf.id} PSU ${psu.id}: ${value}` });
    }
  }
  for (const cdu of cdus.values()) {
    cdu.sensors.forEach((i, k) => {
      const value = readingText(i);
      setCell(cdu.cells[k], { value, t: rampOf(i), level: levelOf(i), label: `${sensors[i].name}: ${value}` });
    });
    const supply = cdu.sensors.find((i) => /supply/.test(sensors[i].key) && sensors[i].kind === 'temperature');
    const ret = cdu.sensors.find((i) => /return/.test(sensors[i].key) && sensors[i].kind === 'temperature');
    const vs = supply !== undefined && page.values[supply], vr = ret !== undefined && page.values[ret];
    cdu.delta.textContent = vs && vr && vs.v !== null && vr.v !== null
      ? `Loop: supply ${readingText(supply)} → rack → return ${readingText(ret)}; the rack adds ${(vr.v - vs.v).toFixed(1)} °C`
      : '';
  }
  updateSensorTable();
}

// What the status sections last showed: redrawn only when it changes, so that keyboard focus stays put.
const drawnStatus = {};

function drawStatus() {
  const s = page.status;
  if (!s) return;
  document.title = `racktel · ${s.site}/${s.rack}`;
  $('title').textContent = `${s.site} / ${s.rack}`;
  const broker = s.broker.connected ? `connected (${s.broker.server})` : `DISCONNECTED${s.broker.last_error ? ': ' + s.broker.last_error : ''}`;
  const spool = !s.spool.enabled ? 'off' : s.spool.state === 'ok'
    ? `ok, ${s.spool.pending_batches} batches waiting` : `ERROR: ${s.spool.error}`;
  const facts = [
    ['agent', s.version], ['broker', broker], ['spool', spool],
    ['queue', `${s.queue.batches} batches, ${s.queue.dropped_batches} dropped`],
    ['sensors', `${s.sensors.ok} ok, ${s.sensors.failing} failing, ${s.sensors.stale} stale, ${s.sensors.never_read} not read`],
    ['catalog', s.catalog.version], ['updated', shortTime(s.time_ms)],
  ];
  $('facts').replaceChildren(...facts.map(([k, v]) => el('div', {}, el('dt', { text: k }), el('dd', { text: v }))));
  $('printed').textContent = `Acceptance record: ${s.site}/${s.rack}, printed ${new Date().toLocaleString()} from ` +
    `racktel ${s.version}, catalog ${s.catalog.version}, ${s.sensors.total} sensors, ` +
    `${s.alarms.critical} critical and ${s.alarms.warning} warning alarms active.`;

  const same = (key, content) => {
    const text = JSON.stringify(content);
    if (drawnStatus[key] === text) return true;
    drawnStatus[key] = text;
    return false;
  };
  if (!same('alarms', [s.alarms.active, s.maintenance])) drawAlarms(s);
  drawDrivers(s);
  if (!same('attention', [s.attention, s.attention_total, page.catalog && page.catalog.version])) drawAttention(s);
}

function drawAlarms(s) {
  const box = $('alarms');
  const active = s.alarms.active;
  const items = active.map((a) => {
    const value = a.state || (a.value === null ? 'no reading' : `${a.value} ${unitText(a.unit)}`);
    const why = a.kind === 'limit' ? ` (${a.limit} ${a.threshold})` : a.kind === 'failing' ? ' (not reading)' : '';
    return el('li', { class: a.severity + (a.maintenance ? ' suppressed' : ''), 'data-sensor': a.sensor },
      el('span', { class: 'sev', text: a.severity.toUpperCase() }),
      `${a.name}: ${value}${why}, since ${shortTime(a.since_ms)}`,
      a.maintenance ? ' — suppressed by maintenance' : '');
  });
  for (const w of s.maintenance) {
    items.push(el('li', { class: 'suppressed' }, el('span', { class: 'sev', text: 'MAINTENANCE' }),
      `#${w.id} by ${w.by} until ${shortTime(w.until_ms)}: ${w.reason} — ${w.sensors} sensors, ${w.alarms_suppressed} alarms suppressed`));
  }
  box.replaceChildren(items.length ? el('ul', { class: 'alarm-list' }, ...items)
    : el('p', { class: 'all-clear', text: 'No active alarms.' }));
}

function drawDrivers(s) {
  const drivers = el('table', {}, el('thead', {}, el('tr', {}, ...['driver', 'state', 'sensors', 'reads', 'timeouts', 'late']
    .map((h) => el('th', { text: h })))));
  const body = el('tbody');
  for (const d of s.drivers) {
    const sum = (k) => d.groups.reduce((n, g) => n + g[k], 0);
    body.append(el('tr', { class: d.state === 'running' ? '' : 'driver' },
      el('td', { text: `${d.name} (${d.type})` }),
      el('td', { text: d.state === 'running' ? 'running' : `${d.state.toUpperCase()}${d.error ? ': ' + d.error : ''}` }),
      el('td', { class: 'num', text: `${d.sensors_ok}/${d.sensors} ok` }), el('td', { class: 'num', text: sum('reads') }),
      el('td', { class: 'num', text: sum('timeouts') }), el('td', { class: 'num', text: sum('late_results') })));
  }
  drivers.append(body);
  $('drivers').replaceChildren(drivers);
}

function drawAttention(s) {
  if (!s.attention.length) {
    $('attention').replaceChildren(el('p', { class: 'note', text: 'Nothing: every sensor reads within its limits.' }));
  } else {
    const t = el('table', {}, el('thead', {}, el('tr', {}, ...['', 'sensor', 'reading', 'limit', 'last ok']
      .map((h) => el('th', { text: h })))));
    const tb = el('tbody');
    for (const a of s.attention) {
      const index = page.catalog ? page.catalog.sensors.findIndex((m) => m.key === a.sensor) : -1;
      const name = index >= 0 ? el('button', { type: 'button', class: 'link', text: a.name,
        onclick: () => openDetail(a.name, [index], index) }) : a.name;
      const reading = a.state || (a.value === null ? a.status : `${a.value} ${unitText(a.unit)}`);
      tb.append(el('tr', { class: a.severity }, el('td', { text: a.severity.toUpperCase() }), el('td', {}, name),
        el('td', { text: reading }), el('td', { text: a.limit }), el('td', { text: shortTime(a.last_ok_ms) })));
    }
    t.append(tb);
    const more = s.attention_total > s.attention.length
      ? el('p', { class: 'note', text: `${s.attention_total - s.attention.length} more; racktel status --all lists them.` }) : null;
    $('attention').replaceChildren(t, more ?? '');
  }
}

// Rebuilt when the search or the catalog changes; its readings are updated in place.
let sensorRows = [];

function drawSensorTable() {
  const box = $('sensors');
  const query = $('filter').value.trim().toLowerCase();
  const sensors = page.catalog.sensors;
  const rows = [];
  sensorRows = [];
  let matches = 0;
  for (let i = 0; i < sensors.length; i++) {
    const m = sensors[i];
    if (query) {
      const where = Object.entries(m.location).map(([k, v]) => `${k}=${v}`).join(',');
      if (!m.key.toLowerCase().includes(query) && !m.name.toLowerCase().includes(query) && !where.includes(query)) continue;
    }
    if (++matches > MAX_TABLE_ROWS) continue;
    const reading = el('td', { class: 'num' }), level = el('td');
    sensorRows.push({ index: i, reading, level });
    rows.push(el('tr', {},
      el('td', {}, el('button', { type: 'button', class: 'link', text: m.key, onclick: () => openDetail(m.name, [i], i) })),
      el('td', { text: m.name }), reading, level, el('td', { text: limitsText(m) })));
  }
  const table = el('table', {}, el('thead', {}, el('tr', {}, ...['sensor', 'name', 'reading', '', 'limits']
    .map((h) => el('th', { text: h })))), el('tbody', {}, ...rows));
  const note = matches > MAX_TABLE_ROWS
    ? el('p', { class: 'note', text: `${matches} sensors match; the first ${MAX_TABLE_ROWS} are shown. Narrow the search.` }) : '';
  box.replaceChildren(table, note);
  updateSensorTable();
}

function updateSensorTable() {
  for (const row of sensorRows) {
    const text = readingText(row.index);
    if (row.reading.textContent !== text) row.reading.textContent = text;
    const level = levelOf(row.index);
    const word = level ? LEVEL_WORD[level] : '';
    if (row.level.textContent !== word) row.level.textContent = word;
    row.reading.parentElement.className = level ?? '';
  }
}

function scheduleDraw() {
  if (page.drawPending) return;
  page.drawPending = true;
  requestAnimationFrame(() => {
    page.drawPending = false;
    if (page.catalog) drawValues();
    if (!page.drawnOnce && page.values.some((v) => v)) {
      page.drawnOnce = true;
      performance.mark('racktel-rack-drawn');  // the first complete picture, for bench/page_load.py
    }
    if (page.chart) drawDetailSensors();
  });
}

// ---- the detail: a part's sensors and one sensor's last 15 minutes ---------------------------------

let detailSensors = [];

function openDetail(title, indices, chartIndex) {
  $('detail-title').textContent = title;
  detailSensors = indices;
  const dialog = $('detail');
  if (!dialog.open) dialog.showModal();
  showChart(chartIndex ?? indices[0]);
}

function drawDetailSensors() {
  const box = $('detail-sensors');
  const sensors = page.catalog.sensors;
  if (box.childElementCount !== detailSensors.length) {
    box.replaceChildren(...detailSensors.map((i) => {
      const c = makeCell(sensors[i].name, () => showChart(i));
      c.dataset.sensor = sensors[i].key;
      return c;
    }));
  }
  detailSensors.forEach((i, k) => {
    const c = box.children[k];
    const value = readingText(i);
    setCell(c, { what: sensors[i].name, value, t: rampOf(i), level: levelOf(i), label: `${sensors[i].name}: ${value}` });
    c.setAttribute('aria-pressed', page.chart && page.chart.index === i ? 'true' : 'false');
  });
}

async function showChart(index) {
  if (index === undefined || index === null) return;
  const meta = page.catalog.sensors[index];
  page.chart = { index, meta, points: [], history: null };
  drawDetailSensors();
  $('chart').replaceChildren(el('p', { class: 'note', text: `Loading ${meta.name}…` }));
  try {
    const r = await fetch('api/history?sensor=' + encodeURIComponent(meta.key), { cache: 'no-store' });
    if (!r.ok) throw new Error(await r.text());
    const history = await r.json();
    if (!page.chart || page.chart.index !== index) return;
    page.chart.history = history;
    page.chart.points = history.points.slice();
    drawChart();
  } catch (e) {
    $('chart').replaceChildren(el('p', { class: 'note', text: `No history for ${meta.name}: ${e.message}` }));
  }
}

// Live readings extend the chart while it is open.
function extendChart() {
  const c = page.chart;
  if (!c || !c.history) return;
  const r = page.values[c.index];
  if (!r) return;
  const last = c.points[c.points.length - 1];
  if (last && last[0] >= r.t) return;
  c.points.push([r.t, r.v]);
  const from = Date.now() - c.history.span_ms;
  while (c.points.length && c.points[0][0] < from) c.points.shift();
  drawChart();
}

function drawChart() {
  const c = page.chart;
  const meta = c.meta;
  const svgNS = 'http://www.w3.org/2000/svg';
  const W = 760, H = 260, L = 56, R = 96, T = 14, B = 28;
  const now = Math.max(Date.now(), ...c.points.map((p) => p[0]));
  const from = now - c.history.span_ms;
  const values = c.points.filter((p) => p[1] !== null).map((p) => p[1]);
  const limits = ['warn_low', 'warn_high', 'crit_low', 'crit_high'].filter((k) => meta[k] !== undefined);
  const all = values.concat(limits.map((k) => meta[k]));
  let lo = all.length ? Math.min(...all) : 0, hi = all.length ? Math.max(...all) : 1;
  if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
  const pad = (hi - lo) * 0.08;
  lo -= pad; hi += pad;
  const x = (t) => L + ((t - from) / (now - from)) * (W - L - R);
  const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  const svg = document.createElementNS(svgNS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('role', 'img');
  const unit = unitText(meta.unit);
  const add = (tag, attrs, text) => {
    const e = document.createElementNS(svgNS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    svg.append(e);
    return e;
  };
  add('line', { class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B });
  add('line', { class: 'axis', x1: L, y1: T, x2: L, y2: H - B });
  for (const f of [0, 0.5, 1]) {
    const v = lo + (hi - lo) * f;
    add('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, numberText(meta, v));
  }
  for (const m of [15, 10, 5, 0]) {
    const t = now - m * 60000;
    add('text', { x: x(t), y: H - 8, 'text-anchor': 'middle' }, m ? `−${m} min` : 'now');
  }
  for (const k of limits) {
    const cls = k.startsWith('crit') ? 'crit' : 'warn';
    add('line', { class: cls, x1: L, x2: W - R, y1: y(meta[k]), y2: y(meta[k]) });
    add('text', { x: W - R + 4, y: y(meta[k]) + 4 }, `${k.replace('_', ' ')} ${numberText(meta, meta[k])}`);
  }
  // The line breaks where a read failed or nothing was read for a while.
  let d = '', previous = null;
  const gap = Math.max(3 * (c.history.step_ms || 5000), 15000);
  for (const [t, v] of c.points) {
    if (v === null) {
      add('rect', { class: 'failed', x: x(t) - 1.5, y: H - B - 6, width: 3, height: 6 });
      previous = null;
      continue;
    }
    d += (previous === null || t - previous > gap ? 'M' : 'L') + x(t).toFixed(1) + ',' + y(v).toFixed(1);
    previous = t;
  }
  if (d) add('path', { class: 'series', d });
  const latest = values.length ? numberText(meta, values[values.length - 1]) + (unit ? ' ' + unit : '') : 'no reading';
  svg.setAttribute('aria-label', `${meta.name} over the last 15 minutes; now ${latest}`);
  const caption = el('p', { class: 'note',
    text: `${meta.name} (${meta.key}), last 15 minutes: now ${readingText(c.index)}` + (limits.length ? `; limits ${limitsText(meta)}` : '') +
      `. Dashed: warning, dotted: critical; marks on the axis: failed reads.` });
  $('chart').replaceChildren(svg, caption);
}

// ---- the live feed -------------------------------------------------------------------------------------

function setConnection(text, cls) {
  const c = $('connection');
  c.textContent = text;
  c.className = 'badge ' + cls;
}

async function loadCatalog() {
  const r = await fetch('api/catalog', { cache: 'no-store' });
  if (!r.ok) throw new Error(`catalog: HTTP ${r.status}`);
  const next = await r.json();
  const keys = page.catalog ? detailSensors.map((i) => page.catalog.sensors[i].key) : [];
  const charted = page.chart ? page.chart.meta.key : null;
  page.catalog = next;
  page.values = new Array(next.sensors.length);
  page.rack = buildRack(next);
  for (const k of Object.keys(drawnStatus)) delete drawnStatus[k];
  drawSkeleton();
  drawSensorTable();
  drawValues();
  if (page.status) drawStatus();
  if (page.chart) {
    // The detail stays open on the same sensors, found by key in the new catalog.
    const indexOf = new Map(next.sensors.map((m, i) => [m.key, i]));
    detailSensors = keys.filter((k) => indexOf.has(k)).map((k) => indexOf.get(k));
    $('detail-sensors').replaceChildren();
    if (!indexOf.has(charted)) $('detail').close(); else showChart(indexOf.get(charted));
  }
}

function connect() {
  const source = new EventSource('api/events');
  page.source = source;
  source.addEventListener('open', () => setConnection('live', 'live'));
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CLOSED) setTimeout(() => start(), 3000);
    setConnection(`reconnecting… (last update ${shortTime(page.lastEvent)})`, 'down');
  });
  source.addEventListener('status', (e) => {
    page.status = JSON.parse(e.data);
    page.lastEvent = Date.now();
    drawStatus();
  });
  source.addEventListener('values', (e) => {
    const data = JSON.parse(e.data);
    if (!page.catalog || data.catalog !== page.catalog.version) return;
    for (const [i, v, s, t] of data.values) page.values[i] = { v, s, t };
    page.lastEvent = Date.now();
    scheduleDraw();
    extendChart();
  });
  source.addEventListener('catalog', () => {
    // The sensor set changed (a tray pulled, a driver reloaded): start over from the new catalog.
    source.close();
    start();
  });
}

async function start() {
  if (page.source) page.source.close();
  try {
    await loadCatalog();
    connect();
  } catch (e) {
    setConnection(`cannot reach the agent (${e.message}); retrying`, 'down');
    setTimeout(start, 3000);
  }
}

$('measure').addEventListener('change', (e) => {
  page.measure = e.target.value;
  drawLegend();
  scheduleDraw();
});
$('filter').addEventListener('input', () => { if (page.catalog) drawSensorTable(); });
$('print').addEventListener('click', () => window.print());
$('detail-close').addEventListener('click', () => $('detail').close());
$('detail').addEventListener('close', () => { page.chart = null; });
start();
