import {
  type ApplicationConfig,
  provideBrowserGlobalErrorListeners,
  provideZonelessChangeDetection,
} from "@angular/core";
import { provideRouter, withComponentInputBinding } from "@angular/router";
import { createClient } from "@latchkey/client";
import { routes } from "./app.routes";
import { LATCHKEY } from "./auth/latchkey";
import { EXAMPLE_CONFIG, type ExampleConfig } from "./config";

export function appConfig(config: ExampleConfig): ApplicationConfig {
  return {
    providers: [
      provideBrowserGlobalErrorListeners(),
      provideZonelessChangeDetection(),
      // Query parameters such as ?next= arrive as component inputs.
      provideRouter(routes, withComponentInputBinding()),
      { provide: EXAMPLE_CONFIG, useValue: config },
      // Cookie mode: latchkey's HttpOnly session cookie is the login; the page never holds a token.
      { provide: LATCHKEY, useValue: createClient({ baseUrl: config.latchkeyUrl, mode: "cookie" }) },
    ],
  };
}
