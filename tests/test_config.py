"""directory.config: settings from the environment, safe defaults, and the instance's own secret key."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from directory import config
from directory.config import ROOT, from_environment

NAMES = (
    "SECRET_KEY", "DATABASE_URL", "INDEX_DIR", "SYNONYMS_PATH", "SEEDS_DIR", "SITE_URL", "DIRECTORY_CHAT_URL",
    "DIRECTORY_AUTH", "DIRECTORY_AUTH_HEADER", "DIRECTORY_TRUSTED_PROXIES", "DIRECTORY_REQUIRE_LOGIN",
    "DIRECTORY_DEMO_PASSWORD", "MAX_CONTENT_LENGTH", "SESSION_COOKIE_SECURE", "SEARCH_LOCK_TIMEOUT", "PROXY_FIX",
    "SEARCH_INLINE_REBUILD_TEAMS", "SEARCH_SEMANTIC", "SEARCH_LOG_RETENTION_DAYS", "AUTO_REPLY_RENDERS_PER_MINUTE",
    "SMTP_HOST", "SMTP_PORT", "SMTP_FROM", "SMTP_USER", "SMTP_PASSWORD", "SMTP_STARTTLS",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_are_safe_on_a_laptop(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = from_environment(tmp_path)
    assert settings["DATABASE_URL"] == f"sqlite:///{tmp_path / 'directory.sqlite3'}"
    assert settings["INDEX_DIR"] == str(tmp_path / "index")
    assert settings["SEEDS_DIR"] == str(ROOT / "seeds")
    assert Path(settings["SYNONYMS_PATH"]).is_file()
    assert settings["DIRECTORY_AUTH"] == "local" and settings["DIRECTORY_TRUSTED_PROXIES"] == ["127.0.0.1"]
    assert settings["DIRECTORY_REQUIRE_LOGIN"] is False and settings["SEARCH_SEMANTIC"] == "auto"
    assert settings["SEARCH_SEMANTIC_MAX_TEAMS"] == 5000
    assert settings["MAX_CONTENT_LENGTH"] == 1024 * 1024 and settings["SMTP_PORT"] == 25
    assert settings["SESSION_COOKIE_HTTPONLY"] and settings["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert settings["SESSION_COOKIE_SECURE"] is False and settings["REMEMBER_COOKIE_SECURE"] is False
    assert settings["PROXY_FIX"] == 0 and settings["SEARCH_LOCK_TIMEOUT"] == 10.0
    assert len(settings["SECRET_KEY"]) == 64


def test_every_setting_reads_its_environment_variable(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in {
        "SECRET_KEY": "k", "DATABASE_URL": "postgresql://db/directory", "INDEX_DIR": "/srv/index",
        "SITE_URL": "https://directory.example", "MAX_CONTENT_LENGTH": "2048", "SEARCH_LOCK_TIMEOUT": "2.5",
        "PROXY_FIX": "1", "SMTP_PORT": "587", "SEARCH_LOG_RETENTION_DAYS": "7", "AUTO_REPLY_RENDERS_PER_MINUTE": "9",
        "DIRECTORY_TRUSTED_PROXIES": " 10.0.0.1, ,10.0.0.2 ,", "SESSION_COOKIE_SECURE": "yes",
    }.items():
        clean_env.setenv(name, value)
    settings = from_environment(tmp_path)
    assert settings["SECRET_KEY"] == "k" and not (tmp_path / "secret_key").exists()
    assert settings["DATABASE_URL"] == "postgresql://db/directory" and settings["INDEX_DIR"] == "/srv/index"
    assert settings["SITE_URL"] == "https://directory.example"
    assert settings["MAX_CONTENT_LENGTH"] == 2048 and settings["SEARCH_LOCK_TIMEOUT"] == 2.5
    assert (settings["PROXY_FIX"], settings["SMTP_PORT"]) == (1, 587)
    assert (settings["SEARCH_LOG_RETENTION_DAYS"], settings["AUTO_REPLY_RENDERS_PER_MINUTE"]) == (7, 9)
    assert settings["DIRECTORY_TRUSTED_PROXIES"] == ["10.0.0.1", "10.0.0.2"]
    assert settings["SESSION_COOKIE_SECURE"] is True and settings["REMEMBER_COOKIE_SECURE"] is True


@pytest.mark.parametrize(("value", "expected"), [
    ("1", True), ("true", True), (" TRUE ", True), ("Yes", True), ("on", True),
    ("0", False), ("false", False), ("no", False), ("off", False), ("", False),
])
def test_switches_read_the_usual_spellings(clean_env: pytest.MonkeyPatch, tmp_path: Path, value: str,
                                           expected: bool) -> None:
    clean_env.setenv("SECRET_KEY", "k")
    clean_env.setenv("DIRECTORY_REQUIRE_LOGIN", value)
    assert from_environment(tmp_path)["DIRECTORY_REQUIRE_LOGIN"] is expected


def test_a_switch_spelled_neither_on_nor_off_is_refused_naming_it(clean_env: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    clean_env.setenv("SECRET_KEY", "k")
    clean_env.setenv("SESSION_COOKIE_SECURE", "ture")
    with pytest.raises(ValueError, match="SESSION_COOKIE_SECURE"):
        from_environment(tmp_path)


def test_an_empty_variable_falls_back_to_the_default_path(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("SECRET_KEY", "")
    clean_env.setenv("DATABASE_URL", "")
    clean_env.setenv("INDEX_DIR", "")
    settings = from_environment(tmp_path)
    assert settings["DATABASE_URL"].startswith("sqlite:///") and settings["INDEX_DIR"] == str(tmp_path / "index")
    assert len(settings["SECRET_KEY"]) == 64


@pytest.mark.parametrize(("name", "value"), [
    ("MAX_CONTENT_LENGTH", "1MB"), ("SMTP_PORT", "smtp"), ("SEARCH_LOCK_TIMEOUT", "ten"), ("PROXY_FIX", "yes"),
])
def test_a_number_that_is_not_one_is_refused(clean_env: pytest.MonkeyPatch, tmp_path: Path, name: str,
                                            value: str) -> None:
    clean_env.setenv("SECRET_KEY", "k")
    clean_env.setenv(name, value)
    with pytest.raises(ValueError):
        from_environment(tmp_path)


@pytest.mark.parametrize(("name", "value"), [("MAX_CONTENT_LENGTH", "1MB"), ("SMTP_PORT", "smtp")])
def test_a_bad_number_names_its_variable(clean_env: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str) -> None:
    clean_env.setenv("SECRET_KEY", "k")
    clean_env.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        from_environment(tmp_path)


def test_the_secret_key_is_made_once_private_and_kept(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    instance = tmp_path / "new" / "instance"
    first = from_environment(instance)["SECRET_KEY"]
    key_file = instance / "secret_key"
    assert key_file.read_text() == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert from_environment(instance)["SECRET_KEY"] == first
    assert from_environment(tmp_path / "other")["SECRET_KEY"] != first


def test_workers_starting_together_share_one_key(tmp_path: Path) -> None:
    barrier = threading.Barrier(8)
    keys: list[str] = []

    def start() -> None:
        barrier.wait()
        keys.append(config._secret_key(tmp_path))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert (tmp_path / "secret_key").read_text() == keys[0]


def test_an_empty_key_file_is_named_rather_than_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("  \n")
    waits: list[float] = []
    monkeypatch.setattr(config.time, "sleep", waits.append)
    with pytest.raises(RuntimeError, match="secret_key is empty: delete it"):
        config._secret_key(tmp_path)
    assert len(waits) == 50  # it waited for a worker that might be writing it
    assert os.path.getsize(tmp_path / "secret_key") == 3


@pytest.mark.parametrize(("value", "expected"), [("auto", "auto"), (" AUTO ", "auto"), ("1", True), ("off", False)])
def test_semantic_search_is_on_off_or_auto(clean_env: pytest.MonkeyPatch, tmp_path: Path, value: str,
                                           expected: bool | str) -> None:
    clean_env.setenv("SECRET_KEY", "k")
    clean_env.setenv("SEARCH_SEMANTIC", value)
    assert from_environment(tmp_path)["SEARCH_SEMANTIC"] == expected
