"""The OpenAI-compatible endpoints through a real server, called with the official `openai`
package (non-streaming and streaming) and with curl, as a user of those tools would."""

from __future__ import annotations

import json
import subprocess

import openai
import pytest

from serving import Server, child_env, llm_chat_flow, orchestra_run, write_flow


def sdk(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key=server.token, max_retries=0, timeout=60)


def test_models_are_the_flows_with_a_chat_interface(server):
    models = sorted(m.id for m in sdk(server).models.list())
    # support_router has two text outputs and no "chat" section; approve and slow have no text output wired
    # from a text port... the chat interface decides, here as in the Chat panel
    assert "echo_chat" in models and "memory_chat" in models and "hello" in models
    assert "support_router" not in models and "approve" not in models


def test_sdk_completion_equals_orchestra_run(server, flows_dir, tmp_path):
    reply = sdk(server).chat.completions.create(model="hello", messages=[{"role": "user", "content": "volcanoes"}])
    expected = orchestra_run(flows_dir / "hello.flow.json", {"topic": "volcanoes"}, tmp_path, "--mock")
    assert reply.choices[0].message.content == expected["outputs"]["greeting"]
    assert reply.choices[0].message.role == "assistant" and reply.choices[0].finish_reason == "stop"
    assert reply.model == "hello" and reply.object == "chat.completion"


def test_sdk_streaming_arrives_in_pieces_and_adds_up_to_orchestra_runs_reply(server, flows_dir, tmp_path):
    stream = sdk(server).chat.completions.create(model="echo_chat", messages=[{"role": "user", "content": "hi"}],
                                                 stream=True, stream_options={"include_usage": True})
    pieces, usage = [], None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        if chunk.usage is not None:
            usage = chunk.usage
    expected = orchestra_run(flows_dir / "echo_chat.flow.json", {"message": "hi"}, tmp_path, "--mock")
    assert len(pieces) > 1
    assert "".join(pieces) == expected["outputs"]["reply"]
    assert usage is not None and usage.completion_tokens == expected["totals"]["tokens_out"]
    assert usage.prompt_tokens == expected["totals"]["tokens_in"]


def test_sdk_stream_of_a_flow_whose_reply_does_not_stream(server):
    stream = sdk(server).chat.completions.create(model="hello", messages=[{"role": "user", "content": "tea"}], stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Hello! Here is a thought about tea:\nTea is worth a closer look today."


def test_unknown_model_and_bad_messages(server):
    client = sdk(server)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="support_router", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="../hello", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.UnprocessableEntityError) as err:
        client.chat.completions.create(model="hello", messages=[{"role": "system", "content": "only a system message"}])
    assert "no user message" in str(err.value)
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=server.url + "/v1", api_key="not-the-token-at-all", max_retries=0).models.list()


