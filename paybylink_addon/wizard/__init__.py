# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import paybylink_link_token_mixin
from . import account_move_send_wizard
from . import paybylink_reminder_wizard
from . import paybylink_send_wizard
