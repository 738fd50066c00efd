"""A thin client of the WhatsApp Cloud API (Graph API) on aiohttp: send, mark read, upload and download media.

Errors come back as `GraphError` with Meta's numeric code, the only part of an error Meta promises to keep
(titles "will eventually be deprecated"); what each code means for Bab is decided by the channel.
The base URL includes the API version (`WHATSAPP_API_BASE_URL`), so tests point it at a fake on 127.0.0.1.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from typing import Any

import aiohttp

from bot.handlers.bodies import read_limited

log = logging.getLogger(__name__)
TIMEOUT = aiohttp.ClientTimeout(total=30, connect=10)


class GraphError(Exception):
    """The Graph API refused a call (`code` is Meta's error code; 0 when the answer had none)."""

    def __init__(self, status: int, code: int, details: str = "") -> None:
        super().__init__(f"graph error {code} (HTTP {status})")
        self.status = status
        self.code = code
        self.details = details[:200]


class GraphUnavailable(Exception):
    """The Graph API could not be reached, timed out or answered 5xx: worth another try later.

    `unsure` when the request may have been carried out all the same (it was sent, and its answer was lost or
    was a 5xx); False when it never reached Meta (the connection could not be made).
    """

    def __init__(self, reason: str, unsure: bool = True) -> None:
        super().__init__(reason)
        self.unsure = unsure


class GraphClient:
    """Calls for one business phone number; never logs the token, message bodies or numbers."""

    def __init__(self, base_url: str, token: str, phone_number_id: str, timeout: float | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.phone_number_id = phone_number_id
        self._headers = {"Authorization": f"Bearer {token}"}
        self._session: aiohttp.ClientSession | None = None
        self.timeout = TIMEOUT if timeout is None else aiohttp.ClientTimeout(total=timeout,
                                                                           connect=min(timeout, 10.0))

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # Several hundred sends may be in flight; the default pool of 100 would queue them.
            self._session = aiohttp.ClientSession(timeout=self.timeout, connector=aiohttp.TCPConnector(limit=256))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        try:
            async with self.session().request(method, url, headers=self._headers, **kwargs) as response:
                if response.status >= 500:
                    raise GraphUnavailable(f"HTTP {response.status}")
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = None
                if response.status >= 400 or not isinstance(body, dict):
                    error = body.get("error", {}) if isinstance(body, dict) else {}
                    data = error.get("error_data") or {}
                    raise GraphError(response.status, int(error.get("code") or 0),
                                     str(data.get("details") or error.get("message") or ""))
                return body
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as error:  # the request never left
            raise GraphUnavailable(type(error).__name__, unsure=False) from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise GraphUnavailable(type(error).__name__) from error

    async def send(self, message: dict[str, Any]) -> str:
        """POST one message body (type and content; addressing included); returns its wamid."""
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", **message}
        answer = await self._call("POST", f"{self.base_url}/{self.phone_number_id}/messages", json=body)
        messages = answer.get("messages") or [{}]
        return str(messages[0].get("id") or "")

    async def mark_read(self, wamid: str, typing: bool = True) -> None:
        """Blue ticks on the person's message, and the typing bubble while Bab works (it lasts up to 25 s)."""
        body: dict[str, Any] = {"messaging_product": "whatsapp", "status": "read", "message_id": wamid}
        if typing:
            body["typing_indicator"] = {"type": "text"}
        await self._call("POST", f"{self.base_url}/{self.phone_number_id}/messages", json=body)

    async def upload(self, data: bytes, mime: str, filename: str) -> str:
        """Upload a file Bab will send; returns the media id (valid 30 days)."""
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", mime)
        form.add_field("file", data, filename=filename, content_type=mime)
        answer = await self._call("POST", f"{self.base_url}/{self.phone_number_id}/media", data=form)
        return str(answer.get("id") or "")

    async def download(self, media_id: str, max_bytes: int) -> tuple[bytes, str]:
        """A received file's bytes and mime type, checked against the sha256 Meta gives; the short-lived URL
        is asked for and read at once, with the token (Meta refuses it without)."""
        info = await self._call("GET", f"{self.base_url}/{media_id}",
                                params={"phone_number_id": self.phone_number_id})
        if int(info.get("file_size") or 0) > max_bytes:
            raise GraphError(413, 0, "file too large")
        url = str(info.get("url") or "")
        if not url.startswith(("https://", "http://")):
            raise GraphError(400, 0, "no media url")
        try:
            async with self.session().get(url, headers=self._headers) as response:
                if response.status >= 500:
                    raise GraphUnavailable(f"HTTP {response.status}")
                if response.status >= 400:
                    raise GraphError(response.status, 0, "media download refused")
                data = await read_limited(response.content, max_bytes)
        except (aiohttp.ClientError, TimeoutError) as error:
            raise GraphUnavailable(type(error).__name__) from error
        if data is None:
            raise GraphError(413, 0, "file too large")
        if not sha256_matches(data, str(info.get("sha256") or "")):
            raise GraphError(422, 0, "sha256 mismatch")
        return data, str(info.get("mime_type") or "")


def sha256_matches(data: bytes, expected: str) -> bool:
    """True when `expected` is empty or the SHA-256 of `data`, in hex or base64 (Meta has used both)."""
    if not expected:
        return True
    digest = hashlib.sha256(data).digest()
    return expected.lower() == digest.hex() or expected == base64.b64encode(digest).decode()
