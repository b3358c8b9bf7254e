import { federationStartUrl } from "../api/federation";
import { useFeatures } from "./useFeatures";

/**
 * "Continue with …" for every identity provider the server has. Each is a plain
 * link, not a script: the server answers it with a redirect to the provider,
 * and the provider sends the browser back to /login/federated. `returnTo` is
 * where to go afterwards and must be a same-site path.
 */
export function ProviderButtons({ returnTo }: { returnTo: string }) {
  const providers = useFeatures()?.providers ?? [];
  if (providers.length === 0) return null;
  return (
    <div className="providers" role="group" aria-label="Log in with another account">
      <p className="aside">or</p>
      {providers.map((provider) => (
        <a key={provider.id} className="button button-block" href={federationStartUrl(provider.id, returnTo)}>
          Continue with {provider.label}
        </a>
      ))}
    </div>
  );
}
