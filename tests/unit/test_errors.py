"""One error root; every class knows its HTTP status and JSON type."""

from __future__ import annotations

import builtins

from deskbox import errors


def test_every_error_descends_from_the_root_and_is_registered() -> None:
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, Exception)]
    for cls in classes:
        assert issubclass(cls, errors.DeskboxError)
        assert errors.ERROR_TYPES[cls.error_type] is cls
        assert cls.__name__ in errors.__doc__  # the tree in the docstring names it


def test_timeout_is_also_the_builtin_timeout() -> None:
    assert issubclass(errors.TimeoutError, builtins.TimeoutError)


def test_field_error_helper() -> None:
    error = errors.InvalidActionError.at(("body", "cwd"), "not a directory")
    assert error.status_code == 422
    assert error.details == [{"loc": ["body", "cwd"], "msg": "not a directory", "type": "value_error"}]
    assert str(error) == "body.cwd: not a directory"
