"""Fixtures for the SDK end-to-end tests: the gateway that scripts/sdk-e2e started, with own keys stored."""

import json
import os
import urllib.error
import urllib.request

import pytest

PROVIDERS = ["openai", "anthropic", "google", "xai"]
MODELS = {
    "openai": "openai/gpt-4.1-mini",
    "anthropic": "anthropic/claude-sonnet-4-5",
    "google": "google/gemini-2.5-flash",
    "xai": "xai/grok-4",
}


def post(url, key, path, body):
    request = urllib.request.Request(
        url + path,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.fixture(scope="session")
def gateway():
    url = os.environ["BYOK_E2E_URL"]
    key = os.environ["BYOK_E2E_ADMIN_KEY"]
    for provider in PROVIDERS:
        status, body = post(url, key, "/v1/byok", {"provider": provider, "api_key": f"own-{provider}-key-1111"})
        assert status in (201, 409), body
    status, body = post(
        url,
        key,
        "/v1/policies",
        {
                "name": "main",
                "type": "fallback",
                "steps": [
                    {"model": "openai/gpt-4.1-mini-status-500", "key_source": "own"},
                    {"model": "anthropic/claude-sonnet-4-5", "key_source": "own_then_platform"},
                ],
            },
    )
    assert status in (201, 409), body
    return {"url": url, "key": key, "mocks": json.loads(os.environ["BYOK_E2E_MOCKS"])}


@pytest.fixture(scope="session")
def mock_requests(gateway):
    def requests(provider):
        with urllib.request.urlopen(gateway["mocks"][provider] + "/__mock/requests", timeout=5) as r:
            return json.load(r)

    return requests
