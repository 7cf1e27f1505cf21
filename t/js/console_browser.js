// Drives the web console in a real headless Chromium over the DevTools
// protocol (--remote-debugging-pipe: NUL-separated JSON on fds 3 and 4,
// so no npm package and no WebSocket).  For t/console_browser.t.
//
//   node console_browser.js <chromium> <base url> <out dir> [user password]
//
// Prints one JSON line per step ({step, ok, ...}), a {screenshot: path}
// line per page, and last {errors: [...]}: every console error, uncaught
// exception, CSP report, failed request and HTTP status >= 400 the page
// saw.  Exits 0 when every step passed and there was no error.
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');

const [chromium, base, outDir, user, password] = process.argv.slice(2);
const errors = [];
let failed = 0;

function out(o) {
  process.stdout.write(JSON.stringify(o) + '\n');
}

// ---- the DevTools protocol over a pipe ---------------------------------

const profile = fs.mkdtempSync(path.join(outDir, 'chromium-'));
const browser = spawn(chromium, [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
  '--no-first-run', '--no-default-browser-check', '--disable-extensions',
  '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--metrics-recording-only', '--mute-audio',
  '--remote-debugging-pipe', '--user-data-dir=' + profile,
  '--window-size=1280,900', 'about:blank',
], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });

let stderr = '';
browser.stderr.on('data', (d) => { stderr += d; });
browser.on('exit', (code, sig) => {
  if (!finished) {
    out({ step: 'browser', ok: false, why: `chromium exited ${code} ${sig}`,
          stderr: stderr.slice(-2000) });
    process.exit(1);
  }
});

let nextId = 1;
const waiting = new Map();
const listeners = [];
let inbuf = Buffer.alloc(0);
let finished = false;

browser.stdio[4].on('data', (chunk) => {
  inbuf = Buffer.concat([inbuf, chunk]);
  let z;
  while ((z = inbuf.indexOf(0)) >= 0) {
    const msg = JSON.parse(inbuf.subarray(0, z).toString('utf8'));
    inbuf = inbuf.subarray(z + 1);
    if (msg.id && waiting.has(msg.id)) {
      const { resolve, reject, method } = waiting.get(msg.id);
      waiting.delete(msg.id);
      if (msg.error) {
        reject(new Error(method + ': ' + msg.error.message));
      } else {
        resolve(msg.result);
      }
    } else if (msg.method) {
      listeners.forEach((fn) => fn(msg));
    }
  }
});

function send(method, params, sessionId) {
  const id = nextId++;
  const msg = { id, method, params: params || {} };
  if (sessionId) {
    msg.sessionId = sessionId;
  }
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject, method });
    browser.stdio[3].write(JSON.stringify(msg) + '\0');
  });
}

// ---- the page ----------------------------------------------------------

let session;

function cdp(method, params) {
  return send(method, params, session);
}

