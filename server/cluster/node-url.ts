// How the other nodes of a cluster reach this one when LECTERN_NODE_URL does not say (NodeRegistry publishes it).
import os from 'node:os';

/** The address this node listens on, or its first outside IPv4 address when it listens on all. */
export function defaultNodeUrl(host: string, port: number): string {
  let address = host;
  if (host === '0.0.0.0' || host === '::' || host === '') {
    const outside = Object.values(os.networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal);
    address = outside?.address ?? '127.0.0.1';
  }
  return `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
}
