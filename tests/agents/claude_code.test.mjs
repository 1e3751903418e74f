// Claude Code (the npm package's native binary), headless, through byok serve to the strict mock
// providers: an Anthropic model (passed through with its betas), and OpenAI, Gemini and xAI models
// (translated). Each run must succeed on its first request: the mocks refuse what the real APIs refuse, so a
// gateway that forwards an Anthropic-only field or drops a beta header makes Claude Code retry or fail here.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { claude, chatRequests, resetMocks, script, workDir } from './lib.mjs';

beforeEach(resetMocks);

function assertSuccess(run, text) {
  assert.equal(run.code, 0, `claude exited ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  assert.ok(run.json, `claude printed no JSON: ${run.stdout}`);
  assert.equal(run.json.is_error, false, JSON.stringify(run.json));
  assert.equal(run.json.subtype, 'success');
  assert.equal(run.json.result, text);
}

const BETAS = ['context-management-2025-06-27'];

// The strict mock refuses Claude Code's context_management unless its beta is named, as Anthropic does:
// the gateway forwards the client's anthropic-beta, so the first request passes (no retry without betas).
test('claude code on an Anthropic model: first request passes, betas forwarded', {
  timeout: 180_000,
}, async () => {
  const run = await claude('claude-sonnet-4-5-20250929', 'Say hello.');
  assertSuccess(run, 'Hello from mock anthropic.');
  const seen = await chatRequests('anthropic');
  assert.equal(seen.length, 1, `one request, no retry without betas: ${JSON.stringify(seen.map((r) => r.body.context_management))}`);
  const beta = seen[0].headers['anthropic-beta'] || '';
  for (const b of BETAS) assert.ok(beta.includes(b), `anthropic-beta reached the provider: ${beta}`);
  assert.ok(seen[0].body.context_management, 'the body went through unchanged');
  assert.equal(seen[0].body.model, 'claude-sonnet-4-5-20250929');
});

for (const [model, provider, upstream] of [
  ['gpt-4.1', 'openai', 'gpt-4.1'],
  ['google/gemini-2.5-flash', 'google', 'gemini-2.5-flash'],
  ['xai/grok-4', 'xai', 'grok-4'],
]) {
  test(`claude code on ${model}: translated, first request passes`, { timeout: 180_000 }, async () => {
    const run = await claude(model, 'Say hello.');
    assertSuccess(run, `Hello from mock ${provider}.`);
    const seen = await chatRequests(provider);
    assert.equal(seen.length, 1, 'exactly one upstream request');
    const body = seen[0].body;
    const wire = JSON.stringify(body);
    for (const field of ['context_management', 'cache_control', 'output_config', 'defer_loading', 'x-anthropic-billing-header']) {
      assert.ok(!wire.includes(field), `${field} must not reach ${provider}`);
    }
    if (provider === 'google') {
      assert.ok(seen[0].path.includes(`/models/${upstream}:streamGenerateContent`), seen[0].path);
      assert.ok(body.systemInstruction.parts[0].text.length > 100, 'the system prompt arrived');
      assert.ok(body.tools[0].functionDeclarations.length >= 5, 'the tools arrived');
      // adaptive thinking + effort high → Gemini's thinking budget
      assert.equal(body.generationConfig.thinkingConfig.thinkingBudget, 24576);
    } else {
      assert.equal(body.model, upstream);
      assert.equal(body.stream, true);
      assert.equal(body.messages[0].role, 'system');
      assert.ok(body.messages.some((m, i) => i > 0 && m.role === 'system'), 'mid-conversation system messages kept in place');
      assert.ok(body.tools.length >= 5 && body.tools.every((t) => t.type === 'function'));
      assert.ok(!('reasoning_effort' in body), `${upstream} takes no reasoning_effort`);
      assert.match(body.user, /^[0-9a-f]{64}$/, 'metadata.user_id (a JSON string) became its device id');
    }
  });
}

test('claude code on an OpenAI model runs a tool and sends its result back', { timeout: 180_000 }, async () => {
  const dir = workDir({ 'notes.txt': 'banana\n' });
  await script('openai',
    { tool_call: { name: 'Read', arguments: { file_path: join(dir, 'notes.txt') } } },
    { text: 'The file says banana.' });
  const run = await claude('openai/o3', 'What does notes.txt say? Use the Read tool.', {
    dir, args: ['--allowedTools', 'Read'],
  });
  assertSuccess(run, 'The file says banana.');
  const seen = await chatRequests('openai');
  assert.equal(seen.length, 2, 'the tool call, then the answer');
  const second = seen[1].body;
  const call = second.messages.find((m) => m.role === 'assistant' && m.tool_calls);
  assert.equal(call.tool_calls[0].function.name, 'Read');
  const result = second.messages.find((m) => m.role === 'tool');
  assert.equal(result.tool_call_id, call.tool_calls[0].id);
  assert.match(result.content, /banana/);
  assert.equal(second.reasoning_effort, 'high', 'adaptive thinking at effort high → reasoning_effort high on o3');
});
