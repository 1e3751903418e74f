"""The official openai SDK against the gateway: only base_url and api_key change."""

import json

import openai
import pytest
from openai import OpenAI

from conftest import MODELS, PROVIDERS


@pytest.fixture(scope="module")
def client(gateway):
    return OpenAI(base_url=gateway["url"] + "/v1", api_key=gateway["key"], max_retries=0)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_chat_every_provider(client, provider):
    r = client.chat.completions.create(
        model=MODELS[provider], messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    )
    assert r.model == MODELS[provider]
    assert "mock" in r.choices[0].message.content
    assert r.usage.prompt_tokens > 0 and r.usage.model_extra["cost"] > 0


@pytest.mark.parametrize("provider", PROVIDERS)
def test_streaming_with_usage(client, provider):
    stream = client.chat.completions.create(
        model=MODELS[provider],
        messages=[{"role": "user", "content": "Hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage = "", None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
        if chunk.usage:
            usage = chunk.usage
    assert "mock" in text
    assert usage is not None and usage.model_extra["cost"] > 0


def test_policy_falls_over_and_names_the_answering_model(client):
    raw = client.chat.completions.with_raw_response.create(
        model="policy/main", messages=[{"role": "user", "content": "Hi"}], extra_body={"byok": {"trace_id": "t-1"}}
    )
    r = raw.parse()
    assert r.model == "anthropic/claude-sonnet-4-5"
    attempts = raw.headers["x-byok-attempts"]
    assert "outcome=http_500" in attempts and "outcome=ok" in attempts


def test_tools(client):
    r = client.chat.completions.create(
        model="anthropic/claude-sonnet-4-5-tool",
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
                },
            }
        ],
    )
    call = r.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert r.choices[0].finish_reason == "tool_calls"


def test_structured_output_request_is_accepted(client, mock_requests):
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"], "additionalProperties": False}
    r = client.chat.completions.create(
        model="google/gemini-2.5-flash",
        messages=[{"role": "user", "content": "ok?"}],
        response_format={"type": "json_schema", "json_schema": {"name": "answer", "strict": True, "schema": schema}},
    )
    assert r.choices[0].message.content
    sent = mock_requests("google")[-1]["body"]
    assert sent["generationConfig"]["responseMimeType"] == "application/json"


def test_embeddings(client):
    r = client.embeddings.create(model="openai/text-embedding-3-small", input=["bring your own keys", "gateway"])
    assert len(r.data) == 2 and len(r.data[0].embedding) > 0
    assert r.model == "openai/text-embedding-3-small"


def test_models_list_has_catalogue_and_policies(client):
    ids = {m.id for m in client.models.list()}
    assert {"policy/main", "openai/gpt-4.1-mini", "anthropic/claude-sonnet-4-5", "google/gemini-2.5-flash", "xai/grok-4"} <= ids


def test_errors_are_typed(client, gateway):
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="mistral/large", messages=[{"role": "user", "content": "Hi"}])
    assert bad.value.body["param"] == "model"
    with pytest.raises(openai.AuthenticationError):
        OpenAI(base_url=gateway["url"] + "/v1", api_key="bgk_" + "0" * 64, max_retries=0).models.list()
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="policy/absent", messages=[{"role": "user", "content": "Hi"}])


def test_a_stream_cut_after_the_first_token_raises(client):
    stream = client.chat.completions.create(
        model="openai/gpt-4.1-mini-cut-3", messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    with pytest.raises(openai.APIError):
        for _ in stream:
            pass
