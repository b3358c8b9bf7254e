import { createHmac } from "node:crypto";
import { expect, type Page } from "@playwright/test";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function base32Decode(text: string): Buffer {
  let bits = 0;
  let value = 0;
  const bytes: number[] = [];
  for (const char of text.replace(/=+$/, "").toUpperCase()) {
    const index = BASE32.indexOf(char);
    if (index < 0) throw new Error(`not base32: ${char}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(bytes);
}

/** RFC 6238 with HMAC-SHA-1, 6 digits, 30-second steps: the code of `step`. */
export function totp(secret: string, step: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 1_000_000).padStart(6, "0");
}

export const currentStep = () => Math.floor(Date.now() / 1000 / 30);

/**
 * Turns on the authenticator app from the account page, where `page` must be,
 * and puts the recovery codes away. Answers the secret.
 */
export async function enableTotp(page: Page): Promise<string> {
  const security = page.getByRole("region", { name: "Two-step verification" });
  await security.getByRole("button", { name: "Set up authenticator app" }).click();
  const secret = (await security.getByTestId("totp-secret").textContent())!.trim();
  await security.getByLabel("Code from the app").fill(totp(secret, currentStep()));
  await security.getByRole("button", { name: "Turn on" }).click();
  await security.getByRole("button", { name: "I have saved them" }).click();
  await expect(security.getByText("Authenticator app: on.")).toBeVisible();
  return secret;
}
