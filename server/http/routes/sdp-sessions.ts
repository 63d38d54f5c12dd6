// What the WHIP and WHEP routes share: an SDP offer's content type, and CORS for clients on any site that
// authenticate with a bearer token (an encoder's stream key, a player's media token), never with credentials.
import { cors } from 'hono/cors';

export const sdpSessionCors = cors({
  origin: '*',
  allowMethods: ['POST', 'DELETE', 'PATCH', 'OPTIONS'],
  allowHeaders: ['Authorization', 'Content-Type', 'If-Match'],
  exposeHeaders: ['Location', 'ETag', 'Link', 'Allow'],
  maxAge: 600,
});

export const isSdp = (contentType: string | undefined): boolean => /^application\/sdp\s*(;|$)/i.test(contentType ?? '');
