# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What the local stand-ins (SMTP, Stripe) share: serving in a thread of their own."""

import threading


class LocalServer:
    """Serve ``self._server`` (a ``socketserver`` server) in this thread or in the background."""

    _server = None
    _thread = None

    def serve_forever(self):
        """Serve in this thread until interrupted, then close the socket."""
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def start(self):
        """Serve in a background thread; ``stop`` ends it."""
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop serving and wait for the background thread to end."""
        self._server.shutdown()
        self._thread.join()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()
