// ratekeeper's cost page: a client of the public v2 API, nothing more.
// Every figure comes from /v2/summary or /v2/dataframes, asked with the
// caller's own headers or Keystone token; the state lives in the URL.
'use strict';

const API_ROOT = new URL('../', location.href);  // honours a path prefix
const SCOPE_KEY = 'project_id';
const PAGE_SIZE = 20;
const FULL_PAGE = 1000;  // rows per request when the page needs them all
const TOP_RESOURCES = 10;
const JSON_VERSION = '2.1';  // paged lists carry "links"
const CSV_VERSION = '2.2';  // response_format=csv
const RESOLUTIONS = {
  'time': ['time'],
  'time-d': ['time-y', 'time-d'],
  'time-w': ['time-y', 'time-w'],
  'time-m': ['time-y', 'time-m'],
};
const SORTS = ['rate', 'qty', 'project_id'];
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2',
                '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const STORE = window.localStorage;
const SESSION = window.sessionStorage;

const $ = (id) => document.getElementById(id);
const numberFormat = new Intl.NumberFormat(undefined, {maximumFractionDigits: 4});
const fmt = (value) => numberFormat.format(value);
let renderCount = 0;
let timeChart = null;
// Read by the browser tests and the benchmark: when the chart was drawn.
window.ratekeeperUi = {firstChartMs: null, firstReadyMs: null, rendered: 0};

// -- dates (UTC days, as YYYY-MM-DD) -------------------------------------
function isoDay(date) { return date.toISOString().slice(0, 10); }
function parseDay(text) { return new Date(text + 'T00:00:00Z'); }
function addDays(text, days) {
  const date = parseDay(text);
  date.setUTCDate(date.getUTCDate() + days);
  return isoDay(date);
}
function monthBounds(year, month) {  // month 0-11; end included
  const first = new Date(Date.UTC(year, month, 1));
  const last = new Date(Date.UTC(year, month + 1, 0));
  return {begin: isoDay(first), end: isoDay(last)};
}
function currentMonth() {
  const now = new Date();
  return monthBounds(now.getUTCFullYear(), now.getUTCMonth());
}
function wholeMonth(state) {
  const begin = parseDay(state.begin);
  const bounds = monthBounds(begin.getUTCFullYear(), begin.getUTCMonth());
  return bounds.begin === state.begin && bounds.end === state.end;
}
function previousPeriod(state) {
  if (wholeMonth(state)) {
    const begin = parseDay(state.begin);
    const bounds = monthBounds(begin.getUTCFullYear(), begin.getUTCMonth() - 1);
    return {...bounds, label: 'the previous month (' + bounds.begin.slice(0, 7) + ')'};
  }
  const days = Math.round((parseDay(state.end) - parseDay(state.begin)) / 864e5) + 1;
  return {begin: addDays(state.begin, -days), end: addDays(state.begin, -1),
          label: 'the previous ' + days + ' day' + (days > 1 ? 's' : '')};
}

// -- the state, in the URL -----------------------------------------------
function readState() {
  const query = new URLSearchParams(location.search);
  const month = currentMonth();
  return {
    begin: query.get('begin') || month.begin,
    end: query.get('end') || month.end,
    res: query.get('res') || 'time-d',
    project: query.get('project') || '',
    types: query.getAll('type'),
    filters: query.getAll('f'),
    page: query.get('page') || '0',
    ppage: query.get('ppage') || '0',
    sort: query.get('sort') || '-rate',
  };
}

function stateUrl(state) {
  const query = new URLSearchParams();
  const month = currentMonth();
  if (state.begin !== month.begin || state.end !== month.end) {
    query.set('begin', state.begin);
    query.set('end', state.end);
  }
  if (state.res !== 'time-d') query.set('res', state.res);
  if (state.project) query.set('project', state.project);
  state.types.forEach((type) => query.append('type', type));
  state.filters.forEach((filter) => query.append('f', filter));
  if (Number(state.page)) query.set('page', state.page);
  if (Number(state.ppage)) query.set('ppage', state.ppage);
  if (state.sort !== '-rate') query.set('sort', state.sort);
  const text = query.toString();
  return location.pathname + (text ? '?' + text : '');
}

