# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The demo's SMTP sink keeps what it receives, in memory and as .eml files."""

import smtplib
from email.message import EmailMessage

# From tools/, on the tests' path (pyproject.toml), without importing the addon (Odoo).
import smtp_sink


def test_sink_keeps_every_message(tmp_path):
    message = EmailMessage()
    message["Subject"] = "Facture à payer"
    message["From"] = "compta@example.com"
    message["To"] = "client@example.com"
    message.set_content(".a line that starts with a dot\nand an accent: é")
    with (
        smtp_sink.SmtpSink(directory=str(tmp_path)) as sink,
        smtplib.SMTP("127.0.0.1", sink.port) as client,
    ):
        client.send_message(message)
        client.send_message(message)
    assert len(sink.messages) == 2
    received = sink.messages[0]
    assert received["Subject"] == "Facture à payer"
    assert received.get_content().splitlines()[0] == ".a line that starts with a dot"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["0001.eml", "0002.eml"]
