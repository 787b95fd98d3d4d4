// Bounded load test on loopback: N concurrent streaming clients (official client). Every request
// must succeed, every stream must carry only its own id, and each greedy output must equal the
// same request run alone beforehand.
//   node load_test.cjs BASE_URL CACHE_DIR [CLIENTS] [MAX_TOKENS]
const assert = require('node:assert/strict');
const path = require('node:path');
const [base, cache, clientsArg, tokensArg] = process.argv.slice(2);
const { OpenAI } = require(path.join(cache, 'node_modules', 'openai'));
const client = new OpenAI({ baseURL: base + '/v1', apiKey: process.env.RADSEEK_TEST_KEY || 'unused', maxRetries: 0, timeout: 120000 });
const clients = Number(clientsArg || 32), maxTokens = Number(tokensArg || 24);

const request = (i) => ({
  model: 'tiny', temperature: 0, max_tokens: maxTokens, max_reasoning_tokens: 6,
  messages: [{ role: 'user', content: `Report ${i}: ` + 'lungs clear, '.repeat(1 + (i % 5)) + `case ${i * 7919 % 1000}` }],
});

async function streamOne(i) {
  const t0 = performance.now();
  let ttft = -1, reasoning = '', content = '', ids = new Set(), finish = null;
  const stream = await client.chat.completions.create({ ...request(i), stream: true });
  for await (const ch of stream) {
    ids.add(ch.id);
    const d = ch.choices[0]?.delta || {};
    if (ttft < 0 && (d.reasoning_content || d.content)) ttft = performance.now() - t0;
    reasoning += d.reasoning_content || '';
    content += d.content || '';
    if (ch.choices[0]?.finish_reason) finish = ch.choices[0].finish_reason;
  }
  return { i, reasoning, content, ids, finish, ttft, ms: performance.now() - t0 };
}

(async () => {
  const expected = [];
  for (let i = 0; i < clients; i++) {  // one at a time: the reference outputs
    const r = await client.chat.completions.create(request(i));
    expected.push({ reasoning: r.choices[0].message.reasoning_content || '', content: r.choices[0].message.content,
                    tokens: r.usage.completion_tokens });
  }
  const t0 = performance.now();
  const results = await Promise.allSettled([...Array(clients).keys()].map(streamOne));
  const wall = (performance.now() - t0) / 1000;
  const failures = results.filter((r) => r.status === 'rejected');
  assert.equal(failures.length, 0, 'failed requests: ' + failures.map((f) => String(f.reason)).join('; '));
  let mismatched = 0, tokens = 0;
  const seen = new Set();
  for (const { value: r } of results) {
    assert.equal(r.ids.size, 1, `stream ${r.i} carried chunks of ${r.ids.size} responses`);
    const id = [...r.ids][0];
    assert.ok(!seen.has(id), `two streams share the id ${id}`);
    seen.add(id);
    assert.ok(r.finish === 'stop' || r.finish === 'length');
    tokens += expected[r.i].tokens;
    if (r.reasoning !== expected[r.i].reasoning || r.content !== expected[r.i].content) {
      mismatched++;
      console.log(`stream ${r.i} differs from its sequential run:\n  ${JSON.stringify(r.content)}\n  ${JSON.stringify(expected[r.i].content)}`);
    }
  }
  const ttfts = results.map((r) => r.value.ttft).filter((t) => t >= 0).sort((a, b) => a - b);
  const pct = (p) => ttfts[Math.min(ttfts.length - 1, Math.floor(p * ttfts.length))];
  console.log(JSON.stringify({ clients, ok: results.length - failures.length, mismatched, wall_s: +wall.toFixed(3),
                               tokens_per_s: +(tokens / wall).toFixed(1), ttft_ms_p50: +pct(0.5).toFixed(1),
                               ttft_ms_p99: +pct(0.99).toFixed(1) }));
  assert.equal(mismatched, 0, 'concurrent greedy outputs must equal the sequential ones');
})().catch((e) => { console.log('FAIL ' + (e.stack || e)); process.exit(1); });
