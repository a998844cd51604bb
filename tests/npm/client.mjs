// The official openai npm client against 'routevm serve' (run by
// tests/suites/openai_npm.sh, which starts the mock provider and the
// gateway and installs this directory's locked dependencies under build/).
// Usage: node client.mjs BASE_URL KEY
// Prints one line per case: "PASS openai_npm/NAME" or "FAIL openai_npm/NAME: why".
import OpenAI from 'openai';

const [baseURL, key] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: key, maxRetries: 0, timeout: 20000 });
const hello = [{ role: 'user', content: 'hello' }];

async function check(name, fn) {
  try {
    const why = await fn();
    console.log(why ? `FAIL openai_npm/${name}: ${why}` : `PASS openai_npm/${name}`);
  } catch (e) {
    console.log(`FAIL openai_npm/${name}: ${e && e.constructor ? e.constructor.name : ''} ${e && e.message}`);
  }
}

// the status and error code of a request that must fail
async function refusal(fn) {
  try {
    await fn();
  } catch (e) {
    return { cls: e.constructor.name, status: e.status, code: e.code, type: e.type };
  }
  return null;
}

await check('models', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  ids.sort();
  const want = 'billing,capped,frugal,lavish,limited,outage,support,thrifty';
  return ids.join(',') === want ? null : `got ${ids.join(',')}, expected ${want}`;
});

await check('json-answer', async () => {
  const { data, response } = await client.chat.completions
    .create({ model: 'support', messages: hello })
    .withResponse();
  const c = data.choices[0];
  if (c.message.content !== 'Hi there! My SSN is [ssn].') return `content ${JSON.stringify(c.message.content)}`;
  if (c.finish_reason !== 'stop') return `finish ${c.finish_reason}`;
  if (data.usage.prompt_tokens !== 12 || data.usage.completion_tokens !== 9) return `usage ${JSON.stringify(data.usage)}`;
  if (response.headers.get('x-routevm-model') !== 'mini') return `x-routevm-model ${response.headers.get('x-routevm-model')}`;
  if (!/^req-/.test(data.id)) return `id ${data.id}`;
  return null;
});

await check('stream-answer', async () => {
  const stream = await client.chat.completions.create({
    model: 'support', messages: hello, stream: true, stream_options: { include_usage: true },
  });
  let text = '', usage = null, finish = null, chunks = 0;
  for await (const ch of stream) {
    chunks++;
    if (ch.usage) usage = ch.usage;
    const c = ch.choices[0];
    if (c && c.delta && c.delta.content) text += c.delta.content;
    if (c && c.finish_reason) finish = c.finish_reason;
  }
  if (text !== 'Hi there! My SSN is [ssn].') return `text ${JSON.stringify(text)}`;
  if (finish !== 'stop') return `finish ${finish}`;
  if (!usage || usage.prompt_tokens !== 12 || usage.completion_tokens !== 9) return `usage ${JSON.stringify(usage)}`;
  return chunks > 3 ? null : `only ${chunks} chunks`;
});

await check('stream-helper', async () => {
  // the client's higher-level stream helper assembles the same answer
  const runner = client.chat.completions.stream({ model: 'support', messages: hello });
  const done = await runner.finalChatCompletion();
  const t = done.choices[0].message.content;
  return t === 'Hi there! My SSN is [ssn].' ? null : `content ${JSON.stringify(t)}`;
});

await check('unknown-agent', async () => {
  const r = await refusal(() => client.chat.completions.create({ model: 'nope', messages: hello }));
  if (!r) return 'answered';
  return r.cls === 'NotFoundError' && r.status === 404 && r.code === 'model_not_found' ? null : JSON.stringify(r);
});

await check('bad-key', async () => {
  const bad = new OpenAI({ baseURL, apiKey: 'sk-not-a-key', maxRetries: 0, timeout: 20000 });
  const r = await refusal(() => bad.chat.completions.create({ model: 'support', messages: hello }));
  if (!r) return 'answered';
  return r.cls === 'AuthenticationError' && r.status === 401 && r.code === 'invalid_api_key' ? null : JSON.stringify(r);
});

await check('budget-refused', async () => {
  const r = await refusal(() => client.chat.completions.create({ model: 'capped', messages: hello }));
  if (!r) return 'answered';
  return r.cls === 'RateLimitError' && r.status === 429 && r.code === 'budget_exceeded' ? null : JSON.stringify(r);
});
