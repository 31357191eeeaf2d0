"""TrainFromTable reads server files only inside the configured import directory (issue #14).

Absolute paths, `..`, links leading out and paths outside answer the same INVALID_ARGUMENT
whether or not the target exists, and no answer quotes the path or any file content.
"""

from __future__ import annotations

import os
import pathlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.scoring.usecases.train import confined_table_path, read_confined
from telco360_runtime.errors import InvalidArgument

SECRET = "TELCO360_SCORING_AUTH_TOKENS=s3cret-admin-token"
FIXED_ANSWERS = {
    ("NOT_ALLOWED", "must name a file inside the table import directory"),
    ("UNKNOWN_ID", "no such file in the table import directory"),
}


@pytest.fixture
def layout(tmp_path: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    imports = tmp_path / "imports"
    (imports / "q3").mkdir(parents=True)
    (imports / "q3" / "churn.csv").write_text("customer_id,churned\nC1,0\n")
    outside = tmp_path / "secrets.env"
    outside.write_text(SECRET)
    (imports / "link.csv").symlink_to(outside)
    (imports / "dirlink").symlink_to(tmp_path)
    return imports, outside


def refusal(import_dir: str, path: str) -> str:
    with pytest.raises(InvalidArgument) as err:
        confined_table_path(import_dir, path)
    [violation] = err.value.violations
    assert violation.field == "path"
    return f"{violation.description} {violation.reason}"


def test_files_inside_the_directory_are_read(layout) -> None:
    imports, _ = layout
    found = confined_table_path(str(imports), "q3/churn.csv")
    assert found == (imports / "q3" / "churn.csv").resolve()
    assert read_confined(str(found)).startswith(b"customer_id")
    assert confined_table_path(str(imports), "./q3/../q3/churn.csv") == found


@pytest.mark.parametrize(
    "path",
    ["../secrets.env", "/proc/self/environ", "/etc/passwd", "link.csv", "dirlink/secrets.env", "q3/../../secrets.env"],
)
def test_escapes_are_refused_without_echo(layout, path: str) -> None:
    imports, outside = layout
    text = refusal(str(imports), path)
    assert "NOT_ALLOWED" in text
    assert path not in text and "secrets" not in text and SECRET not in text and str(outside) not in text


def test_existence_outside_cannot_be_probed(layout) -> None:
    imports, _ = layout
    assert refusal(str(imports), "../secrets.env") == refusal(str(imports), "../no-such-file.env")


def test_missing_file_inside_and_no_directory_configured(layout) -> None:
    imports, _ = layout
    assert "UNKNOWN_ID" in refusal(str(imports), "q3/absent.csv")
    assert "UNKNOWN_ID" in refusal(str(imports), "q3")  # a folder is no table
    assert "NOT_ALLOWED" in refusal(str(imports), ".")
    assert "NOT_ALLOWED" in refusal(str(imports), "q3/\x00churn.csv")
    assert "NOT_ALLOWED" in refusal("", "q3/churn.csv")


@settings(max_examples=300, deadline=None)
@given(
    path=st.lists(
        st.sampled_from(["..", ".", "", "q3", "churn.csv", "link.csv", "/", "~", "\x00", "%2e%2e", "\\.."])
        | st.text(max_size=6),
        max_size=8,
    ).map("/".join)
)
def test_any_path_resolves_inside_or_is_refused(tmp_path_factory, path: str) -> None:
    root = tmp_path_factory.getbasetemp() / "fuzz-imports"
    (root / "q3").mkdir(parents=True, exist_ok=True)
    (root / "q3" / "churn.csv").write_text("a,b\n")
    try:
        found = confined_table_path(str(root), path)
    except InvalidArgument as err:
        [violation] = err.violations
        # One of the fixed answers: nothing of the path or of any file is echoed.
        assert (violation.reason, violation.description) in FIXED_ANSWERS
        return
    assert found.is_file() and found.is_relative_to(root.resolve())
    assert os.path.realpath(found) == str(found)
