"""The official anthropic SDK against the gateway: x-api-key (the default) and Authorization: Bearer."""

import anthropic
import pytest
from anthropic import Anthropic

from conftest import MODELS


@pytest.fixture(scope="module", params=["api_key", "auth_token"])
def client(gateway, request):
    # api_key= sends x-api-key; auth_token= sends Authorization: Bearer. Both must work.
    return Anthropic(base_url=gateway["url"], max_retries=0, **{request.param: gateway["key"]})


@pytest.mark.parametrize("provider", ["anthropic", "openai", "google", "xai"])
def test_messages_every_provider(client, provider):
    r = client.messages.create(
        model=MODELS[provider], max_tokens=64, system="Be brief.", messages=[{"role": "user", "content": "Hi"}]
    )
    assert r.model == MODELS[provider]
    assert "mock" in r.content[0].text
    assert r.usage.input_tokens > 0


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_streaming(client, provider):
    with client.messages.stream(
        model=MODELS[provider], max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert "mock" in text
    assert final.usage.output_tokens > 0


def test_tools(client):
    r = client.messages.create(
        model="anthropic/claude-sonnet-4-5-tool",
        max_tokens=128,
        tools=[{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
        messages=[{"role": "user", "content": "Weather in Paris?"}],
    )
    block = next(b for b in r.content if b.type == "tool_use")
    assert block.name == "get_weather" and block.input == {"city": "Paris"}
    assert r.stop_reason == "tool_use"


def test_policy_and_errors(client):
    r = client.messages.create(model="policy/main", max_tokens=32, messages=[{"role": "user", "content": "Hi"}])
    assert r.model == "anthropic/claude-sonnet-4-5"
    # Errors come in Anthropic's own shape, so the SDK raises its typed errors with Anthropic's type names.
    with pytest.raises(anthropic.BadRequestError) as bad:
        client.messages.create(model="mistral/large", max_tokens=8, messages=[{"role": "user", "content": "Hi"}])
    assert bad.value.body["type"] == "error" and bad.value.body["error"]["type"] == "invalid_request_error"
    # An unknown bare model name is a 404; a known family's bare name is served.
    with pytest.raises(anthropic.NotFoundError) as missing:
        client.messages.create(model="nope", max_tokens=8, messages=[{"role": "user", "content": "Hi"}])
    assert missing.value.body["error"]["type"] == "not_found_error"
    r = client.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=[{"role": "user", "content": "Hi"}])
    assert r.model == "anthropic/claude-haiku-4-5"


def test_a_stream_cut_after_the_first_token_raises(client):
    with pytest.raises(anthropic.APIError):
        with client.messages.stream(
            model="anthropic/claude-sonnet-4-5-cut-4", max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
        ) as stream:
            for _ in stream.text_stream:
                pass


@pytest.mark.parametrize("provider", ["anthropic", "openai", "google", "xai"])
def test_count_tokens_every_provider(client, provider):
    # The SDK's messages.count_tokens: a messages request without max_tokens; the answer's shape is Anthropic's.
    r = client.messages.count_tokens(
        model=MODELS[provider],
        system="Be brief.",
        messages=[{"role": "user", "content": "one two three"}],
        tools=[{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
    )
    assert r.input_tokens > 0
