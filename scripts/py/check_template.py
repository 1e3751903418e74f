"""Checks of template.yaml and events/ that cfn-lint and `sam validate --lint` cannot make.

    .tools/venv/bin/python scripts/py/check_template.py       (offline; run by scripts/lint-template)

1. Transforms template.yaml with the SAM translator (aws-sam-translator, which cfn-lint brings)
   and checks the generated API: every route of a streaming function (byok-router) is a
   streaming integration (responseTransferMode STREAM and the 2021-11-15 .../response-streaming-
   invocations URI), every other route is a plain buffered one. This is the check that matters:
   SAM's event property takes RESPONSE_STREAM, and `ResponseTransferMode: STREAM` (the
   CloudFormation spelling) passes both linters yet silently deploys a buffered integration.
2. Every function is built by cargo-lambda from the workspace root, with its own binary.
3. events/: every fixture is a well-formed aws-proxy event for a route of the function named
   by its folder, every route has at least one fixture, and events/README.md lists each one.
4. env.json (`sam local invoke|start-api --env-vars env.json`, scripts/sam-local): one entry per
   function of the template and no other, and each entry reaches its function: resolved by SAM
   CLI's own code (its function provider and environment resolution), every variable of the entry
   has the entry's value. SAM silently drops a variable the template does not declare, so this is
   what catches an env.json that looks right and does nothing. Endpoints point at the host
   (host.docker.internal), the same in every entry.
Prints what it checked; exits 1 on the first list of problems.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
EVENTS = ROOT / "events"
STREAMING_BINARIES = {"byok-router"}
PUBLIC_BINARIES = {"byok-console"}  # static files a browser loads without a gateway key
GATEWAY_KEY = re.compile(r"^bgk_[0-9a-f]{64}$")

problems: list[str] = []


def problem(msg: str) -> None:
    problems.append(msg)


def transform(template: dict) -> dict:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the translator wants a region; no calls
    from samtranslator.translator.transform import transform as sam_transform

    class NoManagedPolicies:  # the template uses no managed policies: nothing to look up
        def load(self):
            return {}

    t = copy.deepcopy(template)
    for res in t["Resources"].values():
        if res.get("Type") == "AWS::Serverless::Function":
            res["Properties"]["CodeUri"] = "s3://placeholder/code.zip"  # sam build/package would set this
    return sam_transform(t, {}, NoManagedPolicies())


def function_of(uri) -> str | None:
    text = json.dumps(uri)
    m = re.search(r"\$\{(\w+)\.Arn\}", text)
    return m.group(1) if m else None


HOST_URL_VARS = [
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_KMS",
    "BYOK_OPENAI_BASE_URL",
    "BYOK_ANTHROPIC_BASE_URL",
    "BYOK_GOOGLE_BASE_URL",
    "BYOK_XAI_BASE_URL",
]


def check_env_json(function_ids: set[str]) -> None:
    from urllib.parse import urlparse

    from samcli.lib.providers.sam_function_provider import SamFunctionProvider
    from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
    from samcli.local.lambdafn.env_vars import EnvironmentVariables

    path = ROOT / "env.json"
    try:
        env = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        problem(f"env.json: {e}")
        return
    if set(env) != function_ids:
        problem(f"env.json: entries {sorted(env)} differ from the template's functions {sorted(function_ids)}")
    before = len(problems)
    stacks, _ = SamLocalStackProvider.get_stacks(str(TEMPLATE))
    for fn in SamFunctionProvider(stacks).get_all():
        wanted = env.get(fn.name)
        if not isinstance(wanted, dict):
            continue
        declared = dict((fn.environment or {}).get("Variables", {}))
        resolved = EnvironmentVariables(
            fn.name, fn.memory, fn.timeout, fn.handler, fn.logging_config,
            variables=declared, shell_env_values={}, override_values=wanted, aws_creds={},
        ).resolve()
        for name, value in sorted(wanted.items()):
            if resolved.get(name) != value:
                problem(
                    f"env.json: {fn.name}.{name} does not reach the function under sam local "
                    f"(it gets {resolved.get(name)!r}): declare it in template.yaml"
                )
        for name in HOST_URL_VARS:
            url = urlparse(str(wanted.get(name, "")))
            if url.hostname != "host.docker.internal" or not url.port:
                problem(f"env.json: {fn.name}.{name} must be http://host.docker.internal:<port>")
            if wanted.get(name) != next(iter(env.values())).get(name):
                problem(f"env.json: {fn.name}.{name} differs from the other functions' (scripts/sam-local reads one)")
    if len(problems) == before:
        print(f"env.json: {len(env)} functions, every variable reaches its function under sam local")


def main() -> int:
    logging.getLogger("samtranslator").setLevel(logging.ERROR)  # feature-toggle chatter
    from samtranslator.yaml_helper import yaml_parse

    template = yaml_parse(TEMPLATE.read_text())
    functions = {
        name: res
        for name, res in template["Resources"].items()
        if res.get("Type") == "AWS::Serverless::Function"
    }

    # 2. build metadata
    binaries: dict[str, str] = {}
    for name, res in functions.items():
        meta = res.get("Metadata", {})
        binary = meta.get("BuildProperties", {}).get("Binary")
        if meta.get("BuildMethod") != "rust-cargolambda" or not binary:
            problem(f"{name}: Metadata needs BuildMethod: rust-cargolambda and BuildProperties.Binary")
            continue
        if res["Properties"].get("CodeUri") != ".":
            problem(f"{name}: CodeUri must be the workspace root (.)")
        if binary in binaries.values():
            problem(f"{name}: binary {binary} is built by another function too")
        binaries[name] = binary

    # 1. routes and streaming, from the transformed template
    out = transform(template)
    routes: dict[str, set[tuple[str, str]]] = {b: set() for b in binaries.values()}
    apis = [r for r in out["Resources"].values() if r["Type"] == "AWS::ApiGateway::RestApi"]
    if len(apis) != 1:
        problem(f"expected one REST API, found {len(apis)}")
    for api in apis:
        for path, ops in api["Properties"]["Body"]["paths"].items():
            for method, op in ops.items():
                integ = op.get("x-amazon-apigateway-integration", {})
                fn = function_of(integ.get("uri"))
                binary = binaries.get(fn)
                where = f"{method.upper()} {path}"
                if binary is None:
                    problem(f"{where}: integration does not target a function of this template")
                    continue
                routes[binary].add((method.upper(), path))
                uri = json.dumps(integ.get("uri"))
                if integ.get("type") != "aws_proxy":
                    problem(f"{where}: integration type {integ.get('type')}, expected aws_proxy")
                if binary in STREAMING_BINARIES:
                    if integ.get("responseTransferMode") != "STREAM" or (
                        "/2021-11-15/functions/" not in uri or "/response-streaming-invocations" not in uri
                    ):
                        problem(
                            f"{where} ({binary}): not a streaming integration; "
                            "the SAM Api event needs ResponseTransferMode: RESPONSE_STREAM"
                        )
                else:
                    if integ.get("responseTransferMode", "BUFFERED") != "BUFFERED" or "/2015-03-31/" not in uri:
                        problem(f"{where} ({binary}): streams, but {binary} answers buffered responses")
    for binary, rs in sorted(routes.items()):
        kind = "must stream" if binary in STREAMING_BINARIES else "buffered"
        print(f"template: {binary}: {len(rs)} routes ({kind})")

    # 3. fixtures
    readme = (EVENTS / "README.md").read_text() if (EVENTS / "README.md").is_file() else ""
    if not readme:
        problem("events/README.md is missing")
    covered: dict[str, set[tuple[str, str]]] = {b: set() for b in routes}
    count = 0
    for f in sorted(EVENTS.glob("*/*.json")):
        rel = f.relative_to(ROOT).as_posix()
        binary = f.parent.name
        count += 1
        if f"{binary}/{f.name}" not in readme:
            problem(f"{rel}: not listed in events/README.md")
        if binary not in routes:
            problem(f"{rel}: folder {binary} is not a function binary of template.yaml")
            continue
        try:
            ev = json.loads(f.read_text())
        except ValueError as e:
            problem(f"{rel}: not JSON: {e}")
            continue
        method, resource, path = ev.get("httpMethod"), ev.get("resource"), ev.get("path")
        if (method, resource) not in routes[binary]:
            problem(f"{rel}: {method} {resource} is not a route of {binary}")
        covered[binary].add((method, resource))
        ctx = ev.get("requestContext") or {}
        params = ev.get("pathParameters") or {}
        expected_path = resource or ""
        for k in re.findall(r"\{(\w+)\+?\}", expected_path):
            if k not in params:
                problem(f"{rel}: pathParameters lacks {k}")
            expected_path = re.sub(r"\{" + k + r"\+?\}", str(params.get(k, "")), expected_path)
        if path != expected_path:
            problem(f"{rel}: path {path} does not match resource {resource} with {params}")
        if ctx.get("resourcePath") != resource or ctx.get("httpMethod") != method:
            problem(f"{rel}: requestContext.resourcePath/httpMethod disagree with the event")
        if ctx.get("path") != f"/{ctx.get('stage')}{path}":
            problem(f"{rel}: requestContext.path is not /<stage><path>")
        headers = ev.get("headers") or {}
        lower = {k.lower(): v for k, v in headers.items()}
        presented = lower.get("authorization", "").removeprefix("Bearer ") or lower.get("x-api-key", "")
        if not GATEWAY_KEY.match(presented) and binary not in PUBLIC_BINARIES:
            problem(f"{rel}: no gateway key (Authorization: Bearer bgk_... or x-api-key)")
        mv = ev.get("multiValueHeaders") or {}
        if {k: [v] for k, v in headers.items()} != mv:
            problem(f"{rel}: multiValueHeaders disagree with headers")
        q, mq = ev.get("queryStringParameters"), ev.get("multiValueQueryStringParameters")
        if (q or None) and {k: [v] for k, v in q.items()} != mq:
            problem(f"{rel}: multiValueQueryStringParameters disagree with queryStringParameters")
        if ev.get("isBase64Encoded") is not False:
            problem(f"{rel}: isBase64Encoded must be false (the bodies are JSON text)")
        body = ev.get("body")
        if body is not None:
            try:
                json.loads(body)
            except ValueError:
                problem(f"{rel}: body is not JSON")
            if lower.get("content-type") != "application/json":
                problem(f"{rel}: a JSON body needs Content-Type: application/json")
    for binary, rs in sorted(routes.items()):
        for method, resource in sorted(rs - covered[binary]):
            problem(f"events/{binary}/: no fixture for {method} {resource}")
    print(f"events: {count} fixtures, every route covered" if not problems else f"events: {count} fixtures")

    # 4. env.json
    check_env_json(set(functions))

    if problems:
        for p in problems:
            print(f"check_template: {p}", file=sys.stderr)
        return 1
    print("check_template: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
