// Serves the SvelteKit app: the adapter-node build in production, Vite's middleware (hot reload) in dev.
import fs from 'node:fs';
import path from 'node:path';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type NodeHandler = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

const appDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../app');

export interface AppHandler {
  handle: NodeHandler;
  close(): Promise<void>;
}

export async function createAppHandler(mode: 'build' | 'dev', httpServer: HttpServer): Promise<AppHandler> {
  if (mode === 'dev') {
    const { createServer } = await import('vite');
    const vite = await createServer({
      root: appDir,
      configFile: path.join(appDir, 'vite.config.ts'),
      server: { middlewareMode: true, hmr: { server: httpServer } },
      appType: 'custom',
    });
    return { handle: vite.middlewares as unknown as NodeHandler, close: () => vite.close() };
  }
  const handlerFile = path.join(appDir, 'build/handler.js');
  if (!fs.existsSync(handlerFile)) {
    throw new Error(`The web app is not built (${handlerFile} is missing): run npm run build, or npm start which builds it`);
  }
  const { handler } = (await import(pathToFileURL(handlerFile).href)) as { handler: NodeHandler };
  return { handle: handler, close: async () => {} };
}
