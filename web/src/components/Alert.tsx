import type { ReactNode } from "react";

/**
 * The live region for messages that belong to a whole form or page. It is
 * always rendered (empty when there is nothing to say) because screen readers
 * announce changes to a region that already exists more reliably than a new one.
 */
export function Alert({ message, tone = "error" }: { message: ReactNode; tone?: "error" | "success" | "info" }) {
  const role = tone === "error" ? "alert" : "status";
  return (
    <div role={role} className={message ? `alert alert-${tone}` : "alert-empty"}>
      {message}
    </div>
  );
}
