"""A mail server that accepts every mail and keeps none, for scripts/contract.sh.

    python3 scripts/smtp_sink.py PORT_FILE

Listens on 127.0.0.1 at a free port, writes the port to PORT_FILE once it listens, and
answers plain SMTP (no TLS, no AUTH) until killed: 220 greeting, 250 to EHLO (offering
8BITMIME and SMTPUTF8), HELO, MAIL, RCPT, RSET and NOOP, 354 to DATA and 250 at its end,
221 to QUIT. Python has had no smtpd module since 3.12, and latchkey only needs its
mails taken.
"""

import asyncio
import os
import sys


async def session(reader, writer):
    async def say(line):
        writer.write(line.encode() + b"\r\n")
        await writer.drain()

    try:
        await say("220 smtp-sink ready")
        while line := await reader.readline():
            verb = line.decode("latin-1").strip().split(" ", 1)[0].upper()
            if verb == "DATA":
                await say("354 end with <CRLF>.<CRLF>")
                while (data := await reader.readline()) and data.rstrip(b"\r\n") != b".":
                    pass
                await say("250 queued")
            elif verb == "QUIT":
                await say("221 bye")
                break
            elif verb == "EHLO":
                # Like most mail servers today, it takes UTF-8 addresses (RFC 6531).
                await say("250-smtp-sink\r\n250-8BITMIME\r\n250 SMTPUTF8")
            elif verb in ("HELO", "MAIL", "RCPT", "RSET", "NOOP"):
                await say("250 ok")
            else:
                await say("502 not implemented")
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def main(port_file):
    server = await asyncio.start_server(session, "127.0.0.1", 0)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.sockets[0].getsockname()[1]))
    os.replace(port_file + ".tmp", port_file)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
