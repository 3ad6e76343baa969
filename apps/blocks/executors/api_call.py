"""The api_call executor: one HTTP request made by the worker with httpx, behind the SSRF guard.

Each hop resolves its host once through the guard and connects to an address that was checked: the
URL sent to httpx carries that address, while the Host header and the TLS SNI (which is also the
name the certificate is verified against) carry the original hostname. Proxies from the
environment are ignored (trust_env=False): a proxy would connect to the host itself, unchecked.
"""

import json
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.conf import settings

from apps.blocks.executors import ssrf
from apps.blocks.executors.base import StepContext, StepOutcome
from apps.blocks.executors.templating import RenderError, make_context, render_body, render_header, render_url
from apps.core.masking.masker import Masker

MAX_REDIRECTS = 3
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
MAX_URL_LENGTH = 8192
MAX_BODY_BYTES = 1024 * 1024
PREVIEW_CHARS = 4096
DROPPED_RESPONSE_HEADERS = ("set-cookie", "set-cookie2")


class ApiCallError(Exception):
    """A request that cannot be made as configured; the message is shown to the operator."""


@dataclass
class PreparedRequest:
    method: str
    url: httpx.URL
    headers: dict[str, str]
    body: bytes
    auth: httpx.Auth | None = None
    # Names of headers carrying the credential, shown as "(credential NAME)" in the summary.
    secret_headers: set[str] = field(default_factory=set)
    credential_name: str = ""


def _cap() -> int:
    return settings.RUNBOOKS_API_RESPONSE_CAP_BYTES


