import { createPinia } from "pinia";
import { createApp } from "vue";
import App from "./App.vue";
import { loadConfig } from "./config";
import { startLatchkey } from "./latchkey";
import { createAppRouter } from "./router";
import "./style.css";

async function start(): Promise<void> {
  startLatchkey(await loadConfig());
  const app = createApp(App);
  app.use(createPinia());
  app.use(createAppRouter());
  app.mount("#app");
}

start().catch((error: unknown) => {
  const box = document.createElement("p");
  box.setAttribute("role", "alert");
  box.textContent = `The app could not start: ${error instanceof Error ? error.message : String(error)}`;
  document.getElementById("app")?.replaceChildren(box);
});
