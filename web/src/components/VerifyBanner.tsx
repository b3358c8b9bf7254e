import { useState } from "react";
import { errorMessage } from "../api/client";
import { resendVerification } from "../api/recovery";
import { useAuth } from "../auth/AuthContext";
import { useFeatures } from "./useFeatures";

/** Reminds a signed-in user whose address is not confirmed yet, with a way to get a new link. */
export function VerifyBanner() {
  const { user } = useAuth();
  const features = useFeatures();
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  if (!user?.email || user.email_verified || !features?.email) return null;

  const onResend = async () => {
    setBusy(true);
    try {
      await resendVerification();
      setNote(`A new link is on its way to ${user.email}.`);
    } catch (error) {
      setNote(errorMessage(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="banner" role="region" aria-label="Email confirmation">
      <p>
        Please confirm your email address <strong>{user.email}</strong>: open the link in the mail we sent you.{" "}
        <button type="button" className="button-link" onClick={() => void onResend()} disabled={busy}>
          {busy ? "Sending…" : "Send a new link"}
        </button>
      </p>
      <p role="status">{note}</p>
    </div>
  );
}