function navigate(changes) {
  const state = {...readState(), ...changes};
  history.pushState(null, '', stateUrl(state));
  render();
}

function badInput(state) {
  for (const name of ['begin', 'end']) {
    const value = state[name];
    if (!DATE.test(value) || isNaN(parseDay(value)) || isoDay(parseDay(value)) !== value) {
      return `"${value}" is not a date (${name}): use YYYY-MM-DD.`;
    }
  }
  if (state.end < state.begin) return 'The period ends before it begins.';
  if (!(state.res in RESOLUTIONS)) return `"${state.res}" is not a resolution: use time, time-d, time-w or time-m.`;
  for (const name of ['page', 'ppage']) {
    if (!/^\d{1,9}$/.test(state[name])) return `"${state[name]}" is not a page offset.`;
  }
  if (!SORTS.includes(state.sort.replace(/^-/, ''))) return `"${state.sort}" is not a sort: use rate, qty or project_id, with - for descending.`;
  for (const filter of state.filters) {
    if (!/^[^:,]+:[^:,]+$/.test(filter)) return `"${filter}" is not a filter: use key:value.`;
  }
  return null;
}

// -- identity ------------------------------------------------------------
function identityHeaders() {
  const token = SESSION.getItem('ratekeeper.token');
  if (token) return {'X-Auth-Token': token};
  const headers = {};
  const project = STORE.getItem('ratekeeper.project');
  const roles = STORE.getItem('ratekeeper.roles');
  if (project) headers['X-Project-Id'] = project;
  if (roles) headers['X-Roles'] = roles;
  return headers;
}

function describeIdentity() {
  const user = SESSION.getItem('ratekeeper.user');
  if (SESSION.getItem('ratekeeper.token')) return 'Identity: ' + user + ' (Keystone)';
  const project = STORE.getItem('ratekeeper.project');
  const roles = STORE.getItem('ratekeeper.roles');
  if (!project && !roles) return 'Identity: administrator (noauth, no headers)';
  return 'Identity: project ' + (project || '(none)') + ', roles ' + (roles || '(none)');
}

async function keystoneLogin(event) {
  event.preventDefault();
  const base = $('ks-url').value.replace(/\/+$/, '');
  const url = /\/v3$/.test(base) ? base + '/auth/tokens' : base + '/v3/auth/tokens';
  const user = $('ks-user').value;
  const body = {auth: {
    identity: {methods: ['password'], password: {user: {
      name: user, domain: {name: $('ks-user-domain').value},
      password: $('ks-password').value}}},
    scope: {project: {name: $('ks-project').value,
                      domain: {name: $('ks-project-domain').value}}}}};
  let response;
  try {
    response = await fetch(url, {method: 'POST', body: JSON.stringify(body),
                                 headers: {'Content-Type': 'application/json'}});
  } catch (error) {
    showMessage('error', 'Keystone at ' + url + ' cannot be reached from this page (' + error.message
                + '). Keystone must allow this origin (CORS) and expose X-Subject-Token.');
    return;
  }
  const token = response.headers.get('X-Subject-Token');
  if (!response.ok || !token) {
    showMessage('error', 'Keystone refused the credentials (' + response.status + ')'
                + (response.ok ? ': no X-Subject-Token exposed (Keystone CORS expose_headers).' : '.'));
    return;
  }
  $('ks-password').value = '';
  STORE.setItem('ratekeeper.keystone', base);
  SESSION.setItem('ratekeeper.token', token);
  SESSION.setItem('ratekeeper.user', user + '@' + $('ks-project').value);
  render();
}

function keystoneLogout() {
  SESSION.removeItem('ratekeeper.token');
  SESSION.removeItem('ratekeeper.user');
  render();
}

function applyNoauthHeaders(event) {
  event.preventDefault();
  for (const [key, input] of [['ratekeeper.project', 'header-project'], ['ratekeeper.roles', 'header-roles']]) {
    const value = $(input).value.trim();
    if (value) STORE.setItem(key, value); else STORE.removeItem(key);
  }
  navigate({page: '0', ppage: '0', project: ''});
}

