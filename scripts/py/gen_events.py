"""Regenerate events/: API Gateway REST (aws-proxy) event fixtures, one per route per function.

    .tools/venv/bin/python scripts/py/gen_events.py        (needs aws-sam-cli in the venv; offline)

Each fixture starts from `sam local generate-event apigateway aws-proxy` (the shape API Gateway
sends a Lambda proxy integration) and is then edited to what a real request through this stack's
REGIONAL REST API looks like: method, path, resource, path and query parameters, the headers a
client sends (gateway key, JSON content type, SDK user agent) plus the ones API Gateway adds, and
the JSON body. The output is deterministic (fixed ids and times), so regenerating changes nothing
unless this table changes. scripts/py/check_template.py checks the fixtures against template.yaml.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"

STAGE = "prod"  # template.yaml's StageName default
API_ID = "1234567890"
ACCOUNT = "123456789012"
DOMAIN = f"{API_ID}.execute-api.us-east-1.amazonaws.com"
GATEWAY_KEY = "bgk_" + "0" * 64
API_KEY_ID = "key_01jf3k8v5q2w7r9t4y6m8n0p2c"
REQUEST_TIME = "30/Nov/2026:12:00:00 +0000"
REQUEST_TIME_EPOCH = 1796040000000
SOURCE_IP = "203.0.113.10"  # TEST-NET-3

CURL = "curl/8.5.0"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/148.0.0.0 Safari/537.36"
OPENAI_SDK = "OpenAI/Python 3.51.0"
ANTHROPIC_SDK = "Anthropic/Python 2.10.0"

# (function, route name, method, resource, path parameters, query, body, client)
# client: "curl" (management), "openai" or "anthropic" (SDK requests, Authorization: Bearer as the
# SDKs send it with auth_token=...). "anthropic-x-api-key" is the Anthropic SDK's default header
# (x-api-key instead of Authorization); no fixture uses it yet because testkit's request_from_event
# only swaps the Authorization header for a real key.
ROUTES = [
    # byok-keys: provider keys CRUD + audit
    ("byok-keys", "create", "POST", "/v1/byok", None, None,
     {"provider": "openai", "api_key": "sk-proj-TEST0000000000000000000000000000000000000000", "label": "production"},
     "curl"),
    ("byok-keys", "list", "GET", "/v1/byok", None, None, None, "curl"),
    ("byok-keys", "audit", "GET", "/v1/byok/audit", None, {"limit": "50"}, None, "curl"),
    ("byok-keys", "get", "GET", "/v1/byok/{provider}", {"provider": "anthropic"}, None, None, "curl"),
    ("byok-keys", "rotate", "PUT", "/v1/byok/{provider}", {"provider": "openai"}, None,
     {"api_key": "sk-proj-TEST1111111111111111111111111111111111111111", "label": "production", "version": 1},
     "curl"),
    ("byok-keys", "delete", "DELETE", "/v1/byok/{provider}", {"provider": "xai"}, None, None, "curl"),
    # byok-policies: routing policies CRUD + explain
    ("byok-policies", "create", "POST", "/v1/policies", None, None,
     {
         "name": "fast-chat",
         "type": "fallback",
         "steps": [
             {"model": "openai/gpt-4.1-mini", "key_source": "own_then_platform", "retries": 2, "timeout_ms": 20000},
             {"model": "anthropic/claude-sonnet-4-5", "key_source": "own", "retries": 1, "timeout_ms": 30000},
         ],
     },
     "curl"),
    ("byok-policies", "list", "GET", "/v1/policies", None, None, None, "curl"),
    ("byok-policies", "get", "GET", "/v1/policies/{name}", {"name": "fast-chat"}, None, None, "curl"),
    ("byok-policies", "update", "PUT", "/v1/policies/{name}", {"name": "fast-chat"}, None,
     {
         "type": "load_balance",
         "targets": [
             {"model": "openai/gpt-4.1-mini", "key_source": "own", "weight": 3},
             {"model": "google/gemini-2.5-flash", "key_source": "platform", "weight": 1},
         ],
         "sticky": "user_id",
         "version": 1,
     },
     "curl"),
    ("byok-policies", "delete", "DELETE", "/v1/policies/{name}", {"name": "fast-chat"}, None, None, "curl"),
    ("byok-policies", "explain", "POST", "/v1/policies/{name}/explain", {"name": "fast-chat"}, None,
     {"user_id": "user-42"}, "curl"),
    # byok-router: inference (+ verify, which must decrypt); every route is a streaming integration
    ("byok-router", "chat-completions", "POST", "/v1/chat/completions", None, None,
     {
         "model": "policy/fast-chat",
         "messages": [
             {"role": "system", "content": "You are terse."},
             {"role": "user", "content": "Name three primary colours."},
         ],
         "temperature": 0.2,
         "user": "user-42",
     },
     "openai"),
    ("byok-router", "chat-completions-stream", "POST", "/v1/chat/completions", None, None,
     {
         "model": "anthropic/claude-sonnet-4-5",
         "messages": [{"role": "user", "content": "Write a haiku about gateways."}],
         "stream": True,
         "stream_options": {"include_usage": True},
         "max_tokens": 256,
     },
     "openai"),
    ("byok-router", "messages", "POST", "/v1/messages", None, None,
     {
         "model": "anthropic/claude-sonnet-4-5",
         "max_tokens": 1024,
         "system": "You are terse.",
         "messages": [{"role": "user", "content": "Name three primary colours."}],
     },
     "anthropic"),
    ("byok-router", "messages-stream", "POST", "/v1/messages", None, None,
     {
         "model": "policy/fast-chat",
         "max_tokens": 1024,
         "messages": [{"role": "user", "content": "Count to five."}],
         "stream": True,
     },
     "anthropic"),
    ("byok-router", "messages-count-tokens", "POST", "/v1/messages/count_tokens", None, None,
     {
         "model": "anthropic/claude-sonnet-4-5",
         "system": "You are terse.",
         "messages": [{"role": "user", "content": "Name three primary colours."}],
     },
     "anthropic"),
    ("byok-router", "embeddings", "POST", "/v1/embeddings", None, None,
     {"model": "openai/text-embedding-3-small", "input": ["bring your own keys", "LLM gateway"], "encoding_format": "float"},
     "openai"),
    ("byok-router", "models", "GET", "/v1/models", None, None, None, "openai"),
    ("byok-router", "verify", "POST", "/v1/byok/{provider}/verify", {"provider": "openai"}, None, None, "curl"),
    # byok-manage: gateway API keys, limits, org, usage
    ("byok-manage", "apikey-create", "POST", "/v1/manage/apikey", None, None,
     {
         "name": "checkout-service",
         "monthly_limit": 50.0,
         "permissions": {"manage": "none", "completions": "write"},
     },
     "curl"),
    ("byok-manage", "apikey-create-put", "PUT", "/v1/manage/apikey", None, None,
     {"name": "batch-jobs", "monthly_limit": 20.0}, "curl"),
    ("byok-manage", "apikey-list", "GET", "/v1/manage/apikey", None, None, None, "curl"),
    ("byok-manage", "apikey-get", "GET", "/v1/manage/apikey/{id}", {"id": API_KEY_ID}, None, None, "curl"),
    ("byok-manage", "apikey-patch", "PATCH", "/v1/manage/apikey/{id}", {"id": API_KEY_ID}, None,
     {"labels": {"team": "payments"}, "allowed_models": ["openai/*", "policy/main"], "default_model": "policy/main"},
     "curl"),
    ("byok-manage", "apikey-delete", "DELETE", "/v1/manage/apikey/{id}", {"id": API_KEY_ID}, None, None, "curl"),
    ("byok-manage", "apikey-limit", "POST", "/v1/manage/apikey/{id}/limit", {"id": API_KEY_ID}, None,
     {"monthly_limit": 100.0}, "curl"),
    ("byok-manage", "apikey-usage", "GET", "/v1/manage/apikey/{id}/usage", {"id": API_KEY_ID},
     None, {"start": "2026-11-01T00:00:00Z", "end": "2026-11-30T00:00:00Z", "resolution": "day",
            "group_by": ["model_used", "extra.team"]}, "curl"),
    ("byok-manage", "org-get", "GET", "/v1/manage/org", None, None, None, "curl"),
    ("byok-manage", "org-usage", "GET", "/v1/manage/org/usage", None,
     {"start": "2026-11-01T00:00:00Z", "end": "2026-12-01T00:00:00Z", "resolution": "month",
      "group_by": "api_key_id,provider_used"}, None, "curl"),
    # byok-console: the management console's static files; a browser loads them without a gateway key
    ("byok-console", "index", "GET", "/console", None, None, None, "browser"),
    ("byok-console", "asset", "GET", "/console/{proxy+}", {"proxy": "app.js"}, None, None, "browser-script"),
]


def sam() -> str:
    exe = shutil.which("sam", path=str(Path(sys.executable).parent)) or shutil.which("sam")
    if not exe:
        sys.exit("sam not found: run scripts/test once (it installs aws-sam-cli into .tools/venv)")
    return exe


def base_event(method: str, path: str, resource: str) -> dict:
    out = subprocess.run(
        [sam(), "local", "generate-event", "apigateway", "aws-proxy",
         "--method", method, "--path", path.lstrip("/"), "--resource", resource,
         "--stage", STAGE, "--account-id", ACCOUNT, "--body", ""],
        check=True, capture_output=True, text=True,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
    ).stdout
    return json.loads(out)


def client_headers(client: str, has_body: bool) -> dict:
    if client == "curl":
        h = {"Accept": "application/json", "Authorization": f"Bearer {GATEWAY_KEY}", "User-Agent": CURL}
    elif client == "openai":
        h = {
            "Accept": "application/json",
            "Authorization": f"Bearer {GATEWAY_KEY}",
            "User-Agent": OPENAI_SDK,
            "X-Stainless-Lang": "python",
            "X-Stainless-Package-Version": "3.51.0",
        }
    elif client == "anthropic":
        h = {
            "Accept": "application/json",
            "Authorization": f"Bearer {GATEWAY_KEY}",
            "anthropic-version": "2023-06-01",
            "User-Agent": ANTHROPIC_SDK,
        }
    elif client == "browser":  # a page load: no gateway key (the page sends it with its API calls)
        h = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8", "User-Agent": BROWSER, "Sec-Fetch-Mode": "navigate"}
    elif client == "browser-script":  # a module script the page loads
        h = {"Accept": "*/*", "User-Agent": BROWSER, "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "script"}
    elif client == "anthropic-x-api-key":
        h = {
            "Accept": "application/json",
            "x-api-key": GATEWAY_KEY,
            "anthropic-version": "2023-06-01",
            "User-Agent": ANTHROPIC_SDK,
        }
    else:
        raise ValueError(client)
    if has_body:
        h["Content-Type"] = "application/json"
    return h


def fixture(function, name, method, resource, params, query, body, client) -> dict:
    path = resource
    for k, v in (params or {}).items():
        path = path.replace("{" + k + "}", v).replace("{" + k + "+}", v)
    ev = base_event(method, path, resource)
    rid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"byok/{function}/{name}"))
    trace = "Root=1-6b0d6540-" + rid.replace("-", "")[:24]
    headers = client_headers(client, body is not None)
    # What API Gateway adds on a REGIONAL endpoint (no CloudFront headers).
    headers.update({
        "Host": DOMAIN,
        "X-Amzn-Trace-Id": trace,
        "X-Forwarded-For": SOURCE_IP,
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    })
    ev["resource"] = resource
    ev["path"] = path
    ev["httpMethod"] = method
    ev["headers"] = headers
    ev["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
    ev["queryStringParameters"] = dict(query) if query else None
    ev["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
    ev["pathParameters"] = dict(params) if params else None
    ev["stageVariables"] = None
    ev["body"] = json.dumps(body, separators=(",", ":")) if body is not None else None
    ev["isBase64Encoded"] = False
    ctx = ev["requestContext"]
    ctx.update({
        "resourceId": uuid.uuid5(uuid.NAMESPACE_URL, f"byok/{resource}").hex[:6],
        "stage": STAGE,
        "requestId": rid,
        "extendedRequestId": rid.replace("-", "")[:16] + "=",
        "requestTime": REQUEST_TIME,
        "requestTimeEpoch": REQUEST_TIME_EPOCH,
        "path": f"/{STAGE}{path}",
        "resourcePath": resource,
        "httpMethod": method,
        "apiId": API_ID,
        "domainName": DOMAIN,
        "domainPrefix": API_ID,
        "protocol": "HTTP/1.1",
    })
    ctx["identity"]["sourceIp"] = SOURCE_IP
    ctx["identity"]["userAgent"] = headers["User-Agent"]
    return ev


def main() -> None:
    for function in sorted({r[0] for r in ROUTES}):
        d = EVENTS / function
        if d.is_dir():
            for f in d.glob("*.json"):
                f.unlink()
    for route in ROUTES:
        function, name = route[0], route[1]
        (EVENTS / function).mkdir(parents=True, exist_ok=True)
        ev = fixture(*route)
        (EVENTS / function / f"{name}.json").write_text(json.dumps(ev, indent=2) + "\n")
        print(f"events/{function}/{name}.json  {route[2]} {route[3]}")


if __name__ == "__main__":
    main()
