import { bootstrapApplication } from "@angular/platform-browser";
import { App } from "./app/app";
import { appConfig } from "./app/app.config";
import { loadConfig } from "./app/config";

// latchkey's URL is read at run time, before Angular starts, so one build serves any latchkey.
loadConfig()
  .then((config) => {
    if (typeof config === "string") return showProblem(config);
    return bootstrapApplication(App, appConfig(config)).then(() => undefined);
  })
  .catch((error: unknown) => showProblem(`The app could not start: ${String(error)}`));

function showProblem(problem: string): void {
  const message = document.createElement("p");
  message.setAttribute("role", "alert");
  message.className = "startup-problem";
  message.textContent = problem;
  document.body.replaceChildren(message);
}
