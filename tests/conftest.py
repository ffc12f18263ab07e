"""pytest options and fixtures shared by the suite."""
import pytest

from codegen.unicode_tables import render_unicode_tables


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/ from the current code generator")


@pytest.fixture(scope="session")
def unicode_c(tmp_path_factory):
    """The generated Unicode class tables every C build of the runtime links."""
    path = tmp_path_factory.mktemp("unicode") / "unicode_tables.gen.c"
    path.write_text(render_unicode_tables())
    return path
