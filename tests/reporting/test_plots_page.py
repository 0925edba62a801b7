import io
import tarfile

import pytest
from saerepro.reporting.plots_page import SCRIPTS, template


def fake_package(folder, name, member, code):
    with tarfile.open(folder / name, "w:gz") as tar:
        data = code.encode()
        info = tarfile.TarInfo(member)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def test_the_template_inlines_the_scripts_and_keeps_dvcs_placeholder(tmp_path):
    for i, (name, member) in enumerate(SCRIPTS.items()):
        fake_package(tmp_path, name, member, f"var lib{i} = '</script>';")
    page = template(tmp_path)
    assert "{plot_divs}" in page and "{scripts}" not in page
    assert all(f"var lib{i}" in page for i in range(3))
    assert "</script>';" not in page  # a closing tag inside a script is escaped
    assert "cdn" not in page


def test_a_missing_package_says_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="make plots"):
        template(tmp_path)
