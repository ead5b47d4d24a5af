"""sepgen.common.identifiers: the name rule, and messages that do not echo a huge name back."""

from __future__ import annotations

import pytest

from sepgen.common.errors import SepgenError
from sepgen.common.identifiers import check_identifier


@pytest.mark.parametrize("name", ["blur", "_x9", "a" * 64])
def test_identifiers_pass(name):
    assert check_identifier(name) == name


def test_long_invalid_name_is_truncated_in_the_message():
    name = "bad-" * 1250  # 5000 characters
    with pytest.raises(SepgenError) as err:
        check_identifier(name)
    msg = str(err.value)
    assert msg == f"filter name {name[:40]!r}… (5000 characters) is not an identifier ([A-Za-z_][A-Za-z0-9_]*)"


def test_long_valid_name_is_truncated_in_the_message():
    with pytest.raises(SepgenError) as err:
        check_identifier("a" * 5000, "config key")
    assert str(err.value) == f"config key {'a' * 40!r}… (5000 characters) is longer than 64 characters"


@pytest.mark.parametrize("name, shown", [("my-blur", "'my-blur'"), (5, "5"), (None, "None")])
def test_short_names_are_shown_whole(name, shown):
    with pytest.raises(SepgenError, match=f"^filter name {shown} is not an identifier"):
        check_identifier(name)


@pytest.mark.parametrize("name", ["gl_blur", "__x", "a__b", "blur__"])
def test_shader_names_refuse_what_glsl_reserves(name):
    """One rule for `optimize`/`sweep` (before the fit), the build config and `emit` (issue 20)."""
    from sepgen import emit
    from sepgen.common.identifiers import check_shader_name

    for check in (check_shader_name, emit.check_prefix):
        with pytest.raises(SepgenError, match=r"cannot prefix shader identifiers \(GLSL reserves gl_ and __\)"):
            check(name)
    assert check_shader_name("g_l_blur") == "g_l_blur" and check_identifier(name) == name
