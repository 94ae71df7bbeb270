# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import account_bank_statement_line
from . import account_move
from . import account_move_line
from . import account_move_send
from . import account_partial_reconcile
from . import ir_http
from . import paybylink_link
from . import paybylink_stripe_event
from . import paybylink_stripe_session
from . import paybylink_visit
from . import res_company
from . import res_config_settings
from . import res_partner
