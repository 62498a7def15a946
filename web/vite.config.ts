import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Built by infra/tools/setup.sh into web/dist, which the service serves at `/`. `npx vite web` serves it
// for development with the API proxied to a running `npm start`.
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2000 },
  server: { proxy: { '/v1': 'http://127.0.0.1:8080', '/openapi.json': 'http://127.0.0.1:8080' } },
});
