# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Drive the pay page and Odoo's portal invoice page of a running server; print their figures.

Odoo's lightest route, /web/health, is measured too, as the floor no page can go below. Each
page is asked for by ``--connections`` clients at once, each with a keep-alive connection
making ``--requests`` requests, over every invoice with a link in turn. It prints requests per
second and the median and 95th percentile latency of each page, their ratios, and checks that every
view of the pay page was counted (the views are recorded by concurrent workers).
"""

import argparse
import http.client
import statistics
import sys
import threading
import time
import urllib.parse
import urllib.request
import xmlrpc.client

GOAL_THROUGHPUT_RATIO = 4
GOAL_MEDIAN_RATIO = 1 / 3


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


def run(host, port, paths, connections, requests):
    """Request ``paths`` round-robin from ``connections`` threads; return (seconds, latencies)."""
    latencies, errors = [], []
    lock = threading.Lock()
    start = threading.Barrier(connections + 1)

    def client(offset):
        connection = http.client.HTTPConnection(host, port, timeout=30)
        mine = []
        start.wait()
        for index in range(requests):
            path = paths[(offset + index) % len(paths)]
            began = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - began)
            if response.status != 200:
                errors.append(f"{response.status} {path}")
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        sys.exit(f"{len(errors)} failed requests, e.g. {errors[0]}")
    return elapsed, latencies


def figures(elapsed, latencies):
    ordered = sorted(latencies)
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(ordered) * 1000,
        "p95": ordered[int(len(ordered) * 0.95) - 1] * 1000,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--requests", type=int, default=100, help="per connection and page")
    args = parser.parse_args()
    wait_for_server(args.url)
    target = urllib.parse.urlsplit(args.url)
    invoices = linked_invoices(args.url, args.db)
    views_before = sum(invoice["paybylink_open_count"] for invoice in invoices)
    pages = {
        "pay page /paybylink/<token>": [
            urllib.parse.urlsplit(invoice["paybylink_url"]).path for invoice in invoices
        ],
        "Odoo portal /my/invoices/<id>": [
            f"{invoice['access_url']}?access_token={invoice['access_token']}"
            for invoice in invoices
        ],
    }
    # Odoo's lightest route (no database, no session): what any page costs at least here.
    pages["floor: Odoo /web/health"] = ["/web/health"]
    results = {}
    for name, paths in pages.items():
        run(target.hostname, target.port, paths, args.connections, 5)  # warm up the workers
        results[name] = figures(
            *run(target.hostname, target.port, paths, args.connections, args.requests)
        )

    print(
        f"{len(invoices)} invoices, {args.connections} connections, "
        f"{args.requests} requests per connection and page"
    )
    print(f"{'page':32} {'requests/s':>11} {'p50 ms':>8} {'p95 ms':>8}")
    for name, result in results.items():
        print(f"{name:32} {result['rps']:11.1f} {result['p50']:8.1f} {result['p95']:8.1f}")
    ours, odoo, _floor = results.values()
    throughput_ratio = ours["rps"] / odoo["rps"]
    median_ratio = ours["p50"] / odoo["p50"]
    print(
        f"throughput: {throughput_ratio:.1f}x Odoo's portal page (goal {GOAL_THROUGHPUT_RATIO}x); "
        f"median latency: {median_ratio:.2f} of it (goal at most {GOAL_MEDIAN_RATIO:.2f})"
    )

    after = linked_invoices(args.url, args.db)
    views = sum(invoice["paybylink_open_count"] for invoice in after) - views_before
    expected = args.connections * (args.requests + 5)
    print(f"views counted: {views} of {expected} pay page requests")
    return 0 if views == expected else 1


if __name__ == "__main__":
    sys.exit(main())
