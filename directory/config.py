"""Configuration from the environment, with defaults that are safe on a laptop."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


_ON = {"1", "true", "yes", "on"}
_OFF = {"0", "false", "no", "off", ""}


def _bool(name: str, default: bool = False) -> bool:
    """A switch; a spelling that is neither on nor off is refused, naming the variable, because
    reading a typo ("ture") as off would quietly weaken a setting such as SESSION_COOKIE_SECURE."""
    value = os.environ.get(name)
    if value is None:
        return default
    word = value.strip().lower()
    if word not in _ON | _OFF:
        raise ValueError(f"{name}={value!r} is neither on (1, true, yes, on) nor off (0, false, no, off)")
    return word in _ON


def _switch_or_auto(name: str) -> bool | str:
    """A switch that may also be "auto" (the default): the app decides (see search_vectors)."""
    value = os.environ.get(name, "auto")
    return "auto" if value.strip().lower() == "auto" else _bool(name)


def _number(name: str, default: str, kind: type[int] | type[float] = int) -> Any:
    """A number from the environment; a value that is not one is refused, naming the variable."""
    value = os.environ.get(name, default)
    try:
        return kind(value)
    except ValueError:
        wanted = "a whole number" if kind is int else "a number"
        raise ValueError(f"{name}={value!r} is not {wanted}") from None


def _secret_key(instance_path: Path) -> str:
    """A per-installation key kept in the instance folder, so sessions survive restarts."""
    key_file = instance_path / "secret_key"
    instance_path.mkdir(parents=True, exist_ok=True)
    try:  # created exclusively: workers starting together must all end up with the same key
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):
            key = key_file.read_text().strip()
            if key:
                return key
            time.sleep(0.02)
        raise RuntimeError(f"{key_file} is empty: delete it to generate a new key") from None
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def from_environment(instance_path: Path) -> dict[str, Any]:
    """Every setting the app reads, each overridable by an environment variable of the same name."""
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY") or _secret_key(instance_path),
        "DATABASE_URL": os.environ.get("DATABASE_URL")
        or f"sqlite:///{instance_path / 'directory.sqlite3'}",
        "INDEX_DIR": os.environ.get("INDEX_DIR") or str(instance_path / "index"),
        "SYNONYMS_PATH": os.environ.get("SYNONYMS_PATH") or str(ROOT / "seeds" / "synonyms.txt"),
        "SEEDS_DIR": os.environ.get("SEEDS_DIR") or str(ROOT / "seeds"),
        "SITE_URL": os.environ.get("SITE_URL", ""),
        # A link template for chat contacts, e.g. https://chat.example/channels/{channel}
        "DIRECTORY_CHAT_URL": os.environ.get("DIRECTORY_CHAT_URL", ""),
        "DIRECTORY_AUTH": os.environ.get("DIRECTORY_AUTH", "local"),
        "DIRECTORY_AUTH_HEADER": os.environ.get("DIRECTORY_AUTH_HEADER", "X-Remote-User"),
        "DIRECTORY_TRUSTED_PROXIES": [
            p.strip() for p in os.environ.get("DIRECTORY_TRUSTED_PROXIES", "127.0.0.1").split(",") if p.strip()
        ],
        "DIRECTORY_REQUIRE_LOGIN": _bool("DIRECTORY_REQUIRE_LOGIN"),
        "DIRECTORY_DEMO_PASSWORD": os.environ.get("DIRECTORY_DEMO_PASSWORD", "directory-demo"),
        "MAX_CONTENT_LENGTH": _number("MAX_CONTENT_LENGTH", str(1024 * 1024)),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE"),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE"),
        "WTF_CSRF_TIME_LIMIT": None,
        "SEARCH_LOCK_TIMEOUT": _number("SEARCH_LOCK_TIMEOUT", "10", float),
        "PROXY_FIX": _number("PROXY_FIX", "0"),
        # Directories this small rebuild a lost index inside the request that notices (under a
        # second); larger ones rebuild in the background while search answers from the database.
        "SEARCH_INLINE_REBUILD_TEAMS": _number("SEARCH_INLINE_REBUILD_TEAMS", "100"),
        # Blend meaning into search ranking (search/semantic.py): on, off (words alone) or auto (on
        # while the directory holds at most SEARCH_SEMANTIC_MAX_TEAMS teams).
        "SEARCH_SEMANTIC": _switch_or_auto("SEARCH_SEMANTIC"),
        "SEARCH_SEMANTIC_MAX_TEAMS": _number("SEARCH_SEMANTIC_MAX_TEAMS", "5000"),
        # Days that searches and choices (with their per-visit keys) are kept for search learning.
        "SEARCH_LOG_RETENTION_DAYS": _number("SEARCH_LOG_RETENTION_DAYS", "30"),
        "AUTO_REPLY_RENDERS_PER_MINUTE": _number("AUTO_REPLY_RENDERS_PER_MINUTE", "3"),
        # The organisation's mail server, for `directory notify` (review reminders to owners).
        "SMTP_HOST": os.environ.get("SMTP_HOST", ""),
        "SMTP_PORT": _number("SMTP_PORT", "25"),
        "SMTP_FROM": os.environ.get("SMTP_FROM", ""),
        "SMTP_USER": os.environ.get("SMTP_USER", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _bool("SMTP_STARTTLS"),
    }
