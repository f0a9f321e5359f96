from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.settings import Settings, SettingsError, setting_names

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_the_embedded_stack() -> None:
    s = Settings.from_env({})
    assert s.embedded_database and not s.uses_redis and not s.uses_s3
    assert s.port == 8000
    assert s.max_upload_bytes == 100 * 1024 * 1024


def test_values_are_parsed_by_type_and_empty_means_default() -> None:
    s = Settings.from_env(
        {
            "PORT": "9001",
            "WS_RATE_PER_S": "12.5",
            "LOG_JSON": "off",
            "REDIS_URL": "",
            "DATA_DIR": "/d",
        }
    )
    assert (s.port, s.ws_rate_per_s, s.log_json, s.redis_url) == (9001, 12.5, False, None)
    assert str(s.data_dir) == "/d"


@pytest.mark.parametrize(("name", "raw"), [("PORT", "eighty"), ("LOG_JSON", "maybe")])
def test_bad_values_name_the_variable(name: str, raw: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: raw})


def test_readme_table_lists_every_variable() -> None:
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", readme, re.MULTILINE))
    assert set(setting_names()) - documented == set()


def test_short_jwt_secret_is_refused() -> None:
    with pytest.raises(SettingsError, match="JWT_SECRET"):
        Settings.from_env({"JWT_SECRET": "short"})
    assert Settings.from_env({"JWT_SECRET": "s" * 32}).jwt_secret == "s" * 32


def test_generated_secret_file_is_private_and_stable(tmp_path: Path) -> None:
    from server.embedded import jwt_secret

    first = jwt_secret(tmp_path)
    assert len(first) >= 32 and jwt_secret(tmp_path) == first
    assert (tmp_path / "jwt_secret").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["jwt_secret"]
