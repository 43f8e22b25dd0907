import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The server serves dist/ at `/`; in `vite dev` the API is proxied to the server on :4000.
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true },
  server: {
    proxy: {
      '/v1': 'http://127.0.0.1:4000',
      '/auth': 'http://127.0.0.1:4000',
      '/dev': 'http://127.0.0.1:4000',
    },
  },
});