function askForKeystone(wwwAuthenticate) {
  $('keystone-form').hidden = false;
  $('noauth-form').hidden = true;
  $('identity').open = true;
  if (!SESSION.getItem('ratekeeper.token')) $('identity-summary').textContent = 'Identity: not logged in (Keystone)';
  const uri = /uri=["']?([^"' ,]+)/.exec(wwwAuthenticate || '');
  if (!$('ks-url').value) $('ks-url').value = STORE.getItem('ratekeeper.keystone') || (uri ? uri[1] : '');
}

// -- the API -------------------------------------------------------------
class ApiError extends Error {
  constructor(status, message, response) {
    super(message);
    this.status = status;
    this.authenticate = response ? response.headers.get('WWW-Authenticate') : null;
    this.retryAfter = response ? response.headers.get('Retry-After') : null;
  }
}

function apiUrl(path, params) {
  const url = new URL(path, API_ROOT);
  for (const [key, value] of Object.entries(params)) {
    for (const item of [].concat(value)) url.searchParams.append(key, item);
  }
  return url;
}

async function apiGet(path, params, version = JSON_VERSION) {
  const headers = {...identityHeaders(), 'OpenStack-API-Version': 'rating ' + version};
  let response;
  try {
    response = await fetch(apiUrl(path, params), {headers});
  } catch (error) {
    throw new ApiError(0, 'The API cannot be reached (' + error.message + ').');
  }
  if (!response.ok) {
    let body = {};
    try { body = await response.json(); } catch (error) { /* not JSON */ }
    throw new ApiError(response.status, body.message || body.faultstring || response.statusText, response);
  }
  return version === CSV_VERSION ? response.text() : response.json();
}

function period(state) {
  return {begin: state.begin + 'T00:00:00Z', end: addDays(state.end, 1) + 'T00:00:00Z'};
}

// filters of /v2/summary (key:value, a key may repeat: OR-ed)
function summaryFilters(state, withTypes = true) {
  const filters = [...state.filters];
  if (state.project) filters.push(SCOPE_KEY + ':' + state.project);
  if (withTypes) state.types.forEach((type) => filters.push('type:' + type));
  return filters;
}

function summaryParams(state, groupby, extra = {}) {
  const params = {...period(state), response_format: 'object', ...extra};
  if (groupby.length) params.groupby = groupby;
  const filters = summaryFilters(state, extra.withTypes !== false);
  delete params.withTypes;
  if (filters.length) params.filters = filters;
  return params;
}

async function summaryAll(params) {
  const first = await apiGet('v2/summary', {...params, offset: 0, limit: FULL_PAGE});
  const offsets = [];
  for (let offset = FULL_PAGE; offset < first.total; offset += FULL_PAGE) offsets.push(offset);
  const rest = await Promise.all(offsets.map((offset) => apiGet('v2/summary', {...params, offset, limit: FULL_PAGE})));
  return first.results.concat(...rest.map((page) => page.results));
}

async function csvAll(params) {
  let text = '';
  for (let offset = 0; ; offset += FULL_PAGE) {
    const page = await apiGet('v2/summary', {...params, response_format: 'csv', offset, limit: FULL_PAGE}, CSV_VERSION);
    const lines = page.split('\r\n').filter((line) => line);
    if (!lines.length) return text;
    text += (text ? lines.slice(1) : lines).join('\r\n') + '\r\n';
    if (lines.length - 1 < FULL_PAGE) return text;
  }
}

// -- fetching a view ------------------------------------------------------
function timeLabel(row, res) {
  if (res === 'time') return row.begin.slice(0, 16).replace('T', ' ');
  const year = Number(row.year);
  if (res === 'time-d') return isoDay(new Date(Date.UTC(year, 0, Number(row.day_of_the_year))));
  if (res === 'time-w') return year + ' week ' + row.week_of_the_year;
  return year + '-' + String(row.month).padStart(2, '0');
}

// The chart's requests go first, alone: on a busy server they would
// otherwise share it with the tables' and the chart would wait for all.
function headlineRequests(state) {
  const previous = previousPeriod(state);
  return {
    total: apiGet('v2/summary', summaryParams(state, [])),
    previous: apiGet('v2/summary', summaryParams({...state, ...previous}, [])),
    time: summaryAll(summaryParams(state, [...RESOLUTIONS[state.res], 'type'])),
  };
}

function detailRequests(state) {
  const requests = {
    types: summaryAll(summaryParams(state, ['type'], {withTypes: false})),
    keys: apiGet('v2/dataframes', {...period(state), limit: 50}).catch(emptyWhenNotFound),
  };
  if (state.project) {
    requests.resources = summaryAll(summaryParams(state, ['id', 'type']));
    requests.points = apiGet('v2/dataframes', pointParams(state)).catch(emptyWhenNotFound);
  } else {
    requests.projects = apiGet('v2/summary', summaryParams(state, [SCOPE_KEY], {offset: state.page, limit: PAGE_SIZE}));
  }
  return requests;
}

async function fetchAll(requests) {
  const names = Object.keys(requests);
  const values = await Promise.all(Object.values(requests));
  return Object.fromEntries(names.map((name, i) => [name, values[i]]));
}

function pointParams(state) {
  // dataframes take one value per key: the first type chosen, if any
  const filters = [SCOPE_KEY + ':' + state.project, ...state.filters];
  if (state.types.length === 1) filters.push('type:' + state.types[0]);
  return {...period(state), filters, offset: state.ppage, limit: PAGE_SIZE};
}

function emptyWhenNotFound(error) {
  if (error.status === 404) return {total: 0, dataframes: []};
  throw error;
}

// -- drawing --------------------------------------------------------------
function showMessage(kind, text) {
  const box = $('message');
  box.className = kind;
  box.textContent = text;
  box.hidden = false;
}

function explain(error) {
  if (error.status === 401) {
    askForKeystone(error.authenticate);
    return ['auth', 'Log in: this API needs a Keystone token (' + error.message + ').'];
  }
  if (error.status === 403) return ['forbidden', 'Not allowed (403): ' + error.message + ' Check the identity the page uses.'];
  if (error.status === 503) {
    return ['unavailable', 'The service is unavailable (503): ' + error.message
            + (error.retryAfter ? ' Try again in ' + error.retryAfter + ' s.' : '')];
  }
  if (error.status === 400) return ['bad-input', 'The API refused the request (400): ' + error.message];
  if (error.status === 0) return ['error', error.message];
  return ['error', 'The API answered ' + error.status + ': ' + error.message];
}

function cell(row, text, className) {
  const td = document.createElement('td');
  if (text instanceof Node) td.append(text); else td.textContent = text;
  if (className) td.className = className;
  row.append(td);
  return td;
}

function fillTable(id, rows, columns) {
  const body = $(id).tBodies[0];
  body.replaceChildren();
  for (const item of rows) {
    const tr = document.createElement('tr');
    columns.forEach(([value, className]) => cell(tr, value(item), className));
    body.append(tr);
  }
  if (!rows.length) {
    const tr = document.createElement('tr');
    cell(tr, 'Nothing in this period.', 'empty').colSpan = columns.length;
    body.append(tr);
  }
}

function apiLinks(id, path, params, csvName) {
  const box = $(id);
  box.replaceChildren('API: ');
  const link = document.createElement('a');
  link.href = apiUrl(path, params);
  link.textContent = 'JSON request';
  link.className = 'json-link';
  link.target = '_blank';
  link.title = 'Sent with OpenStack-API-Version: rating ' + JSON_VERSION + ' and your identity headers';
  box.append(link, ' (rating ' + JSON_VERSION + ')');
  if (!csvName) return;
  const button = document.createElement('button');
  button.textContent = 'Download CSV';
  button.className = 'csv';
  button.addEventListener('click', () => downloadCsv(params, csvName));
  box.append(' · ', button, ' (rating ' + CSV_VERSION + ')');
}

async function downloadCsv(params, name) {
  try {
    const {offset, limit, ...whole} = params;
    const text = await csvAll(whole);
    const link = document.createElement('a');
    link.href = URL.createObjectURL(new Blob([text], {type: 'text/csv'}));
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
  } catch (error) {
    showMessage(...explain(error));
  }
}

function setFigure(id, value, text) {
  $(id).textContent = text;
  $(id).dataset.value = value === null ? '' : String(value);
}

function drawTotals(state, view) {
  const [now] = view.total.results || [];
  const [before] = view.previous.results || [];
  setFigure('total-cost', now ? now.rate : 0, fmt(now ? now.rate : 0));
  setFigure('total-qty', now ? now.qty : 0, fmt(now ? now.qty : 0));
  $('previous-label').textContent = previousPeriod(state).label;
  if (!before || !before.rate) {
    setFigure('total-change', null, 'no cost before');
  } else {
    const change = ((now ? now.rate : 0) - before.rate) / before.rate * 100;
    setFigure('total-change', change, (change >= 0 ? '+' : '') + change.toFixed(1) + ' %');
  }
}

function timeAxis(state, rows) {
  if (state.res !== 'time-d') return [...new Set(rows.map((row) => timeLabel(row, state.res)))].sort();
  const days = [];
  for (let day = state.begin; day <= state.end; day = addDays(day, 1)) days.push(day);
  return days;
}

function drawTimeChart(state, rows) {
  const labels = timeAxis(state, rows);
  const index = new Map(labels.map((label, i) => [label, i]));
  const series = new Map();
  for (const row of rows) {
    if (!series.has(row.type)) series.set(row.type, new Array(labels.length).fill(0));
    series.get(row.type)[index.get(timeLabel(row, state.res))] += row.rate;
  }
  const datasets = [...series.keys()].sort().map((type, i) => ({
    label: type, data: series.get(type), backgroundColor: COLORS[i % COLORS.length]}));
  if (timeChart) {
    timeChart.data = {labels, datasets};
    timeChart.update();
  } else {
    timeChart = new Chart($('time-chart'), {
      type: 'bar', data: {labels, datasets},
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        interaction: {mode: 'index', intersect: false},
        scales: {x: {stacked: true}, y: {stacked: true, title: {display: true, text: 'cost'}}},
        plugins: {tooltip: {callbacks: {
          label: (item) => item.dataset.label + ': ' + fmt(item.parsed.y),
          footer: (items) => 'Total: ' + fmt(items.reduce((sum, item) => sum + item.parsed.y, 0)),
        }}},
      },
    });
  }
  $('time-chart').dataset.series = JSON.stringify(datasets.map((set) => [set.label, set.data.reduce((a, b) => a + b, 0)]));
  if (window.ratekeeperUi.firstChartMs === null) window.ratekeeperUi.firstChartMs = performance.now();
}

