#!/usr/bin/env python3
"""The benchmark's Python peer: what a typical admin writes instead of
securid-bulk. Standard library only: a thread pool, urllib, and a naive retry
(sleep the Retry-After, or one second, and try again, up to five times).

It clears the DS100 PIN of every row of a CSV with userId,tokenSerialNumber
columns and prints one JSON line: rows, ok, failed, requests, elapsed_seconds.
"""

import argparse
import csv
import json
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

PATH = "/AdminInterface/restapi/v1/ds100/clearPin/otp"
ATTEMPTS = 5


def clear_pin(base_url, token, row):
    body = json.dumps(
        {"userId": row["userId"], "tokenSerialNumber": row["tokenSerialNumber"]}
    ).encode()
    sent = 0
    for _ in range(ATTEMPTS):
        request = urllib.request.Request(
            base_url + PATH,
            data=body,
            method="PATCH",
            headers={
                "Authorization": "Bearer " + token,
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        sent += 1
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
                return True, sent
        except urllib.error.HTTPError as e:
            e.read()
            if e.code != 429 and e.code < 500:
                return False, sent
            time.sleep(float(e.headers.get("Retry-After") or 1))
        except OSError:
            time.sleep(1)
    return False, sent


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("input")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()

    with open(args.input, newline="") as f:
        rows = list(csv.DictReader(f))
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        outcomes = list(pool.map(lambda r: clear_pin(args.base_url, args.token, r), rows))
    elapsed = time.monotonic() - started
    ok = sum(1 for good, _ in outcomes if good)
    json.dump(
        {
            "rows": len(rows),
            "ok": ok,
            "failed": len(rows) - ok,
            "requests": sum(sent for _, sent in outcomes),
            "elapsed_seconds": elapsed,
        },
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    main()
