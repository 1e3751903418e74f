// Same-origin API calls. The API lives next to the console: '' locally, '/<stage>' behind API Gateway.
import * as session from './session.js';

export const BASE = location.pathname.replace(/\/console(\/.*)?$/, '');

export class ApiError extends Error {
  constructor(status, error) {
    super((error && error.message) || `request failed (HTTP ${status})`);
    this.status = status;
    this.param = error ? error.param : null;
    this.code = error ? error.code : null;
    this.type = error ? error.type : null;
  }
}

let onUnauthorized = () => {};
export function whenUnauthorized(fn) { onUnauthorized = fn; }

// Call the API with the session's key (or `key` for the sign-in probe). Resolves to the parsed JSON
// (null for 204); rejects with ApiError carrying status, message and the offending `param`.
export async function call(method, path, body, key = session.key()) {
  const headers = { Accept: 'application/json' };
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
    });
  } catch (e) {
    throw new ApiError(0, { message: `the gateway could not be reached (${e.message})` });
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!response.ok) {
    const err = new ApiError(response.status, data && data.error);
    if (response.status === 401 && key === session.key()) onUnauthorized(err);
    throw err;
  }
  return data;
}

export const get = (path) => call('GET', path);
export const post = (path, body) => call('POST', path, body === undefined ? {} : body);
export const put = (path, body) => call('PUT', path, body);
export const patch = (path, body) => call('PATCH', path, body);
export const del = (path) => call('DELETE', path);

export const PROVIDERS = [
  { id: 'openai', name: 'OpenAI' },
  { id: 'anthropic', name: 'Anthropic' },
  { id: 'google', name: 'Google AI Studio' },
  { id: 'xai', name: 'xAI' },
];

export const providerName = (id) => (PROVIDERS.find((p) => p.id === id) || { name: id }).name;
