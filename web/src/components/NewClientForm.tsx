import { useState, type FormEvent } from "react";
import type { FieldErrors } from "../api/client";
import { createClient } from "../api/oauth2";
import type { IdTokenAlg, NewOAuthClient } from "../api/oauth2";
import { Alert } from "./Alert";
import { CheckboxField, Field, SelectField, TextAreaField } from "./Field";
import { useForm } from "./useForm";

// As the server names them in a 422's `fields`.
const FIELDS = ["name", "redirect_uris", "post_logout_redirect_uris", "public", "skip_consent", "id_token_signed_response_alg"] as const;

const EMPTY = { name: "", redirectUris: "", postLogoutUris: "", isPublic: false, skipConsent: false, alg: "RS256" as IdTokenAlg };

/** One URI a line; blank lines and stray spaces are nobody's intent. */
function lines(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
}

/** Registers an app; `onCreated` gets the answer, the only one that holds a confidential app's secret. */
export function NewClientForm({ onCreated }: { onCreated: (client: NewOAuthClient) => void }) {
  const [values, setValues] = useState(EMPTY);
  const form = useForm(FIELDS);
  const set = <K extends keyof typeof EMPTY>(key: K, value: (typeof EMPTY)[K]) => setValues((v) => ({ ...v, [key]: value }));

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const redirectUris = lines(values.redirectUris);
    void form.submit(
      async () => {
        const client = await createClient({
          name: values.name.trim(),
          redirect_uris: redirectUris,
          post_logout_redirect_uris: lines(values.postLogoutUris),
          public: values.isPublic,
          skip_consent: values.skipConsent,
          id_token_signed_response_alg: values.alg,
        });
        setValues(EMPTY);
        onCreated(client);
      },
      (): FieldErrors => ({
        ...(values.name.trim() === "" ? { name: "Enter a name." } : {}),
        ...(redirectUris.length === 0 ? { redirect_uris: "Enter at least one redirect URI." } : {}),
      }),
    );
  };

  return (
    <form id={form.formId} className="form" onSubmit={onSubmit} noValidate aria-label="Add an app">
      <Alert message={form.message} />
      <Field
        label="Name"
        name="name"
        value={values.name}
        onChange={(e) => set("name", e.target.value)}
        hint="Shown to users when the app asks them to allow it."
        error={form.errors.name}
        required
      />
      <TextAreaField
        label="Redirect URIs"
        name="redirect_uris"
        rows={3}
        value={values.redirectUris}
        onChange={(e) => set("redirectUris", e.target.value)}
        hint="One per line, matched exactly. https, or http on localhost, 127.0.0.1 or [::1]."
        error={form.errors.redirect_uris}
        autoCapitalize="none"
        spellCheck={false}
        required
      />
      <TextAreaField
        label="Post-logout redirect URIs"
        name="post_logout_redirect_uris"
        rows={2}
        value={values.postLogoutUris}
        onChange={(e) => set("postLogoutUris", e.target.value)}
        hint="Optional, one per line: where the app may send users after logging them out."
        error={form.errors.post_logout_redirect_uris}
        autoCapitalize="none"
        spellCheck={false}
      />
      <CheckboxField
        label="Public client"
        name="public"
        checked={values.isPublic}
        onChange={(e) => set("isPublic", e.target.checked)}
        hint="For apps that cannot keep a secret: single-page, mobile, desktop and command-line apps. They get no secret and must use PKCE."
        error={form.errors.public}
      />
      <CheckboxField
        label="Skip consent"
        name="skip_consent"
        checked={values.skipConsent}
        onChange={(e) => set("skipConsent", e.target.checked)}
        hint="For your own apps: users are not asked to allow them."
        error={form.errors.skip_consent}
      />
      <SelectField
        label="ID token algorithm"
        name="id_token_signed_response_alg"
        value={values.alg}
        onChange={(e) => set("alg", e.target.value as IdTokenAlg)}
        hint="RS256 unless the app's library supports EdDSA."
        error={form.errors.id_token_signed_response_alg}
      >
        <option value="RS256">RS256</option>
        <option value="EdDSA">EdDSA</option>
      </SelectField>
      <button type="submit" className="button button-primary" disabled={form.busy}>
        {form.busy ? "Adding…" : "Add app"}
      </button>
    </form>
  );
}
