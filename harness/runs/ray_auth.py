"""Ray token authentication for `--ray-address`: find the token, ask the cluster whether it wants one.

Ray ≥ 2.59 starts clusters with token authentication when a token exists (`ray start --head`
finds `~/.ray/auth_token`), but a driver joining with an explicit address only sends the token
when `RAY_AUTH_MODE=token` is set in its own environment. Without it, `ray.init` retries for
~20 s, printing a GCS warning per try, and ends in a bare ConnectionError. So before `ray.init`
the harness asks the cluster's GCS one cheap question, first without a token: an answer means
the cluster wants none (a token-mode driver would then refuse the cluster's own calls);
UNAUTHENTICATED means it wants one, which is looked up the way Ray does and tried, then used
(`RAY_AUTH_MODE=token`) or reported in one line that says where tokens come from.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

MODE_ENV = "RAY_AUTH_MODE"
TOKEN_ENV = "RAY_AUTH_TOKEN"
TOKEN_PATH_ENV = "RAY_AUTH_TOKEN_PATH"
DEFAULT_TOKEN_PATH = Path("~/.ray/auth_token")
# Any authenticated GCS method serves; this one takes an empty request and does no work.
PROBE_METHOD = "/ray.rpc.NodeInfoGcsService/GetClusterId"

HOW_TO = ("copy the head node's token here (`ray get-auth-token` on the head prints it; "
          "export RAY_AUTH_TOKEN=<token> or write it to ~/.ray/auth_token) and start each worker node with "
          "`RAY_AUTH_MODE=token ray start --address ...` and the same token; "
          "or run the whole cluster with RAY_AUTH_MODE=disabled on a private network")


class RayAuthError(RuntimeError):
    """The cluster wants a token this driver does not have: one line saying what to do."""


@dataclass(frozen=True)
class Token:
    value: str
    source: str  # where it was found, for the message


def find_token(env: dict[str, str] | None = None, home: Path | None = None) -> Token | None:
    """The token Ray would use, in Ray's documented precedence: RAY_AUTH_TOKEN, the file
    RAY_AUTH_TOKEN_PATH names, then ~/.ray/auth_token."""
    env = os.environ if env is None else env
    if env.get(TOKEN_ENV, "").strip():
        return Token(env[TOKEN_ENV].strip(), f"${TOKEN_ENV}")
    named = env.get(TOKEN_PATH_ENV)
    default = (home / ".ray" / "auth_token") if home else DEFAULT_TOKEN_PATH.expanduser()
    path = Path(named).expanduser() if named else default
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return Token(value, str(path)) if value else None


def probe(address: str, token: str | None, timeout: float = 5.0) -> str:
    """One GCS call: 'ok', 'unauthenticated', or 'unknown' (unreachable, TLS, another Ray...:
    left to ray.init, which says why)."""
    try:
        import grpc
    except ImportError:
        return "unknown"
    metadata = [("authorization", f"Bearer {token}")] if token else []
    with grpc.insecure_channel(address) as channel:
        call = channel.unary_unary(PROBE_METHOD)  # no (de)serializers: bytes in, bytes out
        try:
            call(b"", timeout=timeout, metadata=metadata)
        except grpc.RpcError as exc:
            code = exc.code() if callable(getattr(exc, "code", None)) else None
            return "unauthenticated" if code == grpc.StatusCode.UNAUTHENTICATED else "unknown"
    return "ok"


def prepare(address: str) -> str | None:
    """Make this process authenticate to the cluster at host:port as the cluster requires.

    Returns the auth mode to set before `ray.init` ('token'), or None to leave Ray's setting;
    raises RayAuthError, with what to do, when the cluster wants a token this driver lacks.
    """
    if os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true"):
        return None  # a TLS cluster: the plain probe cannot speak to it
    if probe(address, None) != "unauthenticated":
        return None  # the cluster takes unauthenticated calls (or ray.init will say why not)
    mode = os.environ.get(MODE_ENV, "")
    if mode and mode.lower() != "token":
        raise RayAuthError(f"the Ray cluster at {address} requires token authentication, but {MODE_ENV}="
                           f"{mode} is set here; unset it (the harness then sends the token) or {HOW_TO}")
    token = find_token()
    if token is None:
        raise RayAuthError(f"the Ray cluster at {address} requires token authentication and no token was "
                           f"found here (${TOKEN_ENV}, ${TOKEN_PATH_ENV}, ~/.ray/auth_token); {HOW_TO}")
    if probe(address, token.value) == "unauthenticated":
        raise RayAuthError(f"the Ray cluster at {address} rejected the token from {token.source} "
                           f"(not this cluster's token); {HOW_TO}")
    return "token"


def enable_token_mode(ray_module: object) -> None:
    """RAY_AUTH_MODE=token for this process, as `ray.init(address='auto')` does for itself: Ray
    reads its config once at import, so the cached config is refreshed too."""
    os.environ[MODE_ENV] = "token"
    raylet = getattr(ray_module, "_raylet", None)
    config = getattr(raylet, "Config", None)
    if config is not None:
        config.initialize("")
