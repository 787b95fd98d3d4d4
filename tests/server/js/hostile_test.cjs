// Malformed and hostile requests over raw sockets and fetch: each gets an error in the OpenAI shape
// (or a closed connection), and the server keeps serving. A client that disconnects mid-stream is
// counted as cancelled (status 499 in /metrics).
//   node hostile_test.cjs BASE_URL
const assert = require('node:assert/strict');
const net = require('node:net');
const [base] = process.argv.slice(2);
const url = new URL(base);
const auth = process.env.RADSEEK_TEST_KEY ? { Authorization: 'Bearer ' + process.env.RADSEEK_TEST_KEY } : {};

async function post(path, body, headers = {}) {
  const r = await fetch(base + path, { method: 'POST', body, headers: { 'Content-Type': 'application/json', ...auth, ...headers } });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch (e) {}
  return { status: r.status, json, text, headers: r.headers };
}

// Sends raw bytes and resolves with what came back when the server closes (or after ms).
function raw(bytes, ms = 3000) {
  return new Promise((resolve) => {
    const s = net.connect(Number(url.port), url.hostname);
    let got = '';
    s.on('data', (d) => { got += d.toString('latin1'); });
    s.on('close', () => resolve({ got, closed: true }));
    s.on('error', () => resolve({ got, closed: true }));
    s.write(bytes);
    setTimeout(() => { s.destroy(); resolve({ got, closed: false }); }, ms);
  });
}

const checks = [];
const check = (name, fn) => checks.push([name, fn]);
const isError = (r, status) => {
  assert.equal(r.status, status, r.text.slice(0, 200));
  assert.ok(r.json && r.json.error && typeof r.json.error.message === 'string', r.text.slice(0, 200));
};

check('bad JSON', async () => isError(await post('/v1/chat/completions', '{"messages": [}'), 400));
check('not an object', async () => isError(await post('/v1/chat/completions', '[1,2,3]'), 400));
check('invalid UTF-8', async () => isError(await post('/v1/chat/completions', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), 400));
check('wrong types', async () => {
  const r = await post('/v1/chat/completions', JSON.stringify({ messages: [{ role: 'user', content: 'x' }], max_tokens: '12' }));
  isError(r, 400);
  assert.equal(r.json.error.param, 'max_tokens');
});
check('deep nesting', async () => isError(await post('/v1/chat/completions', '['.repeat(100000) + ']'.repeat(100000)), 400));
check('huge declared length', async () => {
  // httplib answers once its read timeout (10 s) has passed without the announced body.
  const r = await raw('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 999999999\r\n\r\n{', 15000);
  assert.match(r.got, /^HTTP\/1\.1 413/);
});
check('garbage request line', async () => {
  const r = await raw('\x00\x01 GARBAGE /\r\n\r\n');
  assert.ok(r.got === '' || /^HTTP\/1\.1 4\d\d/.test(r.got), r.got.slice(0, 80));
});
check('unknown endpoint', async () => isError(await post('/v1/engines', '{}'), 404));
check('token ids outside the vocabulary', async () => {
  const r = await post('/v1/completions', JSON.stringify({ prompt: [0, 1e9], max_tokens: 2 }));
  isError(r, 400);
  assert.equal(r.json.error.param, 'prompt');
});
check('slow client is cut off, others are served meanwhile', async () => {
  const slow = raw('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n', 25000);  // never finishes its headers
  const r = await fetch(base + '/health');
  assert.equal(r.status, 200);
  const s = await slow;
  assert.ok(s.closed, 'the server should close a connection that stalls mid-headers');
});
check('client disconnecting mid-stream cancels its generation', async () => {
  const ctl = new AbortController();
  const r = await fetch(base + '/v1/chat/completions', {
    method: 'POST', signal: ctl.signal, headers: { 'Content-Type': 'application/json', ...auth },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'write forever' }], max_tokens: 400, stream: true, ignore_eos: true }),
  });
  assert.equal(r.status, 200);
  const reader = r.body.getReader();
  await reader.read();
  ctl.abort();
  for (let i = 0; i < 100; i++) {  // the scheduler notices within a poll interval or a failed write
    const m = await (await fetch(base + '/metrics', { headers: auth })).text();
    if (/radseek_requests_total\{endpoint="\/v1\/chat\/completions",status="499"\} [1-9]/.test(m)) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.fail('no cancelled (499) request in /metrics after the client went away');
});
check('server still serves', async () => {
  const r = await post('/v1/completions', JSON.stringify({ prompt: [0, 5, 6], max_tokens: 3, temperature: 0, ignore_eos: true }));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.usage.completion_tokens, 3);
});

(async () => {
  let failed = 0;
  for (const [name, fn] of checks) {
    try {
      await fn();
      console.log('ok   ' + name);
    } catch (e) {
      failed++;
      console.log('FAIL ' + name + ': ' + (e && e.stack || e));
    }
  }
  process.exit(failed ? 1 : 0);
})();
