import { useState } from "react";
import { forgotPassword } from "../api/recovery";
import type { User } from "@latchkey/client";
import { Alert } from "./Alert";
import { useForm } from "./useForm";

/**
 * The password section of an account made through a provider: there is no
 * current password to type, so a password is chosen through the mailed
 * reset link instead.
 */
export function NoPasswordYet({ user, canMail }: { user: User; canMail: boolean }) {
  const [sent, setSent] = useState(false);
  const form = useForm([]);

  const send = async () => {
    // The server answers alike for every name; it mails the account's own address.
    if (await form.submit(() => forgotPassword(user.email ?? user.username))) setSent(true);
  };

  return (
    <div className="form no-password">
      <p>
        Your account has no password yet: you log in with a connected account. A password lets you log in here directly
        too.
      </p>
      {!canMail ? (
        <p className="muted">This server cannot send mail, so a password cannot be set from here. Ask its administrator.</p>
      ) : !user.email ? (
        <p className="muted">Your account has no email address to send a link to. Ask the administrator to set a password.</p>
      ) : sent ? (
        <Alert
          tone="success"
          message={`A link to choose your password is on its way to ${user.email}. It works for 30 minutes.`}
        />
      ) : (
        <>
          <Alert message={form.message} />
          <p>We will mail a link to {user.email} where you can choose one.</p>
          <button type="button" className="button button-primary" disabled={form.busy} onClick={() => void send()}>
            {form.busy ? "Sending…" : "Mail me a link to set a password"}
          </button>
        </>
      )}
    </div>
  );
}
