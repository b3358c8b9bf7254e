import vue from "@vitejs/plugin-vue";
import { defaultClientConditions, defineConfig } from "vite";

// "source" first: @latchkey/client's package.json maps it to its TypeScript sources, so this
// app compiles the client from clients/js/src and needs no separate build of it.
export default defineConfig({
  plugins: [vue()],
  resolve: { conditions: ["source", ...defaultClientConditions] },
  server: { host: "127.0.0.1", port: 5176, strictPort: true },
  preview: { host: "127.0.0.1", port: 5176, strictPort: true },
  build: { outDir: "dist", emptyOutDir: true },
});
