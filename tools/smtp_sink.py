# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A local SMTP server that accepts every message and keeps it.

The tests point an ``ir.mail_server`` at it so that Odoo's mail queue really speaks SMTP; the demo
command runs it as a script so that a user can read every email the demo sends::

    python3 smtp_sink.py --port 2525 --directory /tmp/mails

Only what Python's ``smtplib`` (and so Odoo) uses is spoken: EHLO/HELO, MAIL, RCPT, DATA, RSET,
NOOP and QUIT, without authentication or TLS. It listens on loopback only.
"""

import argparse
import contextlib
import email
import email.policy
import itertools
import logging
import os
import socketserver
import threading

# Beside it in tools/, which is on the path of the tests (pyproject.toml) and of a script run.
from local_server import LocalServer

_logger = logging.getLogger(__name__)

_MAX_LINE = 1 << 20


class _SmtpHandler(socketserver.StreamRequestHandler):
    def _reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        self._reply("220 paybylink SMTP sink")
        recipients = []
        while True:
            raw = self.rfile.readline(_MAX_LINE)
            if not raw:
                return
            command = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = command[:4].upper()
            if verb == "EHLO":
                self._reply("250-paybylink-sink")
                self._reply("250-8BITMIME")
                self._reply("250 SMTPUTF8")
            elif verb in ("HELO", "NOOP"):
                self._reply("250 OK")
            elif verb == "MAIL":
                recipients = []
                self._reply("250 OK")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip().strip("<>"))
                self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 End data with <CR><LF>.<CR><LF>")
                self.server.sink.store(recipients, self._read_data())
                recipients = []
                self._reply("250 OK: queued")
            elif verb == "RSET":
                recipients = []
                self._reply("250 OK")
            elif verb == "QUIT":
                self._reply("221 Bye")
                return
            else:
                self._reply("502 Command not implemented")

    def _read_data(self):
        lines = []
        while True:
            line = self.rfile.readline(_MAX_LINE)
            if not line or line in (b".\r\n", b".\n"):
                return b"".join(lines)
            # Undo the sender's dot-stuffing (RFC 5321, 4.5.2).
            lines.append(line[1:] if line.startswith(b"..") else line)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class SmtpSink(LocalServer):
    """An SMTP server on 127.0.0.1 that keeps every message it receives.

    :param int port: the port to listen on; 0 takes a free one (read it from ``port``)
    :param str directory: where to write each message as an ``.eml`` file, if given
    """

    def __init__(self, port=0, directory=None):
        self.directory = directory
        self.messages = []
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self._server = _Server(("127.0.0.1", port), _SmtpHandler)
        self._server.sink = self
        self.port = self._server.server_address[1]
        self._thread = None

    def store(self, recipients, data):
        """Keep one received message, and write it to ``directory`` if one was given."""
        message = email.message_from_bytes(data, policy=email.policy.default)
        with self._lock:
            number = next(self._counter)
            self.messages.append(message)
            if self.directory:
                path = os.path.join(self.directory, f"{number:04d}.eml")
                with open(path, "wb") as eml:
                    eml.write(data)
                _logger.info(
                    "mail %04d: %s -> %s (%s)",
                    number,
                    message["subject"],
                    ", ".join(recipients),
                    path,
                )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--directory", required=True, help="where each message is written")
    args = parser.parse_args()
    os.makedirs(args.directory, exist_ok=True)
    sink = SmtpSink(args.port, args.directory)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    _logger.info("SMTP sink listening on 127.0.0.1:%s, writing to %s", sink.port, args.directory)
    with contextlib.suppress(KeyboardInterrupt):
        sink.serve_forever()


if __name__ == "__main__":
    main()
