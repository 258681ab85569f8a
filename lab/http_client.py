"""HTTP GETs against the lab's components that fail with one actionable LabError.

Every HTTP call of `lab drill` and `lab load` goes through here. A stopped lab, a component
that hangs or another program on a lab port then gives one line naming the URL and the next
step, not a requests traceback.
"""

from __future__ import annotations

import requests

from lab.components import READY_PATHS
from lab.errors import LabError

START_HINT = "start it with `make lab` or `python -m lab up` (or `docker compose up -d` for the compose lab)"
DEFAULT_TIMEOUT_S = 5.0


def get(url: str, *, component: str, params: dict | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> requests.Response:
    """GET `url`; raise LabError on a failed connection, a timeout or a non-2xx status."""
    try:
        response = requests.get(url, params=params, timeout=timeout_s, allow_redirects=False)
    except requests.Timeout:
        # Checked before ConnectionError, because ConnectTimeout is both.
        raise LabError(
            f"GET {url} to the {component} timed out after {timeout_s:g} s; "
            "check its log and `python -m lab status`"
        ) from None
    except requests.ConnectionError:
        raise LabError(f"the lab is not reachable at {url} (no connection to the {component}); {START_HINT}") from None
    except requests.RequestException as error:
        raise LabError(f"GET {url} ({component}) failed: {error}") from None
    if not 200 <= response.status_code < 300:
        raise LabError(f"the {component} at {url} returned HTTP {response.status_code}: {_snippet(response.text)}")
    return response


def get_json(url: str, *, component: str, params: dict | None = None, timeout_s: float = DEFAULT_TIMEOUT_S):
    """GET `url` and return its decoded JSON body; raise LabError as `get` does, or when the body is not JSON."""
    response = get(url, component=component, params=params, timeout_s=timeout_s)
    try:
        return response.json()
    except ValueError:
        raise LabError(
            f"the {component} at {url} returned HTTP {response.status_code} with a body that is not JSON "
            f"({_snippet(response.text)}); is another program listening on that port?"
        ) from None


def unexpected_body(component: str, url: str, error: Exception) -> LabError:
    """Return the LabError for a JSON body that lacks a field the caller needs."""
    return LabError(
        f"the {component} at {url} returned JSON without the expected fields ({type(error).__name__}: {error}); "
        "is another program listening on that port?"
    )


def require_ready(urls: dict[str, str], components: tuple[str, ...] | list[str], *, timeout_s: float = 3.0) -> None:
    """Raise LabError naming the first component whose ready path does not return 2xx."""
    for component in components:
        get(urls[component] + READY_PATHS[component], component=component, timeout_s=timeout_s)


def _snippet(text: str, length: int = 80) -> str:
    text = " ".join(text.split())
    return repr(text[:length] + ("..." if len(text) > length else ""))
