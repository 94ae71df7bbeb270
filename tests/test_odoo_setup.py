# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The commands' own Odoo (bin/lib/odoo_setup.sh): never half-made, and its failures said plainly.

The whole setup (a clone of Odoo and its requirements) is too long for a check; these run its
steps that decide what is taken for a working Odoo and what the user is told.
"""

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def bash(script, *args, env=None):
    """Run ``script`` with bin/lib/odoo_setup.sh sourced; ``args`` are its $1, $2..."""
    return subprocess.run(
        ["bash", "-c", f". bin/lib/odoo_setup.sh\n{script}", "bash", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("path", sorted((REPO / "bin" / "lib").glob("*.sh")), ids=lambda p: p.name)
def test_sourced_scripts_parse(path):
    result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_the_project_odoo_is_ignored_by_git():
    result = subprocess.run(
        ["git", "check-ignore", "-q", ".odoo/venv/bin/python3"], cwd=REPO, check=False
    )
    assert result.returncode == 0


def test_an_unreachable_source_is_named_in_one_message_and_leaves_no_source(tmp_path):
    result = bash(
        "_odoo_setup_clone $1",
        str(tmp_path),
        env={"ODOO_SOURCE": str(tmp_path / "nowhere")},
    )
    assert result.returncode != 0
    assert f"ODOO_SOURCE={tmp_path / 'nowhere'}" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "src").exists() and not (tmp_path / "src.partial").exists()


def test_an_environment_without_its_marker_is_not_taken_for_a_working_odoo(tmp_path):
    (tmp_path / "src" / "odoo").mkdir(parents=True)
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    python = tmp_path / "venv" / "bin" / "python3"
    python.write_text("#!/bin/sh\n")
    python.chmod(0o755)
    assert bash("odoo_setup_ready $1", str(tmp_path)).returncode != 0
    (tmp_path / "venv" / ".paybylink-complete").touch()
    assert bash("odoo_setup_ready $1", str(tmp_path)).returncode == 0


def test_a_python_odoo_18_cannot_run_on_is_named(tmp_path):
    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\necho 3.13\n")
    fake.chmod(0o755)
    result = bash("_odoo_setup_check_python", env={"PATH": f"{tmp_path}:{os.environ['PATH']}"})
    assert result.returncode != 0
    assert "python3 is Python 3.13; Odoo 18 needs 3.10, 3.11 or 3.12" in result.stderr
