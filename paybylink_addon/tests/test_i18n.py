# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import polib

from odoo.tests import TransactionCase, tagged
from odoo.tools.misc import file_path
from odoo.tools.translate import TranslationModuleReader


@tagged("post_install", "-at_install")
class TestPaybylinkTranslations(TransactionCase):
    """French is first-class: every term Odoo would export is in the .pot and translated."""

    def test_every_term_is_in_the_pot_and_translated_in_french(self):
        pot = polib.pofile(file_path("paybylink_addon/i18n/paybylink_addon.pot"))
        pot_terms = {entry.msgid for entry in pot}
        french = {
            entry.msgid: entry.msgstr
            for entry in polib.pofile(file_path("paybylink_addon/i18n/fr.po"))
            if entry.msgstr and not entry.fuzzy and not entry.obsolete
        }
        terms = {
            source
            for module, _type, _name, _res_id, source, _value, _comments in (
                TranslationModuleReader(self.env.cr, ["paybylink_addon"])
            )
            if module == "paybylink_addon"
        }
        self.assertTrue(terms)
        self.assertEqual(sorted(terms - pot_terms), [], "terms missing from the .pot: export it")
        self.assertEqual(sorted(terms - french.keys()), [], "terms without a French translation")
