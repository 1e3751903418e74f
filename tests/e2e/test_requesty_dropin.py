"""Code written from Requesty's docs, unchanged but for base URL and key: request metadata through
`extra_body={"requesty": ...}` and `X-Requesty-*` / `X-Title` headers (stripped before the provider), and
the management API's usage request as a JSON body on GET, grouped by each dimension."""

import datetime
import json
import urllib.request
import uuid

from openai import OpenAI


def manage(gateway, method, path, body=None):
    request = urllib.request.Request(
        gateway["url"] + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {gateway['key']}", "Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        return r.status, json.loads(r.read() or b"null")


def test_metadata_is_stripped_recorded_and_grouped(gateway, mock_requests):
    team = "team-" + uuid.uuid4().hex[:8]
    client = OpenAI(
        base_url=gateway["url"] + "/v1",
        api_key=gateway["key"],
        max_retries=0,
        default_headers={"X-Requesty-Team": team, "X-Title": "Drop-in App", "HTTP-Referer": "https://dropin.example/x"},
    )
    r = client.chat.completions.create(
        model="openai/gpt-4.1-mini",
        messages=[{"role": "user", "content": "Hi"}],
        extra_body={"requesty": {"tags": ["e2e"], "user_id": "user-42", "trace_id": "tr-1", "extra": {"feature": "search"}}},
    )
    assert r.choices[0].message.content
    seen = mock_requests("openai")[-1]
    assert "requesty" not in seen["body"] and "byok" not in seen["body"], seen["body"]
    leaked = [h for h in seen["headers"] if h.startswith("x-requesty-") or h in ("x-title", "http-referer")]
    assert leaked == [], leaked

    _, org = manage(gateway, "GET", "/v1/manage/org")
    # The window: the last 99 days, as a JSON body on GET (Requesty's form).
    now = datetime.datetime.now(datetime.timezone.utc)
    start = (now - datetime.timedelta(days=99)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (now + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    expected = {
        "extra.team": team,
        "extra.feature": "search",
        "user_id": "user-42",
        "origin_title": "Drop-in App",
        "model_requested": "openai/gpt-4.1-mini",
        "model_used": "openai/gpt-4.1-mini",
        "provider_used": "openai",
    }
    for dim, value in expected.items():
        _, usage = manage(
            gateway, "GET", "/v1/manage/org/usage", {"start": start, "end": end, "resolution": "month", "group_by": [dim]}
        )
        values = [g[dim] for entry in usage["usage"].values() for g in entry["groups"]]
        assert value in values, (dim, values)
    _, usage = manage(
        gateway,
        "GET",
        "/v1/manage/org/usage",
        {"start": start, "end": end, "resolution": "month", "group_by": ["extra.team", "user_id", "origin_title"]},
    )
    groups = [g for entry in usage["usage"].values() for g in entry["groups"] if g["extra.team"] == team]
    assert [(g["user_id"], g["origin_title"], g["requests"]) for g in groups] == [("user-42", "Drop-in App", 1)]
    assert org["id"]


def test_key_management_from_the_docs(gateway):
    status, created = manage(gateway, "POST", "/v1/manage/apikey", {"name": "from-docs", "monthly_limit": 123})
    assert status == 201 and set(created) == {"api_key_id", "api_key"}
    _, keys = manage(gateway, "GET", "/v1/manage/apikey")
    mine = next(k for k in keys["keys"] if k["id"] == created["api_key_id"])
    assert mine["permissions"] == {"manage": "none", "completions": "write"}
    assert mine["monthly_limit"] == 123 and mine["monthly_spend"] == 0
    status, _ = manage(gateway, "POST", f"/v1/manage/apikey/{created['api_key_id']}/limit", {"monthly_limit": 50})
    assert status == 204
    # The new key reads itself, and calls a model through its default policy.
    status, _ = manage(gateway, "PATCH", f"/v1/manage/apikey/{created['api_key_id']}", {"default_model": "openai/gpt-4.1-mini"})
    assert status == 200
    client = OpenAI(base_url=gateway["url"] + "/v1", api_key=created["api_key"], max_retries=0)
    r = client.chat.completions.create(model="default", messages=[{"role": "user", "content": "Hi"}])
    assert r.model == "openai/gpt-4.1-mini"
    status, _ = manage(gateway, "DELETE", f"/v1/manage/apikey/{created['api_key_id']}")
    assert status == 204
