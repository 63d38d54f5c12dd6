// A reverse proxy for tests, standing where a load balancer would: each request goes to the next of `targets`
// in turn (round robin, as nginx does without stickiness), with the client's Host and headers passed on; and,
// like nginx, it can append the client's address to X-Forwarded-For.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReverseProxy {
  url: string;
  close(): Promise<void>;
}

export async function startReverseProxy(targets: string[], options: { forwardedFor?: boolean } = {}): Promise<ReverseProxy> {
  let next = 0;
  const proxy = http.createServer((req, res) => {
    const upstream = new URL(targets[next++ % targets.length]!);
    const headers = { ...req.headers };
    if (options.forwardedFor)
      headers['x-forwarded-for'] = [req.headers['x-forwarded-for'], req.socket.remoteAddress].filter(Boolean).join(', ');
    const out = http.request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => proxy.close(() => resolve())),
  };
}
