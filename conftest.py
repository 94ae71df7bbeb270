# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""pytest-odoo glue: Odoo's own runner marks the test under way, pytest-odoo 2.3 does not for 18.0.

Without the mark Odoo would, among others, really send emails and let crons commit, as it does in
production; with it, the addon's tests run as under ``odoo-bin --test-enable``. The checks under
``tests/`` run without Odoo, so nothing here imports it unless pytest-odoo is in use.
"""

import os

import pytest


@pytest.fixture(autouse=True)
def _odoo_current_test(request):
    if not request.config.pluginmanager.hasplugin("odoo") or not request.config.getoption(
        "--odoo-database", default=None
    ):
        yield
        return
    from odoo.modules import module

    previous = module.current_test
    module.current_test = request.node.nodeid
    yield
    module.current_test = previous


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI a skipped test fails: a browser test that cannot find Chromium must not pass unseen."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") == "true" and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where every test must run: {report.longrepr}"
