// OpenAI's Codex CLI (`codex exec`, the npm package's native binary) with the gateway as a custom model
// provider speaking the Responses API, through byok serve to the strict mocks: an OpenAI model (the request
// passed through to /v1/responses) and an Anthropic model (translated), each completing a task that needs
// a tool round trip: the model asks Codex to run a command, Codex runs it and sends its output back.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { chatRequests, codex, resetMocks, script, workDir } from './lib.mjs';

beforeEach(resetMocks);

const READ = { name: 'exec_command', arguments: { cmd: 'cat answer.txt' } };
const ANSWER = 'The file says 42.';

function assertDone(run) {
  assert.equal(run.code, 0, `codex exited ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  assert.equal(run.stdout.trim().split('\n').pop(), ANSWER, `the last message: ${run.stdout}`);
}

test('codex exec on an OpenAI model: Responses passed through, a tool round trip', {
  timeout: 180_000,
}, async () => {
  await script('openai', { tool_call: READ }, { text: ANSWER });
  const run = await codex('openai/gpt-4.1-mini', 'What does answer.txt say?', {
    dir: workDir({ 'answer.txt': 'the answer is 42\n' }),
  });
  assertDone(run);
  const seen = await chatRequests('openai');
  assert.equal(seen.length, 2, 'the task, then the tool output');
  for (const r of seen) {
    assert.equal(r.path, '/v1/responses');
    assert.equal(r.body.model, 'gpt-4.1-mini');
    assert.equal(r.body.stream, true);
    assert.match(r.headers.authorization, /^Bearer (platform|own)-openai-key-\d+$/, 'a stored OpenAI key, not the gateway key');
  }
  const items = seen[1].body.input;
  const call = items.find((i) => i.type === 'function_call');
  const output = items.find((i) => i.type === 'function_call_output');
  assert.equal(call.name, 'exec_command');
  assert.equal(output.call_id, call.call_id);
  assert.ok(JSON.stringify(output.output).includes('the answer is 42'), JSON.stringify(output));
});

test('codex exec on an Anthropic model: Responses translated, a tool round trip', {
  timeout: 180_000,
}, async () => {
  await script('anthropic', { tool_call: READ }, { text: ANSWER });
  // Codex's web search and sub-agent tools run at OpenAI only: the gateway refuses them off OpenAI, so they
  // are turned off for other providers' models (the README shows the same settings).
  const run = await codex('anthropic/claude-sonnet-4-5', 'What does answer.txt say?', {
    dir: workDir({ 'answer.txt': 'the answer is 42\n' }),
    config: ['web_search="disabled"', 'features.multi_agent=false'],
  });
  assertDone(run);
  const seen = await chatRequests('anthropic');
  assert.equal(seen.length, 2, 'the task, then the tool output');
  const first = seen[0].body;
  assert.equal(seen[0].path, '/v1/messages');
  assert.equal(first.model, 'claude-sonnet-4-5');
  assert.ok(first.system.length > 0, 'the instructions arrived as the system prompt');
  assert.ok(first.tools.some((t) => t.name === 'exec_command' && t.input_schema), 'the tools arrived with their schemas');
  const last = seen[1].body.messages;
  const use = last.flatMap((m) => (Array.isArray(m.content) ? m.content : [])).find((b) => b.type === 'tool_use');
  const result = last.flatMap((m) => (Array.isArray(m.content) ? m.content : [])).find((b) => b.type === 'tool_result');
  assert.equal(use.name, 'exec_command');
  assert.equal(result.tool_use_id, use.id);
  assert.ok(JSON.stringify(result.content).includes('the answer is 42'), JSON.stringify(result));
});

test('codex exec with its OpenAI-only tools on an Anthropic model: a clear 400', {
  timeout: 180_000,
}, async () => {
  const run = await codex('anthropic/claude-sonnet-4-5', 'Say hello.');
  assert.notEqual(run.code, 0);
  assert.match(run.stdout + run.stderr, /only OpenAI keeps/);
  assert.equal((await chatRequests('anthropic')).length, 0, 'nothing reached the provider');
});
