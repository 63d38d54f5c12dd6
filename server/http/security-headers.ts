// The security headers every HTTP answer carries (pages, static files, API, media), set once where the Node
// server dispatches a request. The pages' Content-Security-Policy comes from SvelteKit (app/vite.config.ts:
// it adds a nonce to its own inline scripts); everything else is data, so its policy allows nothing at all.
import type { ServerResponse } from 'node:http';

/** Camera, microphone and screen sharing for our own pages only; the rest of the powerful features for nobody. */
export const PERMISSIONS_POLICY = [
  'camera=(self)',
  'microphone=(self)',
  'display-capture=(self)',
  'fullscreen=(self)',
  'geolocation=()',
  'payment=()',
  'usb=()',
].join(', ');

/** For answers that are not pages (JSON, HLS playlists and segments, pictures): no scripts, never framed. */
export const DATA_CSP = "default-src 'none'; frame-ancestors 'none'";

export interface SecurityHeaderOptions {
  /** The public origin is https (LECTERN_ORIGIN): browsers are told to come back over https only. */
  https: boolean;
}

export class SecurityHeaders {
  readonly #common: [string, string][];

  constructor({ https }: SecurityHeaderOptions) {
    this.#common = [
      ['X-Content-Type-Options', 'nosniff'],
      ['Referrer-Policy', 'strict-origin-when-cross-origin'],
      ['Permissions-Policy', PERMISSIONS_POLICY],
      // Older browsers' frame-ancestors: a framed studio could be clickjacked into Go live or End class.
      ['X-Frame-Options', 'DENY'],
    ];
    if (https) this.#common.push(['Strict-Transport-Security', 'max-age=31536000']);
  }

  /** Headers of a page (its CSP is SvelteKit's) or a static file of the app. */
  applyToPage(res: ServerResponse): void {
    for (const [name, value] of this.#common) res.setHeader(name, value);
  }

  /** Headers of an API, health, media or mail answer; a route that serves a document may replace the CSP. */
  applyToData(res: ServerResponse): void {
    this.applyToPage(res);
    res.setHeader('Content-Security-Policy', DATA_CSP);
  }
}