function drawTypes(state, rows) {
  const shown = rows.filter((row) => !state.types.length || state.types.includes(row.type))
    .sort((a, b) => b.rate - a.rate);
  fillTable('type-table', shown, [[(row) => row.type], [(row) => fmt(row.qty), 'num'], [(row) => fmt(row.rate), 'num']]);
  const box = $('type-filters');
  box.replaceChildren('Types: ');
  const known = [...new Set([...rows.map((row) => row.type), ...state.types])].sort();
  for (const type of known) {
    const label = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.value = type;
    input.checked = state.types.includes(type);
    input.addEventListener('change', () => navigate({
      types: input.checked ? [...state.types, type] : state.types.filter((t) => t !== type),
      page: '0', ppage: '0'}));
    label.append(input, ' ' + type);
    box.append(label);
  }
  if (!known.length) box.append('none in this period');
}

function sortRows(rows, sort) {
  const key = sort.replace(/^-/, '');
  const sign = sort.startsWith('-') ? -1 : 1;
  return [...rows].sort((a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0) * sign);
}

function stateLink(text, changes) {
  const link = document.createElement('a');
  link.href = stateUrl({...readState(), ...changes});
  link.textContent = text;
  link.addEventListener('click', (event) => {
    event.preventDefault();
    navigate(changes);
  });
  return link;
}

