// Throughput and time to first token of a running `radseek serve`, at several concurrency levels.
// Streams /v1/completions with a token-id prompt (works on checkpoints without tokenizer.json) and
// counts tokens from `token_ids` (the return_token_ids extension). Not part of ctest: a measurement.
//   node bench.cjs BASE_URL [LEVELS=1,4,16] [MAX_TOKENS=64] [PROMPT_LEN=32] [ROUNDS=2]
const [base, levelsArg, tokensArg, promptArg, roundsArg] = process.argv.slice(2);
const levels = (levelsArg || '1,4,16').split(',').map(Number);
const maxTokens = Number(tokensArg || 64), promptLen = Number(promptArg || 32), rounds = Number(roundsArg || 2);

async function one(i) {
  const prompt = [0, ...Array.from({ length: promptLen - 1 }, (_, k) => 2 + ((k * 31 + i * 17) % 250))];
  const t0 = performance.now();
  const r = await fetch(base + '/v1/completions', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ prompt, max_tokens: maxTokens, temperature: 0, ignore_eos: true, stream: true, return_token_ids: true }),
  });
  if (r.status !== 200) throw new Error('status ' + r.status + ': ' + (await r.text()));
  let ttft = -1, tokens = 0, buf = '';
  const dec = new TextDecoder();
  for await (const part of r.body) {
    buf += dec.decode(part, { stream: true });
    let at;
    while ((at = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, at); buf = buf.slice(at + 2);
      if (!ev.startsWith('data: ') || ev === 'data: [DONE]') continue;
      const n = (JSON.parse(ev.slice(6)).choices[0]?.token_ids || []).length;
      if (n && ttft < 0) ttft = performance.now() - t0;
      tokens += n;
    }
  }
  return { ttft, tokens };
}

(async () => {
  for (const c of levels) {
    const ttfts = [];
    let tokens = 0;
    const t0 = performance.now();
    for (let round = 0; round < rounds; round++) {
      const rs = await Promise.all([...Array(c).keys()].map((i) => one(round * 1000 + i)));
      for (const r of rs) { tokens += r.tokens; ttfts.push(r.ttft); }
    }
    const wall = (performance.now() - t0) / 1000;
    ttfts.sort((a, b) => a - b);
    const pct = (p) => ttfts[Math.min(ttfts.length - 1, Math.floor(p * ttfts.length))];
    console.log(JSON.stringify({ clients: c, requests: c * rounds, completion_tokens: tokens, wall_s: +wall.toFixed(2),
                                 tokens_per_s: +(tokens / wall).toFixed(1), ttft_ms_p50: +pct(0.5).toFixed(1),
                                 ttft_ms_p99: +pct(0.99).toFixed(1) }));
  }
})().catch((e) => { console.error(e); process.exit(1); });
