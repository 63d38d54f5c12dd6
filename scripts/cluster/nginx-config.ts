// The nginx in front of a cluster of Lectern nodes: one public port, WebSocket upgrade for Socket.io, and sticky
// routing by the session cookie (a logged-in person's pages, API calls and Socket.io requests, long-polling
// included, reach the same node; people spread over the nodes). A node that does not answer is skipped, so its
// people land on another node when they reconnect.
import { SESSION_COOKIE } from '../../server/contracts/auth.ts';

export interface NginxConfigOptions {
  /** Address and port nginx listens on, e.g. 0.0.0.0:3000 */
  listen: string;
  /** The nodes' HTTP ports on loopback. */
  nodePorts: number[];
  /** nginx's prefix directory (pid file, error log, temporary files); writable by this user. */
  dir: string;
  /** nginx started as root would hand its workers to `nobody`, who cannot write `dir`: keep them as root. */
  asRoot: boolean;
}

export function nginxConfig({ listen, nodePorts, dir, asRoot }: NginxConfigOptions): string {
  const servers = nodePorts.map((port) => `    server 127.0.0.1:${port} max_fails=1 fail_timeout=5s;`).join('\n');
  return `# Written by npm run cluster; regenerated on every start.
${asRoot ? 'user root;\n' : ''}worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  # Lesson uploads are streamed to the node, which enforces its own limit.
  client_max_body_size 0;
  map $http_upgrade $connection_upgrade {
    default upgrade;
    '' close;
  }
  upstream lectern {
    hash $cookie_${SESSION_COOKIE} consistent;
${servers}
  }
  server {
    listen ${listen};
    location / {
      proxy_pass http://lectern;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 1h;
      proxy_send_timeout 1h;
      proxy_connect_timeout 2s;
      proxy_next_upstream error timeout http_502 http_503;
    }
  }
}
`;
}
