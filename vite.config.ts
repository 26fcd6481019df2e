// The web pages: plain TypeScript modules and ECharts, bundled into dist/web, which the server serves at /.
// Everything is bundled (no CDN, no tile server) so that a command centre works offline.
import { defineConfig } from 'vite';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = fileURLToPath(new URL('./web', import.meta.url));

export default defineConfig({
  root: web,
  base: '/',
  build: {
    outDir: resolve(web, '../dist/web'),
    emptyOutDir: true,
    // A command-centre screen loads ECharts anyway; one warning threshold above its size keeps the log quiet.
    chunkSizeWarningLimit: 1200,
    rolldownOptions: {
      input: {
        index: resolve(web, 'index.html'),
        login: resolve(web, 'login.html'),
        registry: resolve(web, 'registry.html'),
        sampler: resolve(web, 'sampler.html'),
        campaigns: resolve(web, 'campaigns.html'),
        lab: resolve(web, 'lab.html'),
        poster: resolve(web, 'poster.html'),
        resident: resolve(web, 'resident.html'),
        sentinel: resolve(web, 'sentinel.html'),
        checkpoints: resolve(web, 'checkpoints.html'),
        interview: resolve(web, 'interview.html'),
        chains: resolve(web, 'chains.html'),
        quarantine: resolve(web, 'quarantine.html'),
        support: resolve(web, 'support.html'),
        care: resolve(web, 'care.html'),
        dashboard: resolve(web, 'dashboard.html'),
        bulletin: resolve(web, 'bulletin.html'),
        zones: resolve(web, 'zones.html'),
      },
    },
  },
  // `npx vite` for page work against a running `cordon serve` (PORT 8080 by default).
  server: { proxy: { '/api': `http://127.0.0.1:${process.env.PORT ?? 8080}` } },
});
