# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Load the pay page, Odoo's portal invoice page and two references with wrk; print their figures.

Five routes of one running server are measured in the same run:

- the pay page ``/paybylink/<token>``, over every invoice with a link in turn, as customers
  coming back to it see it: each worker serves a page it rendered before, as long as nothing
  it shows changed;
- the same pages rendered on every view (the workers keep none, system parameter
  ``paybylink.page_cache_size`` at 0 for these runs only), as a link's first view in a worker
  is;
- Odoo's own portal invoice page ``/my/invoices/<id>?access_token=...``, over the same invoices;
- ``/paybylink/help``, the pay page's layout without any invoice data: what the pay page cannot
  beat by much;
- Odoo's lightest route ``/web/health`` (no database, no session): the floor.

The load comes from ``wrk`` (C, event loop), not from Python threads: on a 2-core machine a
GIL-bound Python client takes a core's worth of CPU away from the server it measures. Each route
gets a warm-up, then ``--rounds`` rounds of ``--duration`` seconds, the routes taking turns
within a round (the pages kept are warmed again after each run that kept none: setting the
parameter back clears every worker's caches); a route's figures are the median over its
rounds of wrk's requests per second and its 50th and 90th percentile latency (wrk's latency
distribution gives 50/75/90/99), and a ratio between two routes the median of its value in each
round.

A small Lua script makes wrk rotate over the route's paths and count, per run, the requests it
sent, the responses that were not 2xx (wrk's own error count only sees statuses above 399) and
those without a Content-Length, whose end is the connection's close: wrk counts a socket read
error for each of these although the response is whole. A run stops with one request in flight
on each connection; the server still answers it (and counts its view) after wrk is gone, so the
view check compares the views counted with the requests sent, not with the responses wrk
received in time, and each run is followed by a pause for those requests to finish.

Odoo's website answers a visitor without a language cookie (wrk sends none) on
``/my/invoices/<id>`` with a redirect to the same page under a language prefix (``/en/...``);
the portal is measured at the page it redirects to, the one a browser shows.

Run by ``bench/pay_page``, which builds the database and starts the server.
"""

import argparse
import contextlib
import http.client
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import xmlrpc.client
from pathlib import Path

GOAL_PORTAL_THROUGHPUT_RATIO = 4
GOAL_PORTAL_MEDIAN_RATIO = 1 / 3
GOAL_HELP_THROUGHPUT_RATIO = 0.9
WRK_THREADS = 2
WARM_UP_SECONDS = 2
WRK_TIMEOUT = "30s"
SETTLE_SECONDS = 1
REDIRECTS = {301, 302, 303, 307, 308}
PAGE_CACHE_SIZE_PARAM = "paybylink.page_cache_size"

PAY_PAGE = "pay page /paybylink/<token>"
PAY_PAGE_RENDERED = "pay page, rendered every view"
PORTAL = "Odoo portal /my/invoices/<id>"
HELP = "/paybylink/help (page layout, no data)"
FLOOR = "floor: Odoo /web/health"

# wrk runs this in each of its threads, plus setup() and done() in a separate environment.
# init() gets the file of paths to rotate over (one a line) after wrk's "--". Before starting,
# wrk calls the first thread's request() once to check the request it makes, and sends nothing.
LUA_SCRIPT = """\
local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function init(args)
   prepared = {}
   for path in io.lines(args[1]) do
      table.insert(prepared, wrk.format(nil, path))
   end
   position = id % #prepared
   sent = id == 0 and -1 or 0
   not_2xx = 0
   unframed = 0
end

function request()
   sent = sent + 1
   position = position % #prepared + 1
   return prepared[position]
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      not_2xx = not_2xx + 1
   end
   for name in pairs(headers) do
      if name:lower() == "content-length" then
         return
      end
   end
   unframed = unframed + 1
end

function done(summary, latency, requests)
   local sent, not_2xx, unframed = 0, 0, 0
   for _, thread in ipairs(threads) do
      sent = sent + thread:get("sent")
      not_2xx = not_2xx + thread:get("not_2xx")
      unframed = unframed + thread:get("unframed")
   end
   io.write(string.format("bench: sent %d, not 2xx %d, unframed %d\\n", sent, not_2xx, unframed))
end
"""

TIME_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def wait_for_server(url, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"{url}/web/login", timeout=5)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def linked_invoices(url, db):
    """Return the invoices with a link: their page, portal access and view count."""
    uid = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common").authenticate(db, "admin", "admin", {})
    return xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object").execute_kw(
        db,
        uid,
        "admin",
        "account.move",
        "search_read",
        [[("paybylink_state", "!=", False)]],
        {"fields": ["paybylink_url", "access_token", "access_url", "paybylink_open_count"]},
    )


@contextlib.contextmanager
def pages_kept(url, db, kept):
    """Run with the workers keeping the pages they render for repeat views (the addon's
    default), or rendering the page on every view, as for a link's first view in a worker."""
    if kept:
        yield
        return
    models = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object")
    uid = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common").authenticate(db, "admin", "admin", {})

    def set_size(value):
        models.execute_kw(
            db, uid, "admin", "ir.config_parameter", "set_param", [PAGE_CACHE_SIZE_PARAM, value]
        )

    set_size("0")
    try:
        yield
    finally:
        set_size(False)


def landing_path(url, path, hops=5):
    """The path a client without cookies ends on from ``path``, following this server's
    redirects (asked like wrk does: no cookie, no user agent, which Odoo would take for a bot's).
    """
    target = urllib.parse.urlsplit(url)
    for _ in range(hops):
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        connection.close()
        location = response.getheader("Location")
        if response.status not in REDIRECTS or not location:
            return path
        moved = urllib.parse.urlsplit(urllib.parse.urljoin(f"{url}{path}", location))
        if moved.netloc != target.netloc:
            return path
        path = moved.path + (f"?{moved.query}" if moved.query else "")
    return path


def milliseconds(text):
    """wrk's duration ``12.34ms`` (or us, s, m, h) in milliseconds."""
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text).groups()
    return float(number) * TIME_UNITS[unit]


