import pytest

from collector.config import REDACTED, is_secret_key, redact


@pytest.mark.parametrize(
    "key",
    ["password", "api_key", "apiKey", "X-Api-Key", "client_secret", "bearer_token", "Authorization",
     "credentials", "private_key", "secret_access_key", "access_key_id", "passwd"],
)  # fmt: skip
def test_secret_looking_keys(key):
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["endpoint", "key_file", "auth", "authenticator", "keys", "tls", "headers"])
def test_ordinary_keys(key):
    assert not is_secret_key(key)


def test_redact_replaces_secret_values_at_any_depth_and_copies():
    data = {
        "exporters": {
            "awsemf": {"region": "eu-west-1", "access_key": "AKIA", "tls": {"key_file": "/k", "ca_file": "/c"}},
            "x": {"clients": [{"name": "a", "token": "t1"}], "credentials": {"user": "u", "pass": "p"}},
        }
    }
    redacted = redact(data)
    assert redacted == {
        "exporters": {
            "awsemf": {"region": "eu-west-1", "access_key": REDACTED, "tls": {"key_file": "/k", "ca_file": "/c"}},
            "x": {"clients": [{"name": "a", "token": REDACTED}], "credentials": REDACTED},
        }
    }
    assert data["exporters"]["awsemf"]["access_key"] == "AKIA"
    redacted["exporters"]["awsemf"]["tls"]["key_file"] = "changed"
    assert data["exporters"]["awsemf"]["tls"]["key_file"] == "/k"


def test_redact_secret_header_names_only_under_headers():
    data = {
        "headers": {"Authorization": "Bearer x", "Cookie": "c", "X-Auth-Token": "t", "X-Scope-OrgID": "tenant"},
        "cookie": "not a header",
    }
    assert redact(data) == {
        "headers": {"Authorization": REDACTED, "Cookie": REDACTED, "X-Auth-Token": REDACTED, "X-Scope-OrgID": "tenant"},
        "cookie": "not a header",
    }


def test_redact_password_in_url():
    assert redact({"endpoint": "https://user:s3cret@example.com:443/v1"}) == {
        "endpoint": f"https://user:{REDACTED}@example.com:443/v1"
    }
    assert redact({"endpoint": "https://example.com:443/a@b"}) == {"endpoint": "https://example.com:443/a@b"}


def test_unset_secrets_stay_visible():
    assert redact({"password": "", "token": None, "api_key": "k"}) == {"password": "", "token": None, "api_key": REDACTED}