def test_the_user_field_or_a_header_picks_the_memory_session(server):
    client = sdk(server)

    def say(text: str, **kw) -> str:
        return client.chat.completions.create(model="memory_chat", messages=[{"role": "user", "content": text}],
                                              **kw).choices[0].message.content

    assert say("I am Ada", user="ada") == "Nice to meet you."
    assert say("I am Bo", user="bo") == "Nice to meet you."  # its own session
    assert say("Me again", user="ada") == "Welcome back: this is our second turn."
    # the header wins over the field, and works for clients that cannot set `user`
    assert say("Hi", user="bo", extra_headers={"X-Orchestra-Session": "ada"}) == "Third turn already."
    stream = client.chat.completions.create(model="memory_chat", messages=[{"role": "user", "content": "again"}],
                                            user="bo", stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == \
        "Welcome back: this is our second turn."


def test_curl_non_streaming_and_streaming(server):
    body = json.dumps({"model": "hello", "messages": [{"role": "user", "content": "dunes"}]})
    out = subprocess.run(["curl", "-s", server.url + "/v1/chat/completions", "-H", f"Authorization: Bearer {server.token}",
                          "-H", "Content-Type: application/json", "-d", body], capture_output=True, text=True, timeout=60)
    doc = json.loads(out.stdout)
    assert doc["choices"][0]["message"]["content"].startswith("Hello! Here is a thought about dunes")
    body = json.dumps({"model": "echo_chat", "stream": True, "messages": [{"role": "user", "content": "x"}]})
    out = subprocess.run(["curl", "-sN", server.url + "/v1/chat/completions", "-H", f"Authorization: Bearer {server.token}",
                          "-H", "Content-Type: application/json", "-d", body], capture_output=True, text=True, timeout=60)
    datas = [line[6:] for line in out.stdout.splitlines() if line.startswith("data: ")]
    assert datas[-1] == "[DONE]"
    text = "".join(json.loads(d)["choices"][0]["delta"].get("content") or "" for d in datas[:-1]
                   if json.loads(d)["choices"])
    assert text == "Streaming replies arrive piece by piece."
    out = subprocess.run(["curl", "-s", "-X", "POST", server.url + "/flows/hello/runs", "-H",
                          f"Authorization: Bearer {server.token}", "-d", '{"inputs": {"topic": "curl"}}'],
                         capture_output=True, text=True, timeout=60)
    assert json.loads(out.stdout)["outputs"]["greeting"].startswith("Hello! Here is a thought about curl")


def test_real_llm_calls_through_litellm_and_keys_never_leak(tmp_path):
    """Not mock mode: the flow's model call goes through litellm to the loopback OpenAI mock.
    A provider error that echoes the key reaches the client redacted, and no log shows it."""
    from support.mock_openai import MockOpenAIThread, Reply

    key = "sk" "-live-very-secret-key-0123456789"
    flows = tmp_path / "flows"
    write_flow(flows, "chat", llm_chat_flow(stream=True))
    with MockOpenAIThread(token_delay=0.01) as mock:
        env = child_env(tmp_path, OPENAI_API_KEY=key)
        with Server(tmp_path, [flows], "--api-base", mock.base_url, "--access-log", env=env) as srv:
            client = sdk(srv)
            mock.enqueue(Reply.text("The loopback model says hello."))
            reply = client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "hi"}])
            assert reply.choices[0].message.content == "The loopback model says hello."
            assert reply.usage.completion_tokens == 5  # the mock counts words
            mock.enqueue(Reply.text("Streamed back through two servers."))
            stream = client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "hi"}], stream=True)
            assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == \
                "Streamed back through two servers."
            mock.enqueue(Reply.bad_request(f"Incorrect API key provided: {key}"))
            with pytest.raises(openai.InternalServerError) as err:
                client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "hi"}])
            assert key not in str(err.value.body) and "[redacted]" in json.dumps(err.value.body)
            with srv.client() as c:
                run_id = err.value.body["run_id"] if "run_id" in err.value.body else c.get("/runs").json()["runs"][0]["run_id"]
                assert key not in c.get(f"/runs/{run_id}").text
                assert key not in c.get(f"/runs/{run_id}/trace").text
            assert mock.requests[0].authorization == f"Bearer {key}"  # the real key went to the provider
        assert srv.proc.returncode == 0
        assert key not in srv.log() and srv.token not in srv.log()


def test_the_assistant_project_holds_a_three_turn_conversation_per_user(tmp_path):
    """The example project with memory, tools and a guardrail, served in mock mode: the
    third answer uses what the first turn said, for each `user` separately (its own test
    case, replayed through the OpenAI SDK)."""
    from serving import ROOT

    doc = json.loads((ROOT / "projects" / "assistant.flow.json").read_text())
    turns = doc["tests"][0]["conversation"]
    with Server(tmp_path, [ROOT / "projects" / "assistant.flow.json"], "--mock") as srv:
        client = sdk(srv)
        for user in ("priya", "someone-else"):
            for turn in turns:
                reply = client.chat.completions.create(model="assistant", user=user,
                                                       messages=[{"role": "user", "content": turn["say"]}])
                text = reply.choices[0].message.content
                for expect in turn["expect"]:
                    assert expect["contains"] in text, (user, turn["say"], text)


def test_sampling_options_are_accepted_and_tools_refused(server):
    client = sdk(server)
    reply = client.chat.completions.create(model="hello", messages=[{"role": "user", "content": "moss"}],
                                           temperature=0.2, max_tokens=50, top_p=0.9, logprobs=False, seed=7,
                                           extra_body={"some_future_option": True})
    assert reply.choices[0].message.content.startswith("Hello! Here is a thought about moss")
    with pytest.raises(openai.UnprocessableEntityError, match="calls no client tools"):
        client.chat.completions.create(model="hello", messages=[{"role": "user", "content": "x"}],
                                       tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}])