function drawProjects(state, page) {
  const offset = Number(state.page);
  const rows = sortRows(page.results, state.sort);
  fillTable('project-table', rows, [
    [(row) => stateLink(row[SCOPE_KEY] || '(no project)', {project: row[SCOPE_KEY], ppage: '0'})],
    [(row) => fmt(row.qty), 'num'], [(row) => fmt(row.rate), 'num']]);
  $('projects-range').textContent = page.total
    ? `${offset + 1}–${offset + page.results.length} of ${page.total} (the API pages by project id; the sort orders this page)`
    : '';
  pager('projects', offset, page.total, 'page');
  for (const button of document.querySelectorAll('#project-table th button')) {
    const key = button.dataset.sort;
    button.classList.toggle('sorted', state.sort.replace(/^-/, '') === key);
    button.onclick = () => navigate({sort: state.sort === '-' + key ? key : '-' + key});
  }
}

function pager(prefix, offset, total, param) {
  const previous = $(prefix + '-prev');
  const next = $(prefix + '-next');
  previous.disabled = offset <= 0;
  next.disabled = offset + PAGE_SIZE >= total;
  previous.onclick = () => navigate({[param]: String(Math.max(0, offset - PAGE_SIZE))});
  next.onclick = () => navigate({[param]: String(offset + PAGE_SIZE)});
}

