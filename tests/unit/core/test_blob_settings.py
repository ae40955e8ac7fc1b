"""Which blob store the environment names, and how an S3 bucket is configured."""

from __future__ import annotations

import pytest
from fairline_events.blobs import S3BlobStore, S3Settings, blob_store

SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"


def test_s3_is_chosen_by_configuration_and_its_secret_never_shows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAIRLINE_BLOB_STORE", "S3")
    monkeypatch.setenv("FAIRLINE_S3_ENDPOINT", "http://minio:9000")
    monkeypatch.setenv("FAIRLINE_S3_BUCKET", "fairline-files")
    monkeypatch.setenv("FAIRLINE_S3_ACCESS_KEY_ID", "fairline")
    monkeypatch.setenv("FAIRLINE_S3_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("FAIRLINE_S3_PREFIX", "/exhibitors/")
    store = blob_store(pool=None)
    assert isinstance(store, S3BlobStore)
    assert store.settings == S3Settings(
        bucket="fairline-files",
        endpoint="http://minio:9000",
        region="us-east-1",
        access_key_id="fairline",
        secret_access_key=SECRET,
        prefix="exhibitors/",
        addressing="path",  # an S3-compatible server: the bucket goes in the path
    )
    assert SECRET not in repr(store) and SECRET not in repr(store.settings)


def test_aws_itself_needs_only_a_bucket_and_its_credential_chain() -> None:
    settings = S3Settings.from_env(
        {"FAIRLINE_S3_BUCKET": "fair", "FAIRLINE_S3_REGION": "cn-north-1"}
    )
    assert settings == S3Settings(bucket="fair", region="cn-north-1", addressing="auto")


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({}, "set FAIRLINE_S3_BUCKET"),
        (
            {"FAIRLINE_S3_BUCKET": "b", "FAIRLINE_S3_ACCESS_KEY_ID": "k"},
            "both FAIRLINE_S3_ACCESS_KEY_ID and FAIRLINE_S3_SECRET_ACCESS_KEY",
        ),
        (
            {"FAIRLINE_S3_BUCKET": "b", "FAIRLINE_S3_SECRET_ACCESS_KEY": SECRET},
            "both FAIRLINE_S3_ACCESS_KEY_ID and FAIRLINE_S3_SECRET_ACCESS_KEY",
        ),
        ({"FAIRLINE_S3_BUCKET": "b", "FAIRLINE_S3_ADDRESSING": "dns"}, "use path or virtual"),
    ],
)
def test_an_incomplete_s3_configuration_says_what_is_missing(
    env: dict[str, str], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem) as caught:
        S3Settings.from_env(env)
    assert SECRET not in str(caught.value)


def test_an_unknown_store_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAIRLINE_BLOB_STORE", "ftp")
    with pytest.raises(ValueError, match="use postgres, s3 or disk"):
        blob_store(pool=None)
