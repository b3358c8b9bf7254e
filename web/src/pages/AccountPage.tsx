import { useEffect, useMemo, useState } from "react";
import { useLocation, useNavigate } from "react-router";
import type { User } from "@latchkey/client";
import { useAuth } from "../auth/AuthContext";
import { Alert } from "../components/Alert";
import { AllowedApps } from "../components/AllowedApps";
import { AvatarForm } from "../components/AvatarForm";
import { ChangeEmailForm } from "../components/ChangeEmailForm";
import { ChangePasswordForm } from "../components/ChangePasswordForm";
import { ConnectedAccounts } from "../components/ConnectedAccounts";
import { NoPasswordYet } from "../components/NoPasswordYet";
import { Page } from "../components/Page";
import { PasskeySection } from "../components/PasskeySection";
import { SecuritySection } from "../components/SecuritySection";
import { SessionList } from "../components/SessionList";
import { StepUpContext, type StepUp } from "../components/StepUpContext";
import { Time } from "../components/Time";
import { useFeatures } from "../components/useFeatures";
import { useMyIdentities } from "../components/useMyIdentities";
import { federationReturnState } from "../lib/stepUp";

export function AccountPage() {
  // <RequireAuth> guarantees a user here.
  const user = useAuth().user as User;
  const [sessionsVersion, setSessionsVersion] = useState(0);
  const features = useFeatures();
  const providers = useMemo(() => features?.providers ?? [], [features]);
  const identities = useMyIdentities(providers.length > 0);
  const hasPassword = identities.mine?.has_password ?? true;
  const arrival = useArrival();
  // The change a round trip to the provider for a fresh login interrupted.
  const resume = arrival.resume ?? null;

  const stepUp = useMemo<StepUp>(() => {
    // Each connected provider once, by the label the server gives it now.
    const linked = new Set(identities.mine?.identities.map((identity) => identity.provider));
    return { hasPassword, providers: providers.filter((provider) => linked.has(provider.id)) };
  }, [hasPassword, identities.mine, providers]);

  return (
    <Page title="Account" heading="Your account">
      <Alert
        tone="success"
        message={
          arrival.notice ??
          (arrival.reauthenticated ? "Confirmed it is you. Changes that need a recent login are allowed for a few minutes." : "")
        }
      />
      <StepUpContext.Provider value={stepUp}>
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
            <ChangeEmailForm
              username={user.username}
              // Only once it is known that the account has no password to ask for.
              resume={resume?.kind === "change_email" && identities.mine ? resume.new_email : undefined}
            />
          </section>
        ) : null}
        <section className="card" aria-labelledby="password-heading">
          <h2 id="password-heading">{hasPassword ? "Change password" : "Password"}</h2>
          {hasPassword ? (
            <ChangePasswordForm username={user.username} onChanged={() => setSessionsVersion((n) => n + 1)} />
          ) : (
            <NoPasswordYet user={user} canMail={features?.email ?? false} />
          )}
        </section>
        {providers.length > 0 ? (
          <section className="card" aria-labelledby="identities-heading">
            <h2 id="identities-heading">Connected accounts</h2>
            <ConnectedAccounts
              mine={identities.mine}
              loadError={identities.error}
              providers={providers}
              reload={identities.reload}
              resume={resume}
            />
          </section>
        ) : null}
        <section className="card" aria-labelledby="security-heading">
          <h2 id="security-heading">Two-step verification</h2>
          <SecuritySection username={user.username} resumeDisable={resume?.kind === "disable_totp"} />
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
        <section className="card" aria-labelledby="apps-heading">
          <h2 id="apps-heading">Apps you allowed</h2>
          <AllowedApps />
        </section>
      </StepUpContext.Provider>
    </Page>
  );
}

/**
 * What the way here brought along from /login/federated ("Connected GitHub.",
 * a confirmed step-up), kept for this visit and then dropped from the history
 * entry so a reload does not announce it again.
 */
function useArrival() {
  const location = useLocation();
  const navigate = useNavigate();
  const [arrival] = useState(() => federationReturnState(location.state));
  const hasState = location.state !== null && location.state !== undefined;
  useEffect(() => {
    if (hasState) void navigate({ pathname: location.pathname, search: location.search, hash: location.hash }, { replace: true });
  }, [hasState, navigate, location.pathname, location.search, location.hash]);
  return arrival;
}
