// The official OpenAI client against `radseek serve`: chat (plain and streaming, with reasoning_content
// and usage), completions, logprobs, json_schema, thinking budgets and error shapes.
//   node client_test.cjs BASE_URL CACHE_DIR
const assert = require('node:assert/strict');
const path = require('node:path');
const [base, cache] = process.argv.slice(2);
const { OpenAI } = require(path.join(cache, 'node_modules', 'openai'));
const client = new OpenAI({ baseURL: base + '/v1', apiKey: process.env.RADSEEK_TEST_KEY || 'unused', maxRetries: 0 });

const user = (content) => [{ role: 'user', content }];
const checks = [];
const check = (name, fn) => checks.push([name, fn]);

check('models', async () => {
  const models = await client.models.list();
  assert.equal(models.data.length, 1);
  assert.equal(models.data[0].id, 'tiny');
});

check('chat: reasoning apart from the answer, usage, budget', async () => {
  const r = await client.chat.completions.create({
    model: 'tiny', messages: user('Findings: small left effusion.'), max_tokens: 24, temperature: 0,
    max_reasoning_tokens: 5,
  });
  const c = r.choices[0];
  assert.equal(r.object, 'chat.completion');
  assert.equal(c.message.role, 'assistant');
  assert.equal(typeof c.message.reasoning_content, 'string');
  assert.ok(['stop', 'length'].includes(c.finish_reason));
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  assert.ok(r.usage.completion_tokens <= 24);
  // The template opens <think>; the budget closes it after 5 tokens plus the forced "\n</think>".
  assert.equal(r.usage.completion_tokens_details.reasoning_tokens, 7);
});

check('chat: streaming deltas equal the non-streamed message', async () => {
  const req = { model: 'tiny', messages: user('Impression: no acute disease.'), max_tokens: 20, temperature: 0,
                max_reasoning_tokens: 4 };
  const whole = await client.chat.completions.create(req);
  const stream = await client.chat.completions.create({ ...req, stream: true, stream_options: { include_usage: true } });
  let reasoning = '', content = '', finish = null, usage = null, chunks = 0;
  for await (const ch of stream) {
    chunks++;
    if (ch.usage) usage = ch.usage;
    if (!ch.choices.length) continue;
    assert.equal(ch.object, 'chat.completion.chunk');
    reasoning += ch.choices[0].delta.reasoning_content || '';
    content += ch.choices[0].delta.content || '';
    if (ch.choices[0].finish_reason) finish = ch.choices[0].finish_reason;
  }
  assert.ok(chunks > 2);
  assert.equal(reasoning, whole.choices[0].message.reasoning_content || '');
  assert.equal(content, whole.choices[0].message.content);
  assert.equal(finish, whole.choices[0].finish_reason);
  // Same tokens; only prompt_tokens_details.cached_tokens may differ (the prefix cache hit the second time).
  for (const k of ['prompt_tokens', 'completion_tokens', 'total_tokens']) assert.equal(usage[k], whole.usage[k], k);
  assert.deepEqual(usage.completion_tokens_details, whole.usage.completion_tokens_details);
  assert.ok(usage.prompt_tokens_details.cached_tokens > 0, 'the repeated prompt should hit the prefix cache');
});

check('chat: seeded sampling is reproducible', async () => {
  const req = { model: 'tiny', messages: user('x'), max_tokens: 12, temperature: 0.9, seed: 42 };
  const a = await client.chat.completions.create(req);
  const b = await client.chat.completions.create(req);
  assert.equal(a.choices[0].message.reasoning_content, b.choices[0].message.reasoning_content);
});

check('chat: logprobs of the answer tokens', async () => {
  const r = await client.chat.completions.create({
    model: 'tiny', messages: user('y'), max_tokens: 12, temperature: 0, logprobs: true, top_logprobs: 3,
    max_reasoning_tokens: 2,
  });
  const lp = r.choices[0].logprobs.content;
  assert.ok(lp.length > 0);
  for (const t of lp) {
    assert.ok(t.logprob <= 0);
    assert.equal(t.top_logprobs.length, 3);
    assert.ok(t.top_logprobs[0].logprob >= t.top_logprobs[1].logprob);
    assert.ok(Array.isArray(t.bytes));
  }
});

check('chat: json_schema answer after the reasoning', async () => {
  const schema = { type: 'object', properties: { effusion: { enum: ['present', 'absent', 'uncertain'] },
                   size_mm: { type: 'integer' } }, required: ['effusion', 'size_mm'] };
  for (const temperature of [0, 0.8]) {
    const r = await client.chat.completions.create({
      model: 'tiny', messages: user('Report: ...'), max_tokens: 200, temperature, seed: 3, reasoning_effort: 'low',
      max_reasoning_tokens: 4, response_format: { type: 'json_schema', json_schema: { name: 'finding', schema } },
    });
    const doc = JSON.parse(r.choices[0].message.content);
    assert.ok(['present', 'absent', 'uncertain'].includes(doc.effusion), r.choices[0].message.content);
    assert.ok(Number.isInteger(doc.size_mm));
    assert.equal(r.choices[0].finish_reason, 'stop');
  }
});

check('completions: text and token-id prompts, stop strings', async () => {
  const r = await client.completions.create({ model: 'tiny', prompt: 'The heart', max_tokens: 10, temperature: 0 });
  assert.equal(r.object, 'text_completion');
  assert.equal(typeof r.choices[0].text, 'string');
  const ids = await client.completions.create({ model: 'tiny', prompt: [0, 30, 40, 50], max_tokens: 8, temperature: 0,
                                                return_token_ids: true });
  assert.equal(ids.choices[0].token_ids.length, ids.usage.completion_tokens);
  const text = ids.choices[0].text;
  if (text.length > 2) {
    const stop = text.slice(1, 3);
    const cut = await client.completions.create({ model: 'tiny', prompt: [0, 30, 40, 50], max_tokens: 8, temperature: 0, stop });
    assert.equal(cut.choices[0].text, text.slice(0, text.indexOf(stop)));
    assert.equal(cut.choices[0].finish_reason, 'stop');
  }
});

check('errors: OpenAI shape and status', async () => {
  const expectError = async (req, status, param) => {
    try {
      await client.chat.completions.create(req);
      assert.fail('accepted ' + JSON.stringify(req));
    } catch (e) {
      assert.equal(e.status, status, String(e));
      assert.equal(e.error.type, status === 429 ? 'rate_limit_error' : 'invalid_request_error');
      if (param) assert.equal(e.error.param, param);
    }
  };
  await expectError({ model: 'tiny', messages: [] }, 400, 'messages');
  await expectError({ model: 'tiny', messages: user('x'), temperature: 'warm' }, 400, 'temperature');
  await expectError({ model: 'tiny', messages: user('x'), max_tokens: 100000 }, 400, 'max_tokens');
  await expectError({ model: 'tiny', messages: [{ role: 'oracle', content: 'x' }] }, 400, 'messages[0].role');
  await expectError({ model: 'tiny', messages: user('x'),
                      response_format: { type: 'json_schema', json_schema: { name: 'n', schema: { type: 'set' } } } },
                    400, 'response_format');
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
