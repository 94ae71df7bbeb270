# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Checks of the repository that need no Odoo: manifest, data files, translations, linters."""

import ast
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import polib
import pytest

REPO = Path(__file__).resolve().parent.parent
ADDON = REPO / "paybylink_addon"
MANIFEST = ast.literal_eval((ADDON / "__manifest__.py").read_text())
PLACEHOLDER_RE = re.compile(r"%\(\w+\)s|\{\{.*?\}\}|<[^>]*t-(?:out|if|att|else)[^>]*>")


def run(*command):
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)


def test_manifest_follows_the_contract():
    assert re.fullmatch(r"18\.0\.\d+\.\d+\.\d+", MANIFEST["version"])
    assert MANIFEST["license"] == "LGPL-3"
    assert {"account_payment", "portal", "mail", "base_iban"} <= set(MANIFEST["depends"])
    assert "stripe" in MANIFEST["external_dependencies"]["python"]


def test_manifest_lists_every_data_file_and_only_existing_ones():
    listed = set(MANIFEST["data"])
    assert all((ADDON / path).is_file() for path in listed)
    on_disk = {
        str(path.relative_to(ADDON))
        for folder in ("data", "security", "views", "wizard")
        for path in (ADDON / folder).glob("*")
        if path.suffix in (".xml", ".csv")
    }
    assert on_disk == listed


@pytest.mark.parametrize(
    "path", sorted(ADDON.rglob("*.xml")), ids=lambda path: str(path.relative_to(ADDON))
)
def test_xml_is_well_formed(path):
    assert ET.parse(path).getroot().tag == "odoo"


def test_access_rights_header():
    header = (ADDON / "security" / "ir.model.access.csv").read_text().splitlines()[0]
    assert header == "id,name,model_id:id,group_id:id,perm_read,perm_write,perm_create,perm_unlink"


def test_french_translation_is_complete_and_keeps_placeholders():
    pot = polib.pofile(str(ADDON / "i18n" / "paybylink_addon.pot"))
    french = {entry.msgid: entry for entry in polib.pofile(str(ADDON / "i18n" / "fr.po"))}
    assert len(pot) > 0
    for term in pot:
        entry = french.get(term.msgid)
        assert entry is not None and entry.msgstr, f"no French for {term.msgid!r}"
        assert not entry.fuzzy, f"fuzzy French for {term.msgid!r}"
        assert sorted(PLACEHOLDER_RE.findall(entry.msgstr)) == sorted(
            PLACEHOLDER_RE.findall(term.msgid)
        ), f"placeholders differ in the French for {term.msgid!r}"


def test_ruff():
    for command in (("check",), ("format", "--check")):
        result = run(sys.executable, "-m", "ruff", *command, ".")
        assert result.returncode == 0, result.stdout + result.stderr


def test_pylint_odoo():
    result = run(sys.executable, "-m", "pylint", "--rcfile=.pylintrc", "paybylink_addon")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", ["bin/test", "bin/demo", ".ci/run"])
def test_scripts_are_executable_bash(script):
    path = REPO / script
    assert path.stat().st_mode & 0o111, f"{script} is not executable"
    result = run("bash", "-n", str(path))
    assert result.returncode == 0, result.stderr


def test_readme_names_the_two_commands_and_ci_runs_the_test_one():
    readme = (REPO / "README.rst").read_text()
    assert "bin/demo" in readme and "bin/test" in readme
    assert re.search(r"^exec bin/test\b", (REPO / ".ci" / "run").read_text(), re.MULTILINE)