def _header_lookup(headers: dict[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {key: value for key, value in headers.items() if key.lower() != name.lower()}


def _parse_url(rendered: str) -> httpx.URL:
    if len(rendered) > MAX_URL_LENGTH:
        raise ApiCallError(f"url: the rendered URL is {len(rendered):,} characters; the limit is {MAX_URL_LENGTH:,}.")
    try:
        url = httpx.URL(rendered)
    except httpx.InvalidURL as error:
        raise ApiCallError(f"url: {rendered!r} is not a valid URL ({error}).") from None
    ssrf.check_scheme(url.scheme)
    if not url.host:
        raise ApiCallError(f"url: {rendered!r} has no host.")
    if url.userinfo:
        raise ApiCallError("url: user names and passwords do not belong in the URL; attach a credential instead.")
    return url


def _apply_credential(prepared: PreparedRequest, credential: Any) -> None:
    kind = getattr(credential, "kind", "")
    secret = getattr(credential, "secret", "") or ""
    prepared.credential_name = getattr(credential, "name", "") or "credential"
    if kind == "token":
        prepared.headers = _without(prepared.headers, "Authorization")
        prepared.headers["Authorization"] = f"Bearer {secret}"
        prepared.secret_headers.add("authorization")
    elif kind == "basic":
        prepared.headers = _without(prepared.headers, "Authorization")
        prepared.auth = httpx.BasicAuth(getattr(credential, "username", "") or "", secret)
        prepared.secret_headers.add("authorization")
    elif kind == "header":
        name = getattr(credential, "header_name", "") or ""
        if not name:
            raise ApiCallError(f"credential: “{prepared.credential_name}” has no header name to send it in.")
        prepared.headers = _without(prepared.headers, name)
        prepared.headers[name] = secret
        prepared.secret_headers.add(name.lower())
    else:
        raise ApiCallError(
            f"credential: “{prepared.credential_name}” is a generic secret, which cannot be injected into an "
            "API call; use a token, basic or header credential."
        )


def prepare(config: dict, context: dict, credentials: dict) -> PreparedRequest:
    """The request a block describes, rendered; ApiCallError/RenderError/ssrf.Refused when it can't be."""
    url = _parse_url(render_url(config["url"], context))
    headers = {name: render_header(value, context, name=name) for name, value in (config.get("headers") or {}).items()}
    template = config.get("body") or ""
    body = ""
    if template:
        content_type = _header_lookup(headers, "Content-Type")
        body = render_body(template, context, content_type=content_type)
        if content_type is None and body.lstrip().startswith(("{", "[")):
            headers["Content-Type"] = "application/json"
    encoded = body.encode("utf-8")
    if len(encoded) > MAX_BODY_BYTES:
        raise ApiCallError(f"body: the rendered body is {len(encoded):,} bytes; the limit is {MAX_BODY_BYTES:,} bytes.")
    if _header_lookup(headers, "Accept-Encoding") is None:
        # A compressed body is inflated chunk by chunk before the cap applies: ask for it plain.
        headers["Accept-Encoding"] = "identity"
    prepared = PreparedRequest(method=config.get("method", "GET"), url=url, headers=headers, body=encoded)
    credential_id = config.get("credential")
    if credential_id:
        credential = credentials.get(credential_id) or credentials.get(str(credential_id))
        if credential is None:
            raise ApiCallError(f"credential: credential {credential_id} is not available to this run.")
        _apply_credential(prepared, credential)
    return prepared


def _ssl_context() -> ssl.SSLContext:
    # The system trust store (honours SSL_CERT_FILE/SSL_CERT_DIR), so an internal CA an
    # administrator installed is trusted for allow-listed internal services.
    return ssl.create_default_context()


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


class Outcome(Exception):
    """Ends the request early with a finished StepOutcome (timeout, cancel, refusal)."""

    def __init__(self, outcome: StepOutcome):
        super().__init__(outcome.error)
        self.outcome = outcome


class Call:
    def __init__(self, ctx: StepContext, prepared: PreparedRequest, config: dict):
        self.ctx = ctx
        self.prepared = prepared
        self.timeout = float(config.get("timeout_seconds") or 30)
        self.follow_redirects = bool(config.get("follow_redirects"))
        self.expected = list(config.get("expected_status") or [200])
        self.deadline = time.monotonic() + self.timeout
        # The sink masks too; masking here as well keeps a server that echoes the credential
        # (or a sink that forgot) from putting it in output or in the stored result.
        self.masker = Masker([getattr(item, "secret", "") or "" for item in ctx.credentials.values()])

    def write(self, text: str) -> None:
        self.ctx.output.write(self.masker.mask(text))

    def summarise_request(self, method: str, url: httpx.URL, headers: dict[str, str], body: bytes, auth) -> None:
        self.write(f"→ {method} {url}\n")
        shown: dict[str, str] = {}
        for name, value in headers.items():
            if name.lower() in self.prepared.secret_headers:
                value = f"(credential “{self.prepared.credential_name}”)"
            shown[name] = value
            self.write(f"  {name}: {value}\n")
        if auth is not None:
            shown["Authorization"] = f"(credential “{self.prepared.credential_name}”, basic)"
            self.write(f"  Authorization: {shown['Authorization']}\n")
        if body:
            self.write(f"  ({len(body):,} bytes of body)\n")
        # What the run's page shows as the request (the last hop): the credential only by name.
        self.request_shown = {"method": method, "url": str(url), "headers": shown, "body_bytes": len(body)}

    def send(self, client: httpx.Client, method: str, url: httpx.URL, headers: dict, body: bytes, auth, *, hop: int):
        """Send to a checked address of url's host; the response is open (streaming)."""
        host = url.raw_host.decode("ascii")
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            addresses = ssrf.resolve_and_check(host, port)
        except ssrf.Refused as error:
            message = f"Redirect refused: {error}" if hop else str(error)
            raise Outcome(StepOutcome(status="failed", error=message)) from None
        last_error: Exception | None = None
        for address in addresses:
            request = client.build_request(
                method,
                url.copy_with(host=str(address)),
                # An author's own Host header (virtual hosting) is kept: it cannot change where we connect.
                headers={
                    **_without(headers, "Host"),
                    "Host": _header_lookup(headers, "Host") or url.netloc.decode("ascii"),
                },
                content=body or None,
                extensions={"sni_hostname": host} if url.scheme == "https" else {},
            )
            try:
                return client.send(request, stream=True, auth=auth)
            except httpx.ConnectError as error:
                # Like a browser: another checked address of the same host may answer.
                last_error = error
        raise Outcome(StepOutcome(status="failed", error=f"Could not connect to {host}:{port}: {last_error}."))

    def read_body(self, response: httpx.Response) -> tuple[bytes, bool]:
        cap = _cap()
        body = bytearray()
        for chunk in response.iter_bytes():
            if self.ctx.is_cancelled():
                raise Outcome(StepOutcome(status="cancelled", error="Cancelled while reading the response."))
            if time.monotonic() > self.deadline:
                raise httpx.ReadTimeout("the response took longer than the timeout")
            room = cap - len(body)
            if len(chunk) > room:
                # Stop reading: the rest of the response is never pulled off the network.
                body += chunk[:room]
                return bytes(body), True
            body += chunk
        return bytes(body), False

    def run(self) -> StepOutcome:
        prepared = self.prepared
        method, url, headers, body, auth = (
            prepared.method,
            prepared.url,
            dict(prepared.headers),
            prepared.body,
            prepared.auth,
        )
        origin = (url.scheme, url.host, url.port)
        timeout = httpx.Timeout(self.timeout)
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False, verify=_ssl_context()) as client:
            for hop in range(MAX_REDIRECTS + 1):
                self.summarise_request(method, url, headers, body, auth)
                started = time.monotonic()
                response = self.send(client, method, url, headers, body, auth, hop=hop)
                try:
                    location = response.headers.get("location")
                    if self.follow_redirects and response.status_code in REDIRECT_STATUSES and location:
                        self.write(f"← {response.status_code} {response.reason_phrase} → {location}\n")
                        if hop == MAX_REDIRECTS:
                            return StepOutcome(
                                status="failed", error=f"More than {MAX_REDIRECTS} redirects; stopped at {url}."
                            )
                        try:
                            next_url = _parse_url(str(url.join(location)))
                        except (ApiCallError, ssrf.Refused) as error:
                            return StepOutcome(status="failed", error=f"Redirect refused: {error}")
                        if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                            method, body = "GET", b""
                            headers = _without(_without(headers, "Content-Type"), "Content-Length")
                        if (next_url.scheme, next_url.host, next_url.port) != origin:
                            # The credential was meant for the first host only, never a host it redirects to.
                            headers = {
                                name: value
                                for name, value in _without(headers, "Host").items()
                                if name.lower() not in prepared.secret_headers
                            }
                            auth = None
                        url = next_url
                        continue
                    content, truncated = self.read_body(response)
                finally:
                    response.close()
                return self.finish(response, content, truncated, time.monotonic() - started)
        raise AssertionError("unreachable: the loop returns on its last hop")

    def finish(self, response: httpx.Response, content: bytes, truncated: bool, elapsed: float) -> StepOutcome:
        content_type = response.headers.get("content-type", "")
        text = content.decode(response.charset_encoding or "utf-8", errors="replace")
        parsed = None
        if _is_json(content_type) and not truncated and content:
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
        headers: dict[str, str] = {}
        for name, value in response.headers.multi_items():
            if name.lower() in DROPPED_RESPONSE_HEADERS:
                continue
            headers[name.lower()] = f"{headers[name.lower()]}, {value}" if name.lower() in headers else value
        self.write(f"← {response.status_code} {response.reason_phrase} ({elapsed:.2f} s)\n")
        for name, value in headers.items():
            self.write(f"  {name}: {value}\n")
        if text:
            preview = text[:PREVIEW_CHARS]
            self.write(preview if preview.endswith("\n") else preview + "\n")
            if len(text) > PREVIEW_CHARS:
                self.write(
                    f"… ({len(content):,} bytes in all; the preview shows the first {PREVIEW_CHARS:,} characters)\n"
                )
        if truncated:
            self.write(f"… the body was cut at {len(content):,} bytes (RUNBOOKS_API_RESPONSE_CAP_BYTES)\n")
        result = self.masker.mask_data(
            {
                "status_code": response.status_code,
                "headers": headers,
                "json": parsed,
                "body": text,
                "body_truncated": truncated,
                "request": getattr(self, "request_shown", None),
            }
        )
        if response.status_code in self.expected:
            return StepOutcome(status="succeeded", result=result)
        expected = ", ".join(str(status) for status in self.expected)
        return StepOutcome(
            status="failed",
            result=result,
            error=f"The server answered {response.status_code}; the block expects {expected}.",
        )


def execute(ctx: StepContext) -> StepOutcome:
    config = ctx.block.get("config") or {}
    try:
        prepared = prepare(config, make_context(ctx.params, ctx.steps), ctx.credentials)
        outcome = Call(ctx, prepared, config).run()
    except (RenderError, ApiCallError, ssrf.Refused) as error:
        outcome = StepOutcome(status="failed", error=str(error))
    except Outcome as stop:
        outcome = stop.outcome
    except httpx.TimeoutException as error:
        timeout = config.get("timeout_seconds") or 30
        outcome = StepOutcome(
            status="timed_out", error=f"No complete answer within {timeout} s ({error or 'timeout'})."
        )
    except httpx.HTTPError as error:
        outcome = StepOutcome(status="failed", error=f"The request failed: {type(error).__name__}: {error}")
    if outcome.error:
        ctx.output.write(f"{outcome.error}\n")
    return outcome