async function evaluate(expr) {
  const r = await cdp('Runtime.evaluate', {
    expression: expr, awaitPromise: true, returnByValue: true,
  });
  if (r.exceptionDetails) {
    throw new Error('in page: ' + (r.exceptionDetails.exception
      ? r.exceptionDetails.exception.description : r.exceptionDetails.text));
  }
  return r.result.value;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// a condition the page reaches after an action; 10 s is a deadline for a
// hung page, not a performance bound
async function waitFor(expr, what) {
  const end = Date.now() + 10000;
  for (;;) {
    const v = await evaluate(expr);
    if (v) {
      return v;
    }
    if (Date.now() > end) {
      const text = await evaluate('document.body.innerText.slice(0, 1500)');
      throw new Error('timed out waiting for ' + (what || expr)
                      + '; the page shows:\n' + text);
    }
    await sleep(50);
  }
}

// the view is rendered and holds text
function ready(page, text) {
  return waitFor(`document.body && document.body.dataset.page === ${JSON.stringify(page)}
    && document.getElementById('view').dataset.state === 'ready'
    && document.getElementById('view').innerText.includes(${JSON.stringify(text || '')})`,
    `page ${page} showing "${text || ''}"`);
}

async function open(hash) {
  await evaluate(`location.hash = ${JSON.stringify(hash)}; true`);
}

// DOM actions through the page's own elements
const js = {
  fill: (sel, v) => `(function () {
    var el = document.querySelector(${JSON.stringify(sel)});
    if (!el) { throw new Error('no ' + ${JSON.stringify(sel)}); }
    el.value = ${JSON.stringify(v)};
    el.dispatchEvent(new Event('input', {bubbles: true}));
    el.dispatchEvent(new Event('change', {bubbles: true}));
    return true; })()`,
  // the first button whose text starts so, inside scope (a selector) or
  // inside the table row holding rowText
  click: (text, scope, rowText) => `(function () {
    var root = document, rows, i, b;
    if (${JSON.stringify(rowText || '')}) {
      rows = Array.prototype.filter.call(document.querySelectorAll('#view tr'),
        function (r) { return r.innerText.includes(${JSON.stringify(rowText || '')}); });
      if (!rows.length) { throw new Error('no row with ' + ${JSON.stringify(rowText || '')}); }
      root = rows[0];
    } else if (${JSON.stringify(scope || '')}) {
      root = document.querySelector(${JSON.stringify(scope || '')});
    }
    b = Array.prototype.filter.call(root.querySelectorAll('button, a'),
      function (x) { return x.textContent.trim().indexOf(${JSON.stringify(text)}) === 0; });
    if (!b.length) { throw new Error('no button ' + ${JSON.stringify(text)}); }
    b[0].click();
    return true; })()`,
  submit: (sel) => `(function () {
    document.querySelector(${JSON.stringify(sel)}).requestSubmit(); return true; })()`,
};

const shots = [];

const viewText = () => evaluate("document.getElementById('view').innerText");

async function shot(name) {
  const r = await cdp('Page.captureScreenshot', { format: 'png' });
  const file = path.join(outDir, name + '.png');
  fs.writeFileSync(file, Buffer.from(r.data, 'base64'));
  shots.push(file);
  out({ screenshot: file, page: name });
}

// a page that only shows: open it, wait for text, a screenshot
async function visit(page, hash, text) {
  await open(hash);
  await ready(page, text);
  await shot(page);
  return viewText();
}

// the diff the console shows before it publishes
async function reviewDiff() {
  await waitFor("!!document.getElementById('diff')", 'the diff');
  return evaluate("document.getElementById('diff').innerText");
}

async function step(name, fn) {
  try {
    const data = await fn();
    out({ step: name, ok: true, data });
  } catch (e) {
    failed++;
    out({ step: name, ok: false, why: String(e.message || e) });
    throw e;
  }
}

// the HTTP API, as an SDK calls it, for what the test does behind the
// console and for checking what the console did
async function api(method, p, params) {
  if (user) {
    // as the npm SDK does: the user and password with every call
    params = Object.assign({ username: user, password }, params);
  }
  const q = new URLSearchParams(params).toString();
  const res = method === 'GET'
    ? await fetch(`${base}${p}?${q}`)
    : await fetch(`${base}${p}`, {
      method, body: q,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
  const text = await res.text();
  if (!res.ok) {
    throw new Error(`${method} ${p}: ${res.status} ${text}`);
  }
  return text;
}

// ---- the scenario ------------------------------------------------------

// the one failed request a step means to make ({url, status, seen})
let expected = null;

const NS = 'console-ns';
const KEY = { dataId: 'app.yaml', group: 'DEFAULT_GROUP', tenant: NS };

async function scenario() {
  const t = await send('Target.createTarget', { url: 'about:blank' });
  const a = await send('Target.attachToTarget',
                       { targetId: t.targetId, flatten: true });
  session = a.sessionId;

  listeners.push((m) => {
    const p = m.params || {};
    if (m.sessionId !== session) {
      return;
    }
    if (m.method === 'Runtime.consoleAPICalled'
        && (p.type === 'error' || p.type === 'assert')) {
      errors.push({ console: p.type,
                    text: p.args.map((x) => x.value || x.description).join(' ') });
    } else if (m.method === 'Runtime.exceptionThrown') {
      errors.push({ exception: p.exceptionDetails.exception
        ? p.exceptionDetails.exception.description : p.exceptionDetails.text });
    } else if (m.method === 'Log.entryAdded' && p.entry.level === 'error') {
      if (expected && p.entry.source === 'network' && p.entry.url
          && p.entry.url.includes(expected.url)
          && p.entry.text.includes(String(expected.status))) {
        expected.seen.push(p.entry.text);
        return;
      }
      errors.push({ log: p.entry.source, text: p.entry.text, url: p.entry.url });
    } else if (m.method === 'Network.loadingFailed') {
      errors.push({ failed: p.errorText, blocked: p.blockedReason });
    } else if (m.method === 'Network.responseReceived'
               && p.response.status >= 400) {
      if (expected && p.response.url.includes(expected.url)
          && p.response.status === expected.status) {
        expected.seen.push(p.response.status);
        return;
      }
      errors.push({ status: p.response.status, url: p.response.url });
    }
  });

  await cdp('Page.enable');
  await cdp('Runtime.enable');
  await cdp('Log.enable');
  await cdp('Network.enable');
  await cdp('Emulation.setDeviceMetricsOverride',
            { width: 1280, height: 900, deviceScaleFactor: 1, mobile: false });

  await step('load', async () => {
    // with authentication on, the first call has no token: its 403 is
    // what sends the console to its login page
    expected = user ? { url: '/v1/console/namespaces', status: 403, seen: [] }
                    : null;
    await cdp('Page.navigate', { url: base + '/' });
    await waitFor(`document.readyState === 'complete' && document.body
      && document.body.dataset.page
      && document.getElementById('view').dataset.state !== 'loading'`, 'the first page');
    const page = await evaluate('document.body.dataset.page');
    if (user && (page !== 'login' || !expected.seen.length)) {
      throw new Error(`auth on: the first page is ${page}, not the login`);
    }
    expected = null;
    return page;
  });

  // the login page; with authentication on, the first page was it
  await step('login', async () => {
    const needed = await evaluate("document.body.dataset.page === 'login'");
    await open('#/login');
    await ready('login', 'Log in');
    await shot('login');
    if (!needed) {
      // a login anyway: the server has no login route, and says so
      expected = { url: '/v1/auth/users/login', status: 404, seen: [] };
      await evaluate(js.fill('#login-form [name=username]', 'someone'));
      await evaluate(js.fill('#login-form [name=password]', 'something'));
      await evaluate(js.submit('#login-form'));
      await waitFor(`document.getElementById('msg').innerText
        .includes('authentication is off')`, 'the answer to a login');
      const seen = expected.seen;
      expected = null;
      if (!seen.length) {
        throw new Error('no login request was made');
      }
      return 'authentication is off: no login needed';
    }
    if (!user) {
      throw new Error('the server asks for a login and the test has no user');
    }
    await evaluate(js.fill('#login-form [name=username]', user));
    await evaluate(js.fill('#login-form [name=password]', password));
    await evaluate(js.submit('#login-form'));
    await waitFor("!!sessionStorage.getItem('nd.token')", 'a token');
    // the console then loads the namespaces and leaves the login page on
    // its own: wait for that, or it would undo the next step's navigation
    await waitFor(`document.body.dataset.page !== 'login'
      && document.getElementById('view').dataset.state !== 'loading'`,
      'the page after the login');
    return 'logged in';
  });

  await step('create namespace', async () => {
    await open('#/namespaces');
    await ready('namespaces', 'Default Namespace');
    await evaluate(js.fill('#ns-create [name=customNamespaceId]', NS));
    await evaluate(js.fill('#ns-create [name=namespaceName]', 'Console NS'));
    await evaluate(js.fill('#ns-create [name=namespaceDesc]', 'made in a browser'));
    await evaluate(js.submit('#ns-create'));
    await ready('namespaces', 'made in a browser');
    // edit it
    await evaluate(js.click('Edit', null, NS));
    await evaluate(`(function () { var i = Array.prototype.filter.call(
      document.querySelectorAll('#view tr'), function (r) {
        return r.innerText.includes(${JSON.stringify(NS)}); })[0]
      .querySelector('input[name=desc]'); i.value = 'edited in a browser'; return true; })()`);
    await evaluate(js.click('Save', null, NS));
    await ready('namespaces', 'edited in a browser');
    await shot('namespaces');
    const list = JSON.parse(await api('GET', '/v1/console/namespaces', {}));
    const mine = list.data.find((n) => n.namespace === NS);
    if (!mine || mine.namespaceDesc !== 'edited in a browser') {
      throw new Error('the API does not show the edit: ' + JSON.stringify(mine));
    }
    // work in it from here on
    await evaluate(`(function () { var s = document.getElementById('ns');
      s.value = ${JSON.stringify(NS)}; s.dispatchEvent(new Event('change'));
      return s.value; })()`);
    return mine;
  });

  await step('publish a config', async () => {
    await open('#/config');
    await ready('config', 'New config');
    await evaluate(js.fill('#config-form [name=dataId]', KEY.dataId));
    await evaluate(js.fill('#config-form [name=type]', 'yaml'));
    await evaluate(js.fill('#config-form [name=content]', 'a: 1\nb: 2\n'));
    await evaluate(js.submit('#config-form'));
    const diff = await reviewDiff();
    if (!diff.includes('+ a: 1') || !diff.includes('+ b: 2')) {
      throw new Error('diff of a new config: ' + diff);
    }
    await evaluate(js.click('Publish', '#review'));
    await ready('configs', KEY.dataId);
    await shot('configs');
    const got = await api('GET', '/v1/cs/configs', KEY);
    if (got !== 'a: 1\nb: 2\n') {
      throw new Error('published content: ' + JSON.stringify(got));
    }
    return diff;
  });

  await step('search and paging', async () => {
    for (let i = 1; i <= 11; i++) {
      await api('POST', '/v1/cs/configs', { dataId: `page-${i}.txt`,
        group: 'PAGING', tenant: NS, content: `n=${i}` });
    }
    await open('#/configs?dataId=page-&pageSize=10');
    await ready('configs', 'page 1 of 2, 11 in all');
    const rows1 = await evaluate("document.querySelectorAll('#view tbody tr').length");
    await evaluate(js.click('Next', '#view .pager'));
    await ready('configs', 'page 2 of 2, 11 in all');
    const rows2 = await evaluate("document.querySelectorAll('#view tbody tr').length");
    if (rows1 !== 10 || rows2 !== 1) {
      throw new Error(`rows on the pages: ${rows1}, ${rows2}`);
    }
    await open('#/configs?dataId=app');
    await ready('configs', 'page 1 of 1, 1 in all');
    return [rows1, rows2];
  });

  await step('edit with a diff', async () => {
    await evaluate(js.click('Edit', null, KEY.dataId));
    await ready('config', 'Config ' + KEY.dataId);
    await evaluate(js.fill('#config-form [name=content]', 'a: 1\nb: 3\n'));
    await evaluate(js.submit('#config-form'));
    const diff = await reviewDiff();
    if (diff !== '  a: 1\n- b: 2\n+ b: 3') {
      throw new Error('diff of the edit: ' + JSON.stringify(diff));
    }
    await shot('config-diff');
    await evaluate(js.click('Publish', '#review'));
    await ready('configs', KEY.dataId);
    return diff;
  });

  await step('roll back', async () => {
    await open('#/history?dataId=app.yaml&group=DEFAULT_GROUP');
    await ready('history', 'History of');
    // the update's history row holds the content it replaced
    await evaluate(js.click('View', null, '\tU\t'));
    await waitFor(`document.getElementById('history-detail').innerText.includes('b: 2')`,
                  'the old version');
    await evaluate(js.click('Roll back', '#history-detail'));
    const diff = await reviewDiff();
    if (diff !== '  a: 1\n- b: 3\n+ b: 2') {
      throw new Error('diff of the rollback: ' + JSON.stringify(diff));
    }
    await shot('history');
    await evaluate(js.click('Confirm rollback', '#history-detail'));
    await ready('config', 'Config ' + KEY.dataId);
    const got = await api('GET', '/v1/cs/configs', KEY);
    if (got !== 'a: 1\nb: 2\n') {
      throw new Error('content after the rollback: ' + JSON.stringify(got));
    }
    return got;
  });

  await step('beta', async () => {
    await evaluate(js.fill('#config-form [name=content]', 'a: beta\n'));
    await evaluate(js.fill('#config-form [name=betaIps]', '10.1.1.1'));
    await evaluate(js.submit('#config-form'));
    await reviewDiff();
    await evaluate(js.click('Publish', '#review'));
    await waitFor(`!!document.getElementById('beta')
      && document.getElementById('beta').innerText.includes('a: beta')`, 'the beta');
    await shot('config-beta');
    const beta = JSON.parse(await api('GET', '/v1/cs/configs',
                                      { ...KEY, beta: 'true' }));
    if (beta.data.betaIps !== '10.1.1.1') {
      throw new Error('beta: ' + JSON.stringify(beta));
    }
    await evaluate(js.click('Stop beta', '#beta'));
    await waitFor(`document.getElementById('view').dataset.state === 'ready'
      && !document.getElementById('beta')`, 'the beta gone');
    return beta.data;
  });

  await step('tag', async () => {
    await evaluate(js.fill('#config-form [name=content]', 'a: blue\n'));
    await evaluate(js.fill('#config-form [name=tag]', 'blue'));
    await evaluate(js.submit('#config-form'));
    await reviewDiff();
    await evaluate(js.click('Publish', '#review'));
    await waitFor(`document.getElementById('msg').innerText.includes('Published')
      && document.getElementById('view').dataset.state === 'ready'`, 'the tag published');
    const got = [await api('GET', '/v1/cs/configs', { ...KEY, tag: 'blue' }),
                 await api('GET', '/v1/cs/configs', KEY)];
    if (got[0] !== 'a: blue\n' || got[1] !== 'a: 1\nb: 2\n') {
      throw new Error('tag and formal versions: ' + JSON.stringify(got));
    }
    return got;
  });

  await step('listeners', () => visit('listeners', '#/listeners?dataId=app.yaml&group=DEFAULT_GROUP', '127.0.0.1'));

  await step('service detail', async () => {
    await api('POST', '/v1/ns/instance', {
      serviceName: 'orders', ip: '10.0.0.7', port: '8080', namespaceId: NS,
      clusterName: 'c1', metadata: '{"zone":"a"}',
    });
    await open('#/services');
    await ready('services', 'orders');
    await shot('services');
    await evaluate(js.click('Detail', null, 'orders'));
    await ready('service', '10.0.0.7');
    await waitFor(`document.getElementById('view').innerText.includes('"zone":"a"')`,
                  'the metadata');
    // edit weight, enabled, metadata
    await evaluate(js.click('Edit', null, '10.0.0.7'));
    await evaluate(js.fill('#view input[name=weight]', '3'));
    await evaluate(`(function () { document.querySelector('#view input[name=enabled]')
      .checked = false; return true; })()`);
    await evaluate(js.fill('#view input[name=metadata]', '{"zone":"b"}'));
    await evaluate(js.click('Save', null, '10.0.0.7'));
    await ready('service', '"zone":"b"');
    await shot('service');
    const list = JSON.parse(await api('GET', '/v1/ns/catalog/instances', {
      serviceName: 'orders', groupName: 'DEFAULT_GROUP', namespaceId: NS,
      clusterName: 'c1', pageNo: '1', pageSize: '10',
    })).list;
    if (list.length !== 1 || list[0].weight !== 3 || list[0].enabled !== false
        || list[0].metadata.zone !== 'b') {
      throw new Error('instance after the edit: ' + JSON.stringify(list));
    }
    return viewText();
  });

  await step('cluster', () => visit('cluster', '#/cluster', 'UP'));

  await step('connections', () => visit('connections', '#/connections', 'Nacos-Java-Client'));

  await step('diff', async () => {
    const r = await evaluate(`JSON.stringify([
      ndDiff.lines('', ''), ndDiff.lines('a\\nb\\n', 'a\\nb\\n'),
      ndDiff.lines('a\\nb\\nc', 'a\\nx\\nc\\nd'), ndDiff.lines('x', '')
    ].map(function (d) { return d.map(function (l) { return l.op + l.text; }).join('|'); }))`);
    const want = JSON.stringify(['', ' a| b', ' a|-b|+x| c|+d', '-x']);
    if (r !== want) {
      throw new Error(`ndDiff: ${r}, expected ${want}`);
    }
    return r;
  });
}

async function main() {
  try {
    await scenario();
  } catch (e) {
    if (!failed) {
      failed++;
      out({ step: 'scenario', ok: false, why: String(e.stack || e) });
    }
  }
  out({ errors });
  finished = true;
  const gone = new Promise((r) => browser.once('exit', r));
  send('Browser.close').catch(() => browser.kill('SIGKILL'));
  await Promise.race([gone, sleep(5000)]);
  browser.kill('SIGKILL');
  fs.rmSync(profile, { recursive: true, force: true });
  process.exit(failed || errors.length ? 1 : 0);
}

main();
