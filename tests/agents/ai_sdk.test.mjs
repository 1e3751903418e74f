// The Vercel AI SDK (`ai` with `@ai-sdk/openai-compatible` and `@ai-sdk/anthropic`) through byok serve to the
// strict mock providers: generateText and streamText, each with a tool the SDK executes and whose result
// goes back in a second step.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { generateText, streamText, tool, jsonSchema, stepCountIs } from 'ai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { createAnthropic } from '@ai-sdk/anthropic';
import { GATEWAY, KEY, chatRequests, resetMocks, script } from './lib.mjs';

beforeEach(resetMocks);

const byok = createOpenAICompatible({ name: 'byok', baseURL: `${GATEWAY}/v1`, apiKey: KEY, includeUsage: true });
const anthropic = createAnthropic({ baseURL: `${GATEWAY}/v1`, apiKey: KEY });

const calls = [];
const tools = {
  get_weather: tool({
    description: 'The current weather in a city',
    inputSchema: jsonSchema({
      type: 'object',
      properties: { city: { type: 'string', description: 'City name' } },
      required: ['city'],
      additionalProperties: false,
    }),
    execute: async ({ city }) => {
      calls.push(city);
      return { city, celsius: 21 };
    },
  }),
};

const TOOL_THEN_TEXT = [
  { tool_call: { name: 'get_weather', arguments: { city: 'Paris' } } },
  { text: 'It is 21 degrees in Paris.' },
];

/** The second upstream request carries the tool's result, in the provider's own format. */
function assertToolResultSent(provider, second) {
  const wire = JSON.stringify(second.body);
  assert.ok(wire.includes('21'), `the tool result reached ${provider}: ${wire.slice(0, 400)}`);
  if (provider === 'google') {
    const parts = second.body.contents.flatMap((c) => c.parts);
    assert.ok(parts.some((p) => p.functionResponse?.name === 'get_weather'));
  } else if (provider === 'anthropic') {
    const blocks = second.body.messages.flatMap((m) => (Array.isArray(m.content) ? m.content : []));
    assert.ok(blocks.some((b) => b.type === 'tool_result'));
  } else {
    assert.ok(second.body.messages.some((m) => m.role === 'tool'));
  }
}

for (const [label, model, provider] of [
  ['openai-compatible → OpenAI', () => byok('openai/gpt-4.1-mini'), 'openai'],
  ['openai-compatible → Anthropic', () => byok('claude-haiku-4-5'), 'anthropic'],
  ['anthropic → Gemini', () => anthropic('google/gemini-2.5-flash'), 'google'],
  ['anthropic → Anthropic', () => anthropic('claude-haiku-4-5'), 'anthropic'],
]) {
  test(`ai sdk generateText with a tool, ${label}`, { timeout: 60_000 }, async () => {
    calls.length = 0;
    await script(provider, ...TOOL_THEN_TEXT);
    const r = await generateText({ model: model(), tools, prompt: 'Weather in Paris?', stopWhen: stepCountIs(3) });
    assert.equal(r.text, 'It is 21 degrees in Paris.');
    assert.deepEqual(calls, ['Paris']);
    assert.equal(r.steps.length, 2);
    assert.equal(r.steps[0].finishReason, 'tool-calls');
    assert.ok(r.totalUsage.outputTokens > 0);
    const seen = await chatRequests(provider);
    assert.equal(seen.length, 2);
    assertToolResultSent(provider, seen[1]);
  });

  test(`ai sdk streamText with a tool, ${label}`, { timeout: 60_000 }, async () => {
    calls.length = 0;
    await script(provider, ...TOOL_THEN_TEXT);
    const r = streamText({ model: model(), tools, prompt: 'Weather in Paris?', stopWhen: stepCountIs(3) });
    let text = '';
    for await (const chunk of r.textStream) text += chunk;
    // A provider may say something before its tool call (the Anthropic mock does); the last step's text is
    // the answer.
    assert.ok(text.endsWith('It is 21 degrees in Paris.'), text);
    assert.equal(await r.text, 'It is 21 degrees in Paris.');
    assert.deepEqual(calls, ['Paris']);
    assert.equal((await r.steps).length, 2);
    assert.equal(await r.finishReason, 'stop');
    const seen = await chatRequests(provider);
    assert.equal(seen.length, 2);
    assert.ok(seen.every((s) => s.body.stream === true || s.path.includes('streamGenerateContent')));
    assertToolResultSent(provider, seen[1]);
  });
}
