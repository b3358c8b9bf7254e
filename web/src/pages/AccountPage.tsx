import { useState } from "react";
import type { User } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { AvatarForm } from "../components/AvatarForm";
import { ChangeEmailForm } from "../components/ChangeEmailForm";
import { ChangePasswordForm } from "../components/ChangePasswordForm";
import { Page } from "../components/Page";
import { PasskeySection } from "../components/PasskeySection";
import { SecuritySection } from "../components/SecuritySection";
import { SessionList } from "../components/SessionList";
import { Time } from "../components/Time";
import { useFeatures } from "../components/useFeatures";

export function AccountPage() {
  // <RequireAuth> guarantees a user here.
  const user = useAuth().user as User;
  const [sessionsVersion, setSessionsVersion] = useState(0);
  const features = useFeatures();

  return (
    <Page title="Account" heading="Your account">
      <section className="card" aria-labelledby="profile-heading">
        <h2 id="profile-heading">Profile</h2>
        <dl className="facts">
          <dt>Username</dt>
          <dd>{user.username}</dd>
          <dt>Email</dt>
          <dd>
            {user.email ?? <span className="muted">None</span>}
            {user.email ? <span className="muted">{user.email_verified ? " (confirmed)" : " (not confirmed yet)"}</span> : null}
          </dd>
          <dt>Roles</dt>
          <dd>{user.roles.join(", ")}</dd>
          <dt>Member since</dt>
          <dd>
            <Time iso={user.created_at} />
          </dd>
        </dl>
      </section>
      <section className="card" aria-labelledby="avatar-heading">
        <h2 id="avatar-heading">Picture</h2>
        <AvatarForm user={user} />
      </section>
      {features?.email ? (
        <section className="card" aria-labelledby="email-heading">
          <h2 id="email-heading">Change email address</h2>
          <ChangeEmailForm username={user.username} />
        </section>
      ) : null}
      <section className="card" aria-labelledby="password-heading">
        <h2 id="password-heading">Change password</h2>
        <ChangePasswordForm username={user.username} onChanged={() => setSessionsVersion((n) => n + 1)} />
      </section>
      <section className="card" aria-labelledby="security-heading">
        <h2 id="security-heading">Two-step verification</h2>
        <SecuritySection username={user.username} />
      </section>
      {features?.passkeys ? (
        <section className="card" aria-labelledby="passkeys-heading">
          <h2 id="passkeys-heading">Passkeys</h2>
          <PasskeySection />
        </section>
      ) : null}
      <section className="card" aria-labelledby="sessions-heading">
        <h2 id="sessions-heading">Where you are signed in</h2>
        <SessionList reloadKey={sessionsVersion} />
      </section>
    </Page>
  );
}
