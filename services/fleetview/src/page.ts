/**
 * The fleet view's page: one static file calling the same /v1 API (with the bearer token, when
 * one is set, kept in the tab's sessionStorage). Values are written with textContent only.
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>fleetscan fleet view</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: .5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: .25em .5em; text-align: left; }
th { background: #f3f3f3; }
.CRITICAL { color: #a00; font-weight: bold; } .HIGH { color: #c50; }
#error { color: #a00; }
form { margin: .5em 0; }
</style>
</head>
<body>
<h1>fleetscan fleet view</h1>
<form id="auth"><label>Bearer token (if the API needs one) <input id="token" type="password" autocomplete="off"></label></form>
<p id="error" role="alert"></p>
<h2>Where does a vulnerability run?</h2>
<form id="search">
  <input id="cve" name="cve" placeholder="CVE-2024-1234" required maxlength="128">
  <label>cluster <input id="cluster" maxlength="63" size="10"></label>
  <label>severity <select id="severity"><option value="">any</option><option>CRITICAL</option><option>HIGH</option><option>MEDIUM</option><option>LOW</option></select></label>
  <label><input id="fixable" type="checkbox"> fixable only</label>
  <button type="submit" id="go">Search</button>
  <a id="csv" href="#">CSV</a>
</form>
<p id="summary"></p>
<table id="workloads"><thead><tr><th>cluster</th><th>namespace</th><th>kind</th><th>name</th><th>container</th><th>image</th><th>severity</th><th>package</th><th>installed</th><th>fixed</th></tr></thead><tbody></tbody></table>
<h2>Where does an image run?</h2>
<form id="image">
  <input id="digest" placeholder="sha256:…" required maxlength="140" size="72">
  <button type="submit" id="image-go">Show</button>
</form>
<p id="image-summary"></p>
<table id="image-workloads"><thead><tr><th>cluster</th><th>namespace</th><th>kind</th><th>name</th><th>container</th><th>image</th><th>status</th><th>scanned</th><th>critical</th><th>high</th></tr></thead><tbody></tbody></table>
<table id="image-findings"><thead><tr><th>id</th><th>severity</th><th>package</th><th>installed</th><th>fixed</th><th>title</th></tr></thead><tbody></tbody></table>
<h2>What is new?</h2>
<form id="news">
  <label>first seen since <input id="since" type="datetime-local"></label>
  <label>or found by a DB newer than <input id="sincedb" placeholder="2026-01-01T00:00:00Z" maxlength="64" size="22"></label>
  <button type="submit" id="news-go">Show</button>
</form>
<p id="news-summary"></p>
<table id="new"><thead><tr><th>id</th><th>severity</th><th>first seen</th><th>first DB</th><th>cluster</th><th>namespace</th><th>image</th><th>package</th><th>fixed</th><th>workloads</th></tr></thead><tbody></tbody></table>
<h2>What to fix first</h2>
<table id="fixfirst"><thead><tr><th>digest</th><th>images</th><th>critical</th><th>high</th><th>workloads</th><th>clusters</th></tr></thead><tbody></tbody></table>
<h2>Clusters</h2>
<table id="clusters"><thead><tr><th>cluster</th><th>last seen</th><th>owners</th><th>containers</th><th>backlog</th><th>failed</th><th>critical</th><th>high</th><th>top failing config checks (owners)</th></tr></thead><tbody></tbody></table>
<script>
const $ = (id) => document.getElementById(id);
$('token').value = sessionStorage.getItem('fleetview-token') || '';
$('token').addEventListener('change', () => { sessionStorage.setItem('fleetview-token', $('token').value); refresh(); });
async function api(path) {
  const headers = $('token').value ? { authorization: 'Bearer ' + $('token').value } : {};
  const res = await fetch(path, { headers });
  const body = await res.json();
  if (!res.ok) throw new Error((body.error && body.error.message) || res.statusText);
  return body;
}
function fill(table, rows, cols) {
  const tbody = $(table).querySelector('tbody');
  tbody.replaceChildren(...rows.map((r) => {
    const tr = document.createElement('tr');
    for (const c of cols) {
      const td = document.createElement('td');
      td.textContent = r[c] == null ? '' : String(r[c]);
      if (c === 'severity') td.className = String(r[c]);
      tr.append(td);
    }
    return tr;
  }));
}
function searchQuery() {
  const q = new URLSearchParams();
  if ($('cluster').value) q.set('cluster', $('cluster').value);
  if ($('severity').value) q.set('severity', $('severity').value);
  if ($('fixable').checked) q.set('fixable', 'true');
  return q;
}
$('search').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('error').textContent = '';
  const id = encodeURIComponent($('cve').value.trim());
  const q = searchQuery();
  q.set('limit', '500');
  try {
    const page = await api('/v1/vulnerabilities/' + id + '/workloads?' + q);
    $('summary').textContent = page.total + ' workload container(s) run ' + decodeURIComponent(id);
    fill('workloads', page.items, ['cluster', 'namespace', 'kind', 'name', 'container', 'image', 'severity', 'pkg', 'installed', 'fixed']);
    q.set('format', 'csv'); q.set('limit', '10000');
    $('csv').href = '/v1/vulnerabilities/' + id + '/workloads?' + q;
  } catch (err) { $('error').textContent = err.message; }
});
$('image').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('error').textContent = '';
  const digest = $('digest').value.trim();
  try {
    const page = await api('/v1/images/' + encodeURIComponent(digest) + '/workloads?limit=500');
    $('image-summary').textContent = page.total + ' workload container(s) run it; ' + page.findings.length + ' finding(s)';
    fill('image-workloads', page.items, ['cluster', 'namespace', 'kind', 'name', 'container', 'image', 'status', 'scannedAt', 'critical', 'high']);
    fill('image-findings', page.findings, ['id', 'severity', 'pkg', 'installed', 'fixed', 'title']);
  } catch (err) { $('error').textContent = err.message; }
});
$('news').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('error').textContent = '';
  const q = new URLSearchParams({ limit: '200' });
  // A DB version as the API gives it (firstDb), or a time: the datetime-local input is local time.
  if ($('sincedb').value.trim()) q.set('sinceDb', $('sincedb').value.trim());
  else q.set('since', new Date($('since').value || Date.now() - 7 * 86400e3).toISOString());
  try {
    const page = await api('/v1/new?' + q);
    $('news-summary').textContent = page.total + ' finding(s) in running images';
    fill('new', page.items, ['id', 'severity', 'firstSeen', 'firstDb', 'cluster', 'namespace', 'image', 'pkg', 'fixed', 'workloads']);
  } catch (err) { $('error').textContent = err.message; }
});
async function refresh() {
  try {
    fill('fixfirst', (await api('/v1/fix-first?limit=20')).items, ['digest', 'images', 'critical', 'high', 'workloads', 'clusters']);
    const clusters = (await api('/v1/clusters')).items.map((c) => ({
      ...c, checks: c.topFailingChecks.slice(0, 5).map((k) => k.id + ' (' + k.owners + ')').join(', '),
    }));
    fill('clusters', clusters, ['cluster', 'lastSeen', 'owners', 'containers', 'backlog', 'failed', 'critical', 'high', 'checks']);
  } catch (err) { $('error').textContent = err.message; }
}
refresh();
</script>
</body>
</html>
`;
