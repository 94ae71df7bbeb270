# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import account_move
from . import paybylink_visit
from . import res_company
from . import res_config_settings
