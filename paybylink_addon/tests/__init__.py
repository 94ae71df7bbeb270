# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import test_access
from . import test_bank_matching
from . import test_i18n
from . import test_mail_delivery
from . import test_page
from . import test_page_browser
from . import test_payment_undone
from . import test_reminder
from . import test_reminder_schedule
from . import test_send
from . import test_send_with_invoice
from . import test_send_refusals
from . import test_sepa_qr
from . import test_stripe_checkout
from . import test_stripe_concurrency
from . import test_stripe_webhook
from . import test_ui
