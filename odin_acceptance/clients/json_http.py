"""A small JSON-over-HTTP client shared by the API wrappers."""

from __future__ import annotations

from typing import Any

import requests

from odin_acceptance.core import timeouts
from odin_acceptance.core.errors import ApiError

__all__ = ["ApiError", "JsonApi"]


class JsonApi:
    def __init__(self, base_url: str, name: str, auth: tuple[str, str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = name
        self._session = requests.Session()
        self._session.auth = auth

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", timeouts.HTTP_REQUEST)
        response = self._session.request(method, self.base_url + path, **kwargs)
        if response.status_code >= 400:
            raise ApiError(
                f"{self.name}: {method} {path} -> HTTP {response.status_code}: {response.text[:500]}",
                response.status_code,
            )
        return response

    def probe(self, path: str) -> str:
        """A readiness/health endpoint: a non-2xx answer means "not yet", not an error."""
        response = self._session.get(self.base_url + path, timeout=timeouts.HTTP_REQUEST)
        assert response.ok, f"{self.name} {path}: HTTP {response.status_code} {response.text[:200].strip()}"
        return response.text

    def get_json(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None).json()

    def post_json(self, path: str, payload: Any) -> Any:
        response = self.request("POST", path, json=payload)
        return response.json() if response.content else None

    def put_json(self, path: str, payload: Any) -> Any:
        return self.request("PUT", path, json=payload).json()

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path).json()

    def get_text(self, path: str) -> str:
        return self.request("GET", path).text

    def metrics_text(self) -> str:
        """The component's own metrics, in the Prometheus text format."""
        return self.get_text("/metrics")
