// GET /api/openapi.json (the OpenAPI 3.1 document) and GET /api/docs (its reference page, Scalar). The page
// loads Scalar's script from its CDN with a nonce, so it has its own Content-Security-Policy (the API's
// `default-src 'none'` would block it); nothing else on the origin is allowed more.
import { randomBytes } from 'node:crypto';
import { Scalar } from '@scalar/hono-api-reference';
import { Hono, type Context } from 'hono';
import type { AppEnv } from '../session.ts';

/** Scalar's standalone bundle, major version pinned. */
export const SCALAR_CDN = 'https://cdn.jsdelivr.net/npm/@scalar/api-reference@1';

export interface OpenApiRouteParts {
  /** The OpenAPI document (built once at start-up). */
  document: Record<string, unknown>;
}

export const openApiRoutes = ({ document }: OpenApiRouteParts) =>
  new Hono<AppEnv>()
    .get('/openapi.json', (c) => {
      c.header('cache-control', 'no-cache');
      return c.json(document);
    })
    .get('/docs', async (c, next) => {
      const nonce = randomBytes(16).toString('base64');
      c.header(
        'content-security-policy',
        [
          "default-src 'none'",
          `script-src 'nonce-${nonce}' https://cdn.jsdelivr.net`,
          "style-src 'unsafe-inline'",
          "connect-src 'self'",
          "img-src 'self' data:",
          "font-src 'self' data:",
          "base-uri 'none'",
          "form-action 'none'",
          "frame-ancestors 'none'",
        ].join('; '),
      );
      const page = Scalar({ url: '/api/openapi.json', pageTitle: 'Lectern API', cdn: SCALAR_CDN, nonce, withDefaultFonts: false });
      // Scalar's handler is typed for Hono's default environment; it reads nothing of ours.
      return page(c as unknown as Context, next);
    });