function drawProject(state, view) {
  const top = [...view.resources].sort((a, b) => b.rate - a.rate).slice(0, TOP_RESOURCES);
  fillTable('resource-table', top, [[(row) => row.id || '(none)'], [(row) => row.type],
    [(row) => fmt(row.qty), 'num'], [(row) => fmt(row.rate), 'num']]);
  const points = view.points.dataframes.flatMap((frame) => Object.entries(frame.usage)
    .flatMap(([type, list]) => list.map((point) => ({begin: frame.period.begin, type, ...point}))));
  fillTable('point-table', points, [[(p) => p.begin.slice(0, 16).replace('T', ' ')], [(p) => p.type],
    [(p) => p.groupby.id || ''], [(p) => fmt(p.vol.qty), 'num'], [(p) => p.vol.unit],
    [(p) => fmt(p.rating.price), 'num']]);
  const offset = Number(state.ppage);
  $('points-range').textContent = view.points.total
    ? `points ${offset + 1}–${offset + PAGE_SIZE > view.points.total ? view.points.total : offset + PAGE_SIZE} of ${view.points.total}` : '';
  pager('points', offset, view.points.total, 'ppage');
}

function drawFilterChoices(state, frames) {
  const keys = new Set();
  for (const frame of frames.dataframes) {
    for (const list of Object.values(frame.usage)) {
      for (const point of list) {
        Object.keys(point.groupby).forEach((key) => keys.add(key));
        Object.keys(point.metadata).forEach((key) => keys.add(key));
      }
    }
  }
  keys.delete(SCOPE_KEY);
  const select = $('filter-key');
  const chosen = select.value;
  select.replaceChildren(...[...keys].sort().map((key) => new Option(key, key)));
  if (keys.has(chosen)) select.value = chosen;
  $('attribute-filter').hidden = !keys.size;
  const active = $('active-filters');
  active.replaceChildren();
  for (const filter of state.filters) {
    const chip = document.createElement('button');
    chip.className = 'chip';
    chip.textContent = filter.replace(':', ' = ') + ' ×';
    chip.title = 'Remove this filter';
    chip.addEventListener('click', () => navigate({filters: state.filters.filter((f) => f !== filter), page: '0', ppage: '0'}));
    active.append(chip);
  }
}

function drawCrumbs(state) {
  const crumbs = $('crumbs');
  crumbs.replaceChildren(stateLink('All projects', {project: '', page: '0', ppage: '0'}));
  if (state.project) crumbs.append(' › ', 'project ' + state.project);
}

function drawApiLinks(state) {
  const name = (what) => `ratekeeper-${what}-${state.begin}-${state.end}.csv`;
  const timeParams = summaryParams(state, [...RESOLUTIONS[state.res], 'type'], {offset: 0, limit: FULL_PAGE});
  apiLinks('time-api', 'v2/summary', timeParams, name('over-time'));
  apiLinks('type-api', 'v2/summary', summaryParams(state, ['type'], {offset: 0, limit: FULL_PAGE}), name('by-type'));
  if (state.project) {
    apiLinks('resources-api', 'v2/summary', summaryParams(state, ['id', 'type'], {offset: 0, limit: FULL_PAGE}), name('resources'));
    apiLinks('points-api', 'v2/dataframes', pointParams(state), null);
  } else {
    apiLinks('projects-api', 'v2/summary', summaryParams(state, [SCOPE_KEY], {offset: state.page, limit: PAGE_SIZE}), name('projects'));
  }
}