def parse_wrk(output):
    """The figures of one wrk run, from its output with ``--latency`` and our Lua script."""

    def find(pattern):
        match = re.search(pattern, output, re.MULTILINE)
        if not match:
            raise ValueError(f"no {pattern!r} in wrk's output:\n{output}")
        return match

    distribution = output[find(r"^\s*Latency Distribution").end() :]
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    sent, not_2xx, unframed = find(r"^bench: sent (\d+), not 2xx (\d+), unframed (\d+)$").groups()
    return {
        "rps": float(find(r"^Requests/sec:\s+([\d.]+)").group(1)),
        "p50": milliseconds(re.search(r"^\s*50%\s+(\S+)", distribution, re.MULTILINE).group(1)),
        "p90": milliseconds(re.search(r"^\s*90%\s+(\S+)", distribution, re.MULTILINE).group(1)),
        "answered": int(find(r"^\s*(\d+) requests in ").group(1)),
        "sent": int(sent),
        "not_2xx": int(not_2xx),
        "unframed": int(unframed),
        # connect, read, write, timeout
        "socket_errors": [int(n) for n in socket_errors.groups()] if socket_errors else [0] * 4,
    }


class Wrk:
    """Runs wrk on the server at ``url`` with our rotating script; one paths file per route."""

    def __init__(self, url, connections, folder):
        self.url = url
        self.connections = connections
        self.folder = Path(folder)
        self.script = self.folder / "rotate.lua"
        self.script.write_text(LUA_SCRIPT)
        self.paths = {}

    def add_route(self, name, paths):
        self.paths[name] = self.folder / f"paths{len(self.paths)}.txt"
        self.paths[name].write_text("".join(f"{path}\n" for path in paths))

    def run(self, name, seconds):
        command = [
            "wrk",
            f"--connections={self.connections}",
            f"--threads={WRK_THREADS}",
            f"--duration={seconds}s",
            f"--timeout={WRK_TIMEOUT}",
            "--latency",
            f"--script={self.script}",
            self.url,
            "--",
            str(self.paths[name]),
        ]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        time.sleep(SETTLE_SECONDS)  # the requests still in flight when wrk stopped
        return parse_wrk(output)


