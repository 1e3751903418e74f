"""The official openai SDK's Responses API (`client.responses.create` / `.stream` / `.parse`) against the
gateway, for an OpenAI model (passed through to the mock's /v1/responses) and non-OpenAI models
(translated), asserting on what the strict mocks received as well as on what the SDK returned."""

import json
import urllib.request

import pytest
from openai import OpenAI
from pydantic import BaseModel

from conftest import MODELS

UPSTREAM_PATH = {"openai": "/v1/responses", "anthropic": "/v1/messages", "google": ":generateContent"}
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather of a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
}


@pytest.fixture(scope="module")
def client(gateway):
    return OpenAI(base_url=gateway["url"] + "/v1", api_key=gateway["key"], max_retries=0)


@pytest.fixture
def mock(gateway):
    """Control of one provider's mock: `reset`, `script(behaviour)`, `requests()` (chat calls only)."""

    def control(provider, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            gateway["mocks"][provider] + "/__mock/" + path,
            data=data,
            headers={"Content-Type": "application/json"},
            method="GET" if body is None else "POST",
        )
        with urllib.request.urlopen(request, timeout=5) as r:
            return json.load(r)

    class Mock:
        def reset(self, provider):
            control(provider, "reset", {})

        def script(self, provider, behaviour):
            control(provider, "script", behaviour)

        def requests(self, provider):
            return [r for r in control(provider, "requests") if r["method"] == "POST"]

    return Mock()


def sent(mock, provider):
    """The bodies of the chat calls `provider`'s mock received."""
    return [r for r in mock.requests(provider) if UPSTREAM_PATH[provider] in r["path"]]


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_create_text(client, mock, provider):
    mock.reset(provider)
    r = client.responses.create(
        model=MODELS[provider],
        instructions="Be brief.",
        input="Hi",
        max_output_tokens=64,
        metadata={"team": "red"},
    )
    assert r.model == MODELS[provider]
    assert r.status == "completed"
    assert r.output_text == f"Hello from mock {provider}."
    assert r.usage.input_tokens > 0 and r.usage.output_tokens > 0
    assert r.usage.model_extra["cost"] > 0
    [body] = [b["body"] for b in sent(mock, provider)]
    if provider == "openai":
        assert body["instructions"] == "Be brief." and body["input"] == "Hi" and body["metadata"] == {"team": "red"}
        assert body["model"] == "gpt-4.1-mini"
    else:
        assert "Be brief." in json.dumps(body["system"])
        assert [m["role"] for m in body["messages"]] == ["user"] and "Hi" in json.dumps(body["messages"])
        assert body["max_tokens"] == 64
        assert "metadata" not in body or "team" not in json.dumps(body["metadata"]), "Responses metadata is not Anthropic's"


@pytest.mark.parametrize("provider", ["openai", "google"])
def test_stream(client, mock, provider):
    mock.reset(provider)
    mock.script(provider, {"text": "one two three four"})
    kinds, text = [], ""
    with client.responses.stream(model=MODELS[provider], input="Count") as stream:
        for event in stream:
            kinds.append(event.type)
            if event.type == "response.output_text.delta":
                text += event.delta
        final = stream.get_final_response()
    assert text == "one two three four"
    assert final.output_text == "one two three four"
    assert final.model == MODELS[provider]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "response.output_item.added" in kinds and "response.output_text.done" in kinds
    assert final.usage.model_extra["cost"] > 0
    [request] = mock.requests(provider)[-1:]
    if provider == "openai":
        assert request["path"] == "/v1/responses" and request["body"]["stream"] is True
    else:
        assert ":streamGenerateContent" in request["path"]


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_function_tool_round_trip(client, mock, provider):
    mock.reset(provider)
    mock.script(provider, {"tool_call": {"name": "get_weather", "arguments": {"city": "Paris"}}})
    mock.script(provider, {"text": "It is 18C in Paris."})
    history = [{"role": "user", "content": "Weather in Paris?"}]
    first = client.responses.create(model=MODELS[provider], input=history, tools=[WEATHER_TOOL], store=False)
    [call] = [item for item in first.output if item.type == "function_call"]
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"}
    history += [item.model_dump(exclude_none=True) for item in first.output]
    history.append({"type": "function_call_output", "call_id": call.call_id, "output": "18C"})
    second = client.responses.create(model=MODELS[provider], input=history, tools=[WEATHER_TOOL], store=False)
    assert second.output_text == "It is 18C in Paris."
    bodies = [r["body"] for r in sent(mock, provider)]
    assert len(bodies) == 2
    if provider == "openai":
        assert bodies[0]["tools"] == [WEATHER_TOOL]
        outputs = [i for i in bodies[1]["input"] if i.get("type") == "function_call_output"]
        assert outputs == [{"type": "function_call_output", "call_id": call.call_id, "output": "18C"}]
    else:
        assert bodies[0]["tools"][0]["name"] == "get_weather"
        assert bodies[0]["tools"][0]["input_schema"] == WEATHER_TOOL["parameters"]
        blocks = [b for m in bodies[1]["messages"] if isinstance(m["content"], list) for b in m["content"]]
        use = next(b for b in blocks if b["type"] == "tool_use")
        result = next(b for b in blocks if b["type"] == "tool_result")
        assert use["id"] == call.call_id and use["input"] == {"city": "Paris"}
        assert result["tool_use_id"] == call.call_id and "18C" in json.dumps(result["content"])


class Answer(BaseModel):
    answer: str


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_json_schema(client, mock, provider):
    mock.reset(provider)
    mock.script(provider, {"text": '{"answer":"4"}'})
    r = client.responses.parse(model=MODELS[provider], input="2+2?", text_format=Answer)
    assert r.output_parsed == Answer(answer="4")
    [body] = [b["body"] for b in sent(mock, provider)]
    if provider == "openai":
        assert body["text"]["format"]["type"] == "json_schema"
        assert body["text"]["format"]["schema"]["properties"] == {"answer": {"title": "Answer", "type": "string"}}
    else:
        system = body["system"] if isinstance(body["system"], str) else " ".join(b["text"] for b in body["system"])
        assert '"required":["answer"]' in system, "the schema reached Anthropic as an instruction"


def test_previous_response_id_is_refused_off_openai(client, mock):
    import openai

    mock.reset("anthropic")
    with pytest.raises(openai.BadRequestError) as e:
        client.responses.create(model=MODELS["anthropic"], input="Hi", previous_response_id="resp_1")
    assert e.value.body["param"] == "previous_response_id"
    assert sent(mock, "anthropic") == []
