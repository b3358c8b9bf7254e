// The child processes a journey starts (latchkey, the example servers): reading the line
// they print when ready, and stopping them.

import type { ChildProcess } from "node:child_process";

/** The first line the process prints, usually the URL it listens on. */
export function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolveLine, reject) => {
    let buffer = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const newline = buffer.indexOf("\n");
      if (newline >= 0) resolveLine(buffer.slice(0, newline));
    });
    child.once("exit", (code) => reject(new Error(`${child.spawnfile} exited with ${code} before printing a line`)));
  });
}

/** Closes its stdin (the upstream providers stop on it), SIGTERM, SIGKILL after five seconds. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.stdin?.end();
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}
