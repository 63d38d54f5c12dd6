// The OpenAPI document at /api/openapi.json: it describes every route the server mounts (and nothing else),
// validates as OpenAPI 3.1, carries the zod contracts' request schemas, and its reference page is served with
// a policy that lets only its own script run.
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiPath } from '../../server/http/openapi/openapi-document.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

describe('GET /api/openapi.json', () => {
  let server: TestServer;
  let document: any;
  beforeAll(async () => {
    server = await startTestServer();
    const res = await fetch(`${server.url}/api/openapi.json`);
    expect(res.status).toBe(200);
    document = await res.json();
  });
  afterAll(() => server?.stop());

  it('validates as OpenAPI 3.1', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('describes every mounted route, and only those', () => {
    expect(server.httpRoutes.length).toBeGreaterThan(50);
    const mounted = new Set(server.httpRoutes.map((r) => `${r.method.toLowerCase()} ${openApiPath(r.path)}`));
    const described = new Set(
      Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m} ${path}`),
      ),
    );
    expect([...mounted].filter((r) => !described.has(r))).toEqual([]);
    expect([...described].filter((r) => !mounted.has(r))).toEqual([]);
    for (const [path, ops] of Object.entries(document.paths as Record<string, Record<string, any>>))
      for (const [method, op] of Object.entries(ops)) {
        expect(op.summary, `${method} ${path}`).toMatch(/\w/);
        expect(Object.keys(op.responses).length, `${method} ${path}`).toBeGreaterThan(0);
      }
  });

  it("carries the contracts' request schemas and the security of each route", () => {
    const register = document.paths['/api/auth/register'].post;
    const body = register.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(expect.arrayContaining(['email', 'password', 'displayName']));
    expect(body.properties.role.enum).toEqual(expect.arrayContaining(['student', 'teacher']));
    const catalog = document.paths['/api/courses'].get.parameters.map((p: { name: string }) => p.name);
    expect(catalog).toEqual(expect.arrayContaining(['q', 'page']));
    expect(document.paths['/api/courses/{courseId}'].patch.security).toEqual([{ session: [] }]);
    expect(document.paths['/api/courses/{courseId}'].patch.parameters).toContainEqual(
      expect.objectContaining({ name: 'courseId', in: 'path', required: true }),
    );
    expect(document.paths['/metrics'].get.security).toContainEqual({ metricsToken: [] });
  });

  it('serves the reference page for the document under its own nonce-based policy', async () => {
    const res = await fetch(`${server.url}/api/docs`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('/api/openapi.json');
    const csp = res.headers.get('content-security-policy') ?? '';
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(html).toContain(`nonce="${nonce}"`);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
