import { useEffect, useRef, useState } from "react";
import { Link, useLocation } from "react-router";
import { errorMessage } from "../api/client";
import { tokenFromHash, verifyEmail } from "../api/recovery";
import type { User } from "@latchkey/client";
import { useAuth } from "../auth/AuthContext";
import { Alert } from "../components/Alert";
import { Page } from "../components/Page";

type Outcome = { status: "working" } | { status: "done"; user: User } | { status: "failed"; message: string };

export function VerifyEmailPage() {
  const token = tokenFromHash(useLocation().hash);
  const { user, updateUser } = useAuth();
  const [outcome, setOutcome] = useState<Outcome>({ status: "working" });
  // A link works once: React's development double effects must not spend it twice.
  const sent = useRef("");

  useEffect(() => {
    if (token === "" || sent.current === token) return;
    sent.current = token;
    verifyEmail(token).then(
      (verified) => setOutcome({ status: "done", user: verified }),
      (error: unknown) => setOutcome({ status: "failed", message: errorMessage(error) }),
    );
  }, [token]);

  // The signed-in user here may be the one just verified: show it at once.
  useEffect(() => {
    if (outcome.status === "done" && user?.id === outcome.user.id) updateUser(outcome.user);
  }, [outcome, user?.id, updateUser]);

  let body;
  if (token === "") {
    body = <Alert message="This page needs the link from the mail we sent you. Open that link to confirm your address." />;
  } else if (outcome.status === "working") {
    body = <p role="status">Confirming your email address…</p>;
  } else if (outcome.status === "done") {
    body = <Alert tone="success" message={`Thank you: ${outcome.user.email ?? "your address"} is confirmed.`} />;
  } else {
    body = <Alert message={outcome.message} />;
  }

  return (
    <Page title="Confirm email address" narrow>
      <div className="card">
        {body}
        <p>{user ? <Link to="/account">Go to your account</Link> : <Link to="/login">Log in</Link>}</p>
      </div>
    </Page>
  );
}
