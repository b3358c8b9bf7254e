import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import type { ParsedMail } from "mailparser";

const MAIL_PACKAGES = ["smtp-server", "mailparser"];

/** The mail packages this spec needs that are not installed, by name. */
export function missingMailPackages(): string[] {
  const require = createRequire(import.meta.url);
  return MAIL_PACKAGES.filter((name) => {
    try {
      require.resolve(name);
      return false;
    } catch {
      return true;
    }
  });
}

export interface Mail {
  to: string[];
  subject: string;
  text: string;
}

export interface Mailbox {
  /** What latchkey's `[smtp] url` names: plain SMTP on 127.0.0.1. */
  url: string;
  /** Every mail delivered so far, oldest first. */
  mails: Mail[];
  /** The first mail to `to` that `matches`, waiting for it to arrive. */
  waitFor: (to: string, matches?: (mail: Mail) => boolean, timeoutMs?: number) => Promise<Mail>;
  stop: () => Promise<void>;
}

/**
 * A real SMTP server on a free port of 127.0.0.1 that accepts every mail and
 * keeps it parsed in memory, so a journey can read what latchkey sent. No TLS
 * and no login: latchkey's `smtp://` URL speaks plain SMTP.
 */
export async function startMailbox(): Promise<Mailbox> {
  const { SMTPServer } = await import("smtp-server");
  const { simpleParser } = await import("mailparser");
  const mails: Mail[] = [];
  const server = new SMTPServer({
    disabledCommands: ["AUTH", "STARTTLS"],
    authOptional: true,
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream).then(
        (parsed) => {
          mails.push(toMail(parsed));
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;

  const waitFor: Mailbox["waitFor"] = async (to, matches = () => true, timeoutMs = 15_000) => {
    const address = to.toLowerCase();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const mail = mails.find((m) => m.to.includes(address) && matches(m));
      if (mail) return mail;
      if (Date.now() > deadline) {
        const seen = mails.map((m) => `  to ${m.to.join(", ")}: ${m.subject}`).join("\n") || "  (none)";
        throw new Error(`no matching mail to ${to} arrived within ${timeoutMs / 1000} s; mails delivered:\n${seen}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    waitFor,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function toMail(parsed: ParsedMail): Mail {
  const headers = parsed.to === undefined ? [] : Array.isArray(parsed.to) ? parsed.to : [parsed.to];
  return {
    to: headers.flatMap((h) => h.value.map((a) => (a.address ?? "").toLowerCase())),
    subject: parsed.subject ?? "",
    text: parsed.text ?? "",
  };
}

/** The first link in a mail's plain-text body that leads to `path` (e.g. "/reset-password"). */
export function linkIn(mail: Mail, path: string): string {
  for (const match of mail.text.matchAll(/https?:\/\/\S+/g)) {
    if (new URL(match[0]).pathname === path) return match[0];
  }
  throw new Error(`no link to ${path} in the mail "${mail.subject}":\n${mail.text}`);
}
