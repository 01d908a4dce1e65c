"""The school server a desktop was connected to, kept in its data folder: the password
never in the plain file, the environment still winning, a broken file as if none."""

from __future__ import annotations

import json
import stat

import pytest

from app.config import RunMode, load_settings
from app.school_server import (
    CONNECTION_FILE,
    PASSWORD_FILE,
    forget_school_server,
    load_school_server,
    save_school_server,
    split_password,
)

URL = "postgresql://office:s3cr%40t@school.example:5433/rollbook?sslmode=verify-full"


@pytest.fixture(autouse=True)
def no_keyring(monkeypatch):
    """The test machine has no desktop keyring: the file beside sync.json is used."""
    monkeypatch.setattr("app.school_server._keyring", lambda: None)


def test_the_password_is_kept_apart_readable_by_this_user_only(tmp_path):
    kept = save_school_server(tmp_path, URL, " office-1 ", "hill", interval_s=120)
    assert kept.password_kept_in == "file" and kept.school_code == "HILL"
    plain = (tmp_path / CONNECTION_FILE).read_text(encoding="utf-8")
    assert "s3cr" not in plain
    assert json.loads(plain) == {
        "url": "postgresql://office@school.example:5433/rollbook?sslmode=verify-full",
        "device_name": "office-1", "school_code": "HILL", "interval_s": 120}  # fmt: skip
    secret = tmp_path / PASSWORD_FILE
    assert secret.read_text(encoding="utf-8") == "s3cr@t"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    again = load_school_server(tmp_path)
    assert again is not None and again.url == URL
    assert split_password(again.url) == (kept.shown_url, "s3cr@t")
    assert again.device_name == "office-1" and again.interval_s == 120


def test_a_connected_data_folder_starts_in_replica_mode_unless_the_environment_says_otherwise(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("ROLLBOOK_SERVER_URL", raising=False)
    monkeypatch.delenv("ROLLBOOK_DEVICE_NAME", raising=False)
    monkeypatch.delenv("ROLLBOOK_SCHOOL", raising=False)
    assert load_settings(data_dir=tmp_path).mode is RunMode.EMBEDDED
    save_school_server(tmp_path, URL, "office-1", "HILL")
    settings = load_settings(data_dir=tmp_path)
    assert settings.mode is RunMode.REPLICA and settings.server_url == URL
    assert settings.device_name == "office-1" and settings.school_code == "HILL"
    monkeypatch.setenv("ROLLBOOK_SERVER_URL", "postgresql://other@elsewhere/db")
    monkeypatch.setenv("ROLLBOOK_DEVICE_NAME", "laptop-2")
    settings = load_settings(data_dir=tmp_path)
    assert settings.server_url == "postgresql://other@elsewhere/db"
    assert settings.device_name == "laptop-2"


def test_forgetting_removes_the_password_too_and_a_broken_file_counts_as_none(tmp_path):
    save_school_server(tmp_path, URL, "office-1", "HILL")
    forget_school_server(tmp_path)
    assert not (tmp_path / CONNECTION_FILE).exists() and not (tmp_path / PASSWORD_FILE).exists()
    (tmp_path / CONNECTION_FILE).write_text("{not json", encoding="utf-8")
    assert load_school_server(tmp_path) is None


def test_a_server_without_a_password_keeps_no_secret_file(tmp_path):
    kept = save_school_server(tmp_path, "postgresql://office@school/rollbook", "o", "MAIN")
    assert kept.password_kept_in == "none" and not (tmp_path / PASSWORD_FILE).exists()