function syncControls(state) {
  $('begin').value = state.begin;
  $('end').value = state.end;
  $('month').value = wholeMonth(state) ? state.begin.slice(0, 7) : '';
  $('res').value = state.res;
  $('header-project').value = STORE.getItem('ratekeeper.project') || '';
  $('header-roles').value = STORE.getItem('ratekeeper.roles') || '';
  $('identity-summary').textContent = describeIdentity();
  const token = SESSION.getItem('ratekeeper.token');
  if (token) { $('keystone-form').hidden = false; $('noauth-form').hidden = true; }
  $('projects').hidden = !!state.project;
  $('resources').hidden = !state.project;
  $('points').hidden = !state.project;
  document.body.dataset.state = 'loading';
}

// After an error nothing of an earlier view stays on the page.
function clearFigures() {
  for (const id of ['total-cost', 'total-qty', 'total-change']) setFigure(id, null, '–');
  if (timeChart) { timeChart.destroy(); timeChart = null; }
  for (const table of document.querySelectorAll('main table')) table.tBodies[0].replaceChildren();
  for (const box of document.querySelectorAll('.api, .pager span, #type-filters, #active-filters')) box.replaceChildren();
  $('attribute-filter').hidden = true;
  for (const button of document.querySelectorAll('.pager button')) button.disabled = true;
}

async function render() {
  const state = readState();
  const count = ++renderCount;
  const problem = badInput(state);
  syncControls(problem ? {...state, ...currentMonth()} : state);
  if (problem) {
    clearFigures();
    showMessage('bad-input', 'Bad input in the address: ' + problem);
    document.body.dataset.state = 'error';
    return;
  }
  if (typeof Chart === 'undefined') {
    showMessage('error', 'The chart library did not load (vendor/chart.umd.min.js): run "make ui".');
    return;
  }
  try {
    const headline = await fetchAll(headlineRequests(state));
    if (count !== renderCount) return;  // a newer render is under way
    $('message').hidden = true;
    drawCrumbs(state);
    drawTotals(state, headline);
    drawTimeChart(state, headline.time);
    const details = await fetchAll(detailRequests(state));
    if (count !== renderCount) return;
    drawDetails(state, details);
    if (!headline.total.results || !headline.total.results.length) {
      showMessage('empty', `No rated usage from ${state.begin} to ${state.end} for this selection`
                  + (state.project || state.types.length || state.filters.length ? ' (filters apply).' : '.'));
    }
  } catch (error) {
    if (count !== renderCount) return;
    clearFigures();
    showMessage(...explain(error));
    document.body.dataset.state = 'error';
    return;
  }
  window.ratekeeperUi.rendered += 1;
  if (window.ratekeeperUi.firstReadyMs === null) window.ratekeeperUi.firstReadyMs = performance.now();
  document.body.dataset.state = 'ready';
}

function drawDetails(state, details) {
  drawTypes(state, details.types);
  drawFilterChoices(state, details.keys);
  if (state.project) drawProject(state, details); else drawProjects(state, details.projects);
  drawApiLinks(state);
}

function wire() {
  $('period').addEventListener('submit', (event) => {
    event.preventDefault();
    navigate({begin: $('begin').value, end: $('end').value, res: $('res').value, page: '0', ppage: '0'});
  });
  $('month').addEventListener('change', () => {
    if (!$('month').value) return;
    const [year, month] = $('month').value.split('-').map(Number);
    navigate({...monthBounds(year, month - 1), page: '0', ppage: '0'});
  });
  $('res').addEventListener('change', () => navigate({res: $('res').value}));
  $('attribute-filter').addEventListener('submit', (event) => {
    event.preventDefault();
    const filter = $('filter-key').value + ':' + $('filter-value').value.trim();
    const state = readState();
    $('filter-value').value = '';
    navigate({filters: [...state.filters.filter((f) => f !== filter), filter], page: '0', ppage: '0'});
  });
  $('noauth-form').addEventListener('submit', applyNoauthHeaders);
  $('keystone-form').addEventListener('submit', keystoneLogin);
  $('ks-logout').addEventListener('click', keystoneLogout);
  window.addEventListener('popstate', render);
}

wire();
render();
