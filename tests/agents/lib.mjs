// Shared helpers of the real-client tests: the gateway, the mock providers' control endpoints, and
// running Claude Code headless in an isolated HOME.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const GATEWAY = process.env.BYOK_E2E_URL;
export const KEY = process.env.BYOK_E2E_KEY;
export const MOCKS = JSON.parse(process.env.BYOK_E2E_MOCKS || '{}');
export const CLAUDE = process.env.BYOK_E2E_CLAUDE;
assert.ok(GATEWAY && KEY && MOCKS.openai, 'BYOK_E2E_URL, BYOK_E2E_KEY and BYOK_E2E_MOCKS are required (scripts/agents-e2e sets them)');

async function control(provider, path, body) {
  const r = await fetch(`${MOCKS[provider]}/__mock/${path}`, {
    method: body === undefined && path === 'requests' ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.equal(r.status, 200, `mock ${provider} ${path}: ${r.status}`);
  return r.json();
}

/** Forget every mock's recorded requests and scripted behaviours. */
export async function resetMocks() {
  for (const p of Object.keys(MOCKS)) await control(p, 'reset', {});
}

/** Queue behaviours (see mock-providers' Behaviour) for the next requests to `provider`. */
export async function script(provider, ...behaviours) {
  for (const b of behaviours) await control(provider, 'script', b);
}

/** The chat requests `provider`'s mock received (model lists and the like left out). */
export async function chatRequests(provider) {
  const all = await control(provider, 'requests');
  return all.filter((r) => r.method === 'POST' && /messages|chat\/completions|responses|generatecontent/i.test(r.path));
}

/**
 * Run `claude -p prompt --output-format json` against the gateway with `model`, in a fresh HOME and working
 * directory, telemetry and non-essential traffic off. Resolves to { code, json, stdout, stderr, dir }.
 */
export function workDir(files = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'byok-claude-work-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

export function claude(model, prompt, { dir = workDir(), args = [], timeoutMs = 120_000 } = {}) {
  assert.ok(CLAUDE, 'BYOK_E2E_CLAUDE (the claude binary) is required');
  const home = mkdtempSync(join(tmpdir(), 'byok-claude-home-'));
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    TMPDIR: process.env.TMPDIR || tmpdir(),
    ANTHROPIC_BASE_URL: GATEWAY,
    ANTHROPIC_API_KEY: KEY,
    ANTHROPIC_MODEL: model,
    ANTHROPIC_DEFAULT_HAIKU_MODEL: model,
    ANTHROPIC_DEFAULT_SONNET_MODEL: model,
    ANTHROPIC_DEFAULT_OPUS_MODEL: model,
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_BUG_COMMAND: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY: '1',
  };
  return new Promise((resolve, reject) => {
    const child = spawn(CLAUDE, ['-p', prompt, '--output-format', 'json', ...args], {
      cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      rmSync(home, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
      let json = null;
      try { json = JSON.parse(stdout); } catch { /* reported by the caller's assertion */ }
      resolve({ code, json, stdout, stderr, dir });
    });
  });
}

export const CODEX = process.env.BYOK_E2E_CODEX;

/**
 * Run `codex exec prompt` against the gateway: a fresh CODEX_HOME whose config.toml names the gateway as a
 * custom model provider (`wire_api = "responses"`, the key read from BYOK_API_KEY), in `dir`, read-only
 * sandbox. `config` entries become `-c key=value` overrides. Resolves to { code, stdout, stderr }.
 */
export function codex(model, prompt, { dir = workDir(), config = [], timeoutMs = 120_000 } = {}) {
  assert.ok(CODEX, 'BYOK_E2E_CODEX (the codex binary) is required');
  const home = mkdtempSync(join(tmpdir(), 'byok-codex-home-'));
  const codexHome = join(home, '.codex');
  mkdirSync(codexHome);
  writeFileSync(join(codexHome, 'config.toml'), [
    `model = ${JSON.stringify(model)}`,
    'model_provider = "byok"',
    '',
    '[model_providers.byok]',
    'name = "BYOK gateway"',
    `base_url = ${JSON.stringify(`${GATEWAY}/v1`)}`,
    'env_key = "BYOK_API_KEY"',
    'wire_api = "responses"',
    '',
  ].join('\n'));
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    CODEX_HOME: codexHome,
    TMPDIR: process.env.TMPDIR || tmpdir(),
    BYOK_API_KEY: KEY,
  };
  const args = ['exec', '--skip-git-repo-check', '-s', 'read-only', ...config.flatMap((c) => ['-c', c]), prompt];
  return new Promise((resolve, reject) => {
    const child = spawn(CODEX, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      rmSync(home, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, stdout, stderr });
    });
  });
}
