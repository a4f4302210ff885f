from __future__ import annotations

import pytest

from parley.errors import ValidationFailed
from parley.validation import check_length, check_metadata, check_url, check_username


def test_length_counts_code_points_not_bytes() -> None:
    check_length("content", "😀" * 4000, 1, 4000)
    with pytest.raises(ValidationFailed):
        check_length("content", "😀" * 4001, 1, 4000)


@pytest.mark.parametrize("name", ["abc", "A.b-c_9", "x" * 32])
def test_usernames_of_the_allowed_set_pass(name: str) -> None:
    check_username(name, 3, 32)


@pytest.mark.parametrize("name", ["ab", "x" * 33, "has space", "émile", "a/b"])
def test_usernames_outside_the_allowed_set_fail(name: str) -> None:
    with pytest.raises(ValidationFailed):
        check_username(name, 3, 32)


@pytest.mark.parametrize("url", ["https://example.com/a.png", "http://host:8080/x?y=1"])
def test_http_urls_pass(url: str) -> None:
    check_url("avatarUrl", url, 2048)


@pytest.mark.parametrize("url", ["ftp://example.com/a", "javascript:alert(1)", "https://", "x"])
def test_other_urls_fail(url: str) -> None:
    with pytest.raises(ValidationFailed):
        check_url("avatarUrl", url, 2048)


def test_metadata_depth_counts_the_top_level_object_as_one() -> None:
    check_metadata({"a": {"b": {"c": {"d": {}}}}}, 8192, 5)
    with pytest.raises(ValidationFailed):
        check_metadata({"a": {"b": {"c": {"d": {"e": {}}}}}}, 8192, 5)


def test_metadata_lists_count_as_a_level() -> None:
    check_metadata({"a": [[[1]]]}, 8192, 4)
    with pytest.raises(ValidationFailed):
        check_metadata({"a": [[[[1]]]]}, 8192, 4)


def test_metadata_size_is_measured_as_compact_utf8_json() -> None:
    # {"k":"..."} is 8 bytes of structure around the value.
    check_metadata({"k": "x" * (8192 - 8)}, 8192, 5)
    with pytest.raises(ValidationFailed):
        check_metadata({"k": "x" * (8192 - 7)}, 8192, 5)
    with pytest.raises(ValidationFailed):
        check_metadata({"k": "é" * 4093}, 8192, 5)  # two bytes each in UTF-8
