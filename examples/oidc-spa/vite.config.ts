import { defineConfig } from "vite";

// 127.0.0.1:5175 is the origin the README registers the redirect URIs for:
// latchkey compares them exactly (only the port of a loopback URI may differ).
export default defineConfig({
  server: { host: "127.0.0.1", port: 5175, strictPort: true },
  preview: { host: "127.0.0.1", port: 5175, strictPort: true },
  build: { outDir: "dist", emptyOutDir: true },
});
