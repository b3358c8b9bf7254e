#!/usr/bin/env python3
"""Resident memory of a latchkey process holding N idle connections.

    idle_connections.py PID HOST:PORT [N]

Opens N TCP connections that send nothing (the slowloris pattern), samples the server's
VmRSS before and while they are all open, then counts how many the server has closed
once `server.header_timeout` has passed, and its VmRSS after.
"""
import asyncio
import resource
import sys
import time


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise SystemExit("no VmRSS")


async def main():
    pid, target = int(sys.argv[1]), sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000
    host, port = target.rsplit(":", 1)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, n + 100)), hard))
    before = rss_mib(pid)
    started = time.monotonic()
    conns = []
    for i in range(0, n, 500):
        conns += await asyncio.gather(*(asyncio.open_connection(host, int(port)) for _ in range(min(500, n - i))))
    opened = time.monotonic() - started
    await asyncio.sleep(1)
    held = rss_mib(pid)
    print(f"{n} idle connections opened in {opened:.1f} s: RSS {before:.1f} MiB before, "
          f"{held:.1f} MiB while held ({(held - before) * 1024 / n:.2f} KiB per connection)")

    async def ended_by_server(reader):
        """'closed' (EOF), 'reset' (RST) or 'open' after 30 s."""
        try:
            return "closed" if await asyncio.wait_for(reader.read(1), 30) == b"" else "open"
        except asyncio.TimeoutError:
            return "open"
        except ConnectionError:
            return "reset"

    ends = await asyncio.gather(*(ended_by_server(r) for r, _ in conns))
    print(f"within 30 s the server closed {ends.count('closed')} and reset {ends.count('reset')} of {n} "
          f"(header timeout); {ends.count('open')} still open; RSS {rss_mib(pid):.1f} MiB after")


if __name__ == "__main__":
    asyncio.run(main())
