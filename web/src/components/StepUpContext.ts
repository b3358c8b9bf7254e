import { createContext, useContext } from "react";
import type { Provider } from "@latchkey/client";

/**
 * How this account can confirm it is you when a change needs a recent login.
 * An account made through a provider has no password: it confirms with a
 * fresh login at one of its connected providers instead (or a passkey).
 */
export interface StepUp {
  hasPassword: boolean;
  /** The providers connected to this account, to log in again with. */
  providers: Provider[];
}

export const StepUpContext = createContext<StepUp>({ hasPassword: true, providers: [] });

export function useStepUp(): StepUp {
  return useContext(StepUpContext);
}
