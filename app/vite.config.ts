import { sveltekit } from '@sveltejs/kit/vite';
import adapter from '@sveltejs/adapter-node';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [
    sveltekit({
      adapter: adapter({ out: 'build' }),
      // SvelteKit adds a nonce for its own inline scripts. The other headers (nosniff, Referrer-Policy,
      // Permissions-Policy, HSTS) are set by the server for every answer: server/http/security-headers.ts.
      csp: {
        mode: 'auto',
        directives: {
          'default-src': ['self'],
          'script-src': ['self'],
          // Svelte sets style attributes (transitions, style: directives).
          'style-src': ['self', 'unsafe-inline'],
          // Course thumbnails may be any https picture; avatars and previews are data: or blob: URLs.
          'img-src': ['self', 'data:', 'blob:', 'https:'],
          // hls.js plays through MediaSource (blob:) and runs its demuxer in a blob: worker.
          'media-src': ['self', 'blob:'],
          'worker-src': ['self', 'blob:'],
          // Socket.io's WebSocket is same-origin ('self' covers ws:/wss: of our host).
          'connect-src': ['self'],
          'font-src': ['self'],
          'object-src': ['none'],
          'base-uri': ['self'],
          'form-action': ['self'],
          'frame-ancestors': ['none'],
        },
      },
    }),
  ],
  server: { fs: { allow: ['..'] } },
});
