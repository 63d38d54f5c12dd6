// /metrics over a real server: Prometheus text format, served to this machine or with the token (never to a
// client behind the proxy without it); a live class's series appear while it is live (viewers, bitrate, its HLS
// bridge) and are gone once it ends; chat messages, HTTP requests and the mediasoup workers are counted.
import parsePrometheusTextFormat, { type PrometheusFamily } from 'parse-prometheus-text-format';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerPeople, type People } from '../helpers/people.ts';
import { insertClass } from '../helpers/live-class.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { joinAs, ok } from '../helpers/socket-client.ts';
import { goLiveWithSendTransport, produceFake } from '../sfu/fixtures.ts';

const TOKEN = 'metrics-test-token-0123456789';

async function scrape(server: TestServer, headers: Record<string, string> = {}): Promise<Map<string, PrometheusFamily>> {
  const res = await fetch(`${server.url}/metrics`, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const families = parsePrometheusTextFormat(await res.text());
  return new Map(families.map((f) => [f.name, f]));
}

/** The value of the sample of `name` whose labels include `labels`; undefined when there is none. */
function valueOf(families: Map<string, PrometheusFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  const sample = families.get(name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return sample?.value === undefined ? undefined : Number(sample.value);
}

describe('GET /metrics', () => {
  let server: TestServer;
  let people: People;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    // Behind a proxy: the forwarded client address decides whether the request comes from this machine.
    server = await startTestServer({ env: { LECTERN_METRICS_TOKEN: TOKEN, LECTERN_TRUST_PROXY: 'true' } });
    people = await registerPeople(server);
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await server?.stop();
  });

  it('parses as Prometheus text format with the process, HTTP and worker families', async () => {
    await fetch(`${server.url}/api/courses`);
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    // Every sample line by the format's grammar: name, optional {label="value",...}, a number.
    const samples = text
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => {
        const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*)\})? (\S+)$/.exec(line);
        expect(m, line).not.toBeNull();
        expect(Number.isNaN(Number(m![3]!.replace(/^\+?Inf$/, 'Infinity'))), line).toBe(false);
        const labels = Object.fromEntries(
          [...(m![2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => [k, v]),
        );
        return { name: m![1]!, labels, value: Number(m![3]) };
      });
    const families = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
    for (const family of families.values()) expect(family.help, family.name).not.toBe('');
    expect(families.get('nodejs_eventloop_lag_seconds')?.type).toBe('GAUGE');
    expect(families.get('process_resident_memory_bytes')?.type).toBe('GAUGE');
    expect(families.get('nodejs_gc_duration_seconds')?.type).toBe('HISTOGRAM');
    // The request above, under its route pattern and status.
    expect(families.get('lectern_http_request_duration_seconds')?.type).toBe('HISTOGRAM');
    const courses = samples.find(
      (s) => s.name === 'lectern_http_request_duration_seconds_count' && s.labels.route === '/api/courses' && s.labels.method === 'GET',
    );
    expect(courses?.labels.status).toBe('200');
    expect(courses?.value).toBeGreaterThanOrEqual(1);
    // The worker's figures arrive with the first collection round (every 5 s, never per scrape): no class, no router.
    await expect
      .poll(async () => valueOf(await scrape(server), 'lectern_worker_objects', { worker: '0', kind: 'router' }), { timeout: 15_000 })
      .toBe(0);
  });

  it('is refused to a client elsewhere without the token, and served with it', async () => {
    const elsewhere = { 'x-forwarded-for': '203.0.113.7' };
    const refused = await fetch(`${server.url}/metrics`, { headers: elsewhere });
    expect(refused.status).toBe(401);
    expect((await refused.json()).error.code).toBe('unauthenticated');
    const wrong = await fetch(`${server.url}/metrics`, { headers: { ...elsewhere, authorization: `Bearer ${TOKEN}-not` } });
    expect(wrong.status).toBe(401);
    // An admin's session is not a scraper's credential either.
    expect((await people.admin.client.request('GET', '/metrics', undefined, elsewhere)).status).toBe(401);
    const families = await scrape(server, { ...elsewhere, authorization: `Bearer ${TOKEN}` });
    expect(families.has('lectern_live_classes')).toBe(true);
  });

  it("shows a live class's series while it is live and removes them when it ends", async () => {
    const { classId } = await insertClass(server.db, {
      teacherId: people.teacher.user.id,
      studentIds: [people.student.user.id],
      title: 'Metrics live',
      courseTitle: 'Metrics course',
      live: false,
    });
    const teacher = await joinAs(server.url, people.teacher, classId);
    sockets.push(teacher);
    const { rtp, send } = await goLiveWithSendTransport(teacher);
    await produceFake(teacher, send.id, 'camera');
    await produceFake(teacher, send.id, 'mic');
    const student = await joinAs(server.url, people.student, classId);
    sockets.push(student);
    expect(await ok(student, 'sfu:join', { rtpCapabilities: rtp.routerRtpCapabilities })).toMatchObject({ mode: 'webrtc' });
    const chatBefore = valueOf(await scrape(server), 'lectern_chat_messages_total') ?? 0;
    await ok(student, 'chat:send', { body: 'counted' });

    const cls = { class_id: classId };
    await expect
      .poll(async () => valueOf(await scrape(server), 'lectern_class_viewers', { ...cls, mode: 'webrtc' }), { timeout: 20_000 })
      .toBe(1);
    const live = await scrape(server);
    expect(valueOf(live, 'lectern_live_classes')).toBe(1);
    expect(valueOf(live, 'lectern_class_viewers', { ...cls, mode: 'hls' })).toBe(0);
    expect(valueOf(live, 'lectern_class_ingress_bits_per_second', cls)).toBe(0); // the series is there, and these producers send nothing
    // The class's HLS bridge is there, waiting for media (these producers send none): ffmpeg is not running.
    expect(valueOf(live, 'lectern_hls_bridge_up', cls)).toBe(0);
    expect(valueOf(live, 'lectern_chat_messages_total')).toBe(chatBefore + 1);
    expect(valueOf(live, 'lectern_worker_objects', { worker: '0', kind: 'producer' })).toBeGreaterThanOrEqual(2);
    expect(valueOf(live, 'lectern_worker_objects', { worker: '0', kind: 'transport' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(live, 'lectern_socket_connections')).toBeGreaterThanOrEqual(2);

    await ok(teacher, 'class:end', {});
    // Gone with the room: no series names the class any more, and the live count is back to zero.
    await expect.poll(async () => valueOf(await scrape(server), 'lectern_live_classes'), { timeout: 15_000 }).toBe(0);
    const after = await (await fetch(`${server.url}/metrics`)).text();
    expect(after).not.toContain(classId);
    expect(after).toContain('lectern_class_viewers');
  });
});