def round_ratio(runs, name, other, figure):
    """The median over the rounds of ``name``'s ``figure`` over ``other``'s in the same round."""
    return statistics.median(
        run[figure] / other_run[figure]
        for run, other_run in zip(runs[name], runs[other], strict=True)
    )


def ratio_line(label, value, goal, met, goal_text):
    verdict = "met" if met else "not met"
    return f"{label:34} {value:6.2f}  (goal {goal_text} {goal:.2f}): {verdict}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--connections", type=int, default=8, help="wrk's, default 8")
    parser.add_argument("--duration", type=int, default=10, help="seconds a round, default 10")
    parser.add_argument("--rounds", type=int, default=5, help="default 5")
    parser.add_argument("--server-options", default="", help="to print: how the server runs")
    args = parser.parse_args()
    if args.connections < WRK_THREADS:
        parser.error(f"--connections must be at least wrk's {WRK_THREADS} threads")
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    wait_for_server(args.url)
    invoices = linked_invoices(args.url, args.db)
    if not invoices:
        sys.exit("no invoice with a link in the database")
    portal_asked = [
        f"{invoice['access_url']}?access_token={invoice['access_token']}" for invoice in invoices
    ]
    pay_paths = [urllib.parse.urlsplit(invoice["paybylink_url"]).path for invoice in invoices]
    # In turn within a round, each page next to what it is compared with.
    routes = {
        PAY_PAGE: pay_paths,
        HELP: ["/paybylink/help"],
        PORTAL: [landing_path(args.url, path) for path in portal_asked],
        PAY_PAGE_RENDERED: pay_paths,
        FLOOR: ["/web/health"],
    }
    views_before = sum(invoice["paybylink_open_count"] for invoice in invoices)
    runs = {name: [] for name in routes}
    with tempfile.TemporaryDirectory(prefix="paybylink-wrk-") as folder:
        wrk = Wrk(args.url, args.connections, folder)
        for name, paths in routes.items():
            wrk.add_route(name, paths)
        rewarms = []

        def run(name, seconds):
            with pages_kept(args.url, args.db, name != PAY_PAGE_RENDERED):
                result = wrk.run(name, seconds)
            if name == PAY_PAGE_RENDERED:
                # Setting the parameter back made Odoo clear every worker's caches, the pages
                # kept among them: warm them again, as a running server has them.
                rewarms.append(wrk.run(PAY_PAGE, WARM_UP_SECONDS))
            return result

        warm_ups = {name: run(name, WARM_UP_SECONDS) for name in routes}
        for round_number in range(1, args.rounds + 1):
            for name in routes:
                runs[name].append(run(name, args.duration))
                print(
                    f"round {round_number}/{args.rounds}: {name}: "
                    f"{runs[name][-1]['rps']:.1f} requests/s",
                    file=sys.stderr,
                    flush=True,
                )
    views = sum(invoice["paybylink_open_count"] for invoice in linked_invoices(args.url, args.db))
    views -= views_before

    print(
        f"{len(invoices)} linked invoices; wrk {args.connections} connections, {WRK_THREADS} "
        f"threads; {args.rounds} rounds of {args.duration} s a route after a {WARM_UP_SECONDS} s "
        "warm-up; medians over the rounds"
    )
    if routes[PORTAL] != portal_asked:
        print(
            f"Odoo portal measured where it redirects: {portal_asked[0].split('?')[0]} -> "
            f"{routes[PORTAL][0].split('?')[0]} (and so on)"
        )
    print(
        f"{'route':38} {'requests/s':>10} {'p50 ms':>8} {'p90 ms':>8} "
        f"{'non-2xx':>8} {'socket errors c/r/w/t':>22}"
    )
    results = {}
    for name, measured in runs.items():
        every_run = [warm_ups[name], *measured]
        results[name] = {
            figure: statistics.median(run[figure] for run in measured)
            for figure in ("rps", "p50", "p90")
        }
        results[name]["not_2xx"] = sum(run["not_2xx"] for run in every_run)
        results[name]["unframed"] = sum(run["unframed"] for run in every_run)
        socket_errors = "/".join(
            str(sum(run["socket_errors"][kind] for run in every_run)) for kind in range(4)
        )
        print(
            f"{name:38} {results[name]['rps']:10.1f} {results[name]['p50']:8.1f} "
            f"{results[name]['p90']:8.1f} {results[name]['not_2xx']:8} {socket_errors:>22}"
        )
    unframed = [
        f"{result['unframed']} on {name.split(' /')[0]}"
        for name, result in results.items()
        if result["unframed"]
    ]
    if unframed:
        print(
            "responses without Content-Length (ended by the connection's close, each one a read "
            f"error for wrk): {', '.join(unframed)}"
        )
    # Ratios within each round, then their median: the machine's load drifts from one round to
    # the next more than between neighbouring runs.
    portal_throughput = round_ratio(runs, PAY_PAGE, PORTAL, "rps")
    portal_median = round_ratio(runs, PAY_PAGE, PORTAL, "p50")
    help_throughput = round_ratio(runs, PAY_PAGE, HELP, "rps")
    for line in (
        ratio_line(
            "pay page / portal throughput",
            portal_throughput,
            GOAL_PORTAL_THROUGHPUT_RATIO,
            portal_throughput >= GOAL_PORTAL_THROUGHPUT_RATIO,
            ">=",
        ),
        ratio_line(
            "pay page p50 / portal p50",
            portal_median,
            GOAL_PORTAL_MEDIAN_RATIO,
            portal_median <= GOAL_PORTAL_MEDIAN_RATIO,
            "<=",
        ),
        ratio_line(
            "pay page / help throughput",
            help_throughput,
            GOAL_HELP_THROUGHPUT_RATIO,
            help_throughput >= GOAL_HELP_THROUGHPUT_RATIO,
            ">=",
        ),
    ):
        print(line)
    print(
        f"{'rendered every view / portal':34} "
        f"{round_ratio(runs, PAY_PAGE_RENDERED, PORTAL, 'rps'):6.2f}  (p50 "
        f"{round_ratio(runs, PAY_PAGE_RENDERED, PORTAL, 'p50'):.2f} of the portal's; throughput "
        f"{round_ratio(runs, PAY_PAGE_RENDERED, HELP, 'rps'):.2f} of the help page's)"
    )
    # What bounds the portal ratio on this machine: no page this server serves goes faster
    # than its lightest route, which reads no user and renders nothing.
    print(
        f"{'floor / portal throughput':34} {round_ratio(runs, FLOOR, PORTAL, 'rps'):6.2f}  "
        f"(the most any page of this server can reach; the pay page does "
        f"{round_ratio(runs, PAY_PAGE, FLOOR, 'rps'):.2f} of the floor's)"
    )

    pay_runs = [
        *(run for name in (PAY_PAGE, PAY_PAGE_RENDERED) for run in (warm_ups[name], *runs[name])),
        *rewarms,
    ]
    sent = sum(run["sent"] for run in pay_runs)
    answered = sum(run["answered"] for run in pay_runs)
    print(
        f"views counted: {views} of {sent} pay page requests sent by wrk, warm-ups included "
        f"({answered} answered before their run ended, {sent - answered} in flight then)"
    )
    print(f"server: {args.server_options or 'options not given'}")
    failures = []
    if views != sent:
        failures.append(f"{views} views counted for {sent} pay page requests")
    failures.extend(
        f"{result['not_2xx']} non-2xx responses on {name}"
        for name, result in results.items()
        if result["not_2xx"]
    )
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
