import { expect, type Page } from "@playwright/test";
import { test as base, uniqueName } from "./fixtures.ts";
import { startServers } from "./latchkey.ts";
import { missingUpstreamPackages, startUpstream, type Upstream } from "./upstream.ts";

export { expect };

/** The two providers every federation journey's latchkey is configured with. */
export interface Upstreams {
  /** panva's oidc-provider: latchkey's provider `test`, labelled "Test provider". */
  oidc: Upstream;
  /** The GitHub-shaped server: latchkey's provider `github`, labelled "GitHub". */
  github: Upstream;
}

export const PROVIDERS = { oidc: { id: "test", label: "Test provider" }, github: { id: "github", label: "GitHub" } } as const;

/**
 * The usual fixtures, with a latchkey whose configuration lists both upstreams. The
 * client secrets reach latchkey only through the environment, as in production.
 */
export const test = base.extend<object, { upstreams: Upstreams }>({
  upstreams: [
    async ({}, use, workerInfo) => {
      const oidc = await startUpstream("oidc", `oidc-${workerInfo.workerIndex}`, {
        client_id: "latchkey",
        client_secret: "oidc-e2e-secret",
        accounts: [],
      });
      const github = await startUpstream("github", `github-${workerInfo.workerIndex}`, {
        client_id: "latchkey-github",
        client_secret: "github-e2e-secret",
        users: [],
      }).catch(async (error: unknown) => {
        await oidc.stop();
        throw error;
      });
      await use({ oidc, github });
      await Promise.all([oidc.stop(), github.stop()]);
    },
    { scope: "worker" },
  ],
  servers: [
    async ({ upstreams, serverConfig, mailbox }, use, workerInfo) => {
      const providers = [
        "[[federation.providers]]",
        `id = "${PROVIDERS.oidc.id}"`,
        `kind = "oidc"`,
        `label = "${PROVIDERS.oidc.label}"`,
        `issuer = "${upstreams.oidc.url}"`,
        `client_id = "latchkey"`,
        "",
        "[[federation.providers]]",
        `id = "${PROVIDERS.github.id}"`,
        `kind = "github"`,
        `label = "${PROVIDERS.github.label}"`,
        `issuer = "${upstreams.github.url}"`,
        `api_url = "${upstreams.github.url}"`,
        `client_id = "latchkey-github"`,
      ].join("\n");
      const servers = await startServers(`federation-${workerInfo.workerIndex}`, {
        smtpUrl: mailbox?.url,
        extraConfig: [serverConfig, providers].join("\n\n"),
        env: {
          LATCHKEY_FEDERATION__PROVIDERS__0__CLIENT_SECRET: "oidc-e2e-secret",
          LATCHKEY_FEDERATION__PROVIDERS__1__CLIENT_SECRET: "github-e2e-secret",
        },
      });
      await upstreams.oidc.setRedirectUris([`${servers.url}/api/federation/${PROVIDERS.oidc.id}/callback`]);
      await upstreams.github.setRedirectUris([`${servers.url}/api/federation/${PROVIDERS.github.id}/callback`]);
      await use(servers);
      await servers.stop();
    },
    { scope: "worker" },
  ],
});

/**
 * Call at the top of the spec: without tests/upstream's packages the journeys are
 * skipped with a warning, or fail under `CI=true`.
 */
export function requireUpstreamPackages(): void {
  const missing = missingUpstreamPackages();
  if (missing.length === 0) return;
  const problem = `${missing.join(" and ")} missing: run \`npm ci\` in tests/upstream. The federation journeys did NOT run.`;
  if (process.env.CI === "true") throw new Error(problem);
  console.warn(`\n!! SKIPPING: ${problem}\n`);
  test.skip(true, problem);
}

/** On oidc-provider's own login page: signs in as the account `sub`. */
export async function signInAtTestProvider(page: Page, sub: string): Promise<void> {
  await expect(page.getByRole("heading", { level: 1, name: "Sign in to the test provider" })).toBeVisible();
  await page.getByLabel("Account").fill(sub);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** On the GitHub-shaped server's login page: signs in as `login`. */
export async function signInAtGitHub(page: Page, login: string): Promise<void> {
  await page.getByLabel("Username or email address").fill(login);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** A person with an account at both providers, under names no other test of this run uses. */
export function person(prefix: string) {
  const username = uniqueName(prefix).replace(/-/g, "_");
  const email = `${username}@example.com`;
  return {
    username,
    email,
    oidc: { sub: `sub-${username}`, email, email_verified: true, preferred_username: username, name: username },
    github: {
      id: Math.floor(Math.random() * 1e9),
      login: `gh-${username}`,
      name: username,
      email: null,
      emails: [{ email, primary: true, verified: true, visibility: "private" }],
    },
  };
}
