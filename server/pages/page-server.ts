// What the SvelteKit pages' server code (app/src/hooks.server.ts, +page.server.ts) may ask of the running
// server: the visitor's session and the few reads the server-rendered pages show. Everything else the pages
// load from /api in the browser, where the API applies its own checks.
//
// adapter-node bundles the app separately from the server, so the app cannot be handed this object through a
// constructor: main.ts publishes it in one process-wide slot and the app's server code reads it from there.
// The slot holds this narrow interface only.
import type { Permissions } from '../auth/permissions.ts';
import type { ClassRole } from '../contracts/live-class.ts';
import type { SessionCookies } from '../auth/session-cookies.ts';
import type { SessionUser } from '../auth/session-store.ts';
import type { ClassCatalog, ClassSummary } from '../classes/class-catalog.ts';
import type { CatalogRequest, CourseCatalog } from '../courses/course-catalog.ts';
import type { CatalogPage } from '../contracts/courses.ts';
import type { LiveClass } from '../db/schema.ts';

export interface PageServer {
  /** The visitor behind a request's Cookie header, and the Set-Cookie values its response must carry. */
  session(cookieHeader: string | null): Promise<{ user: SessionUser | null; setCookie: string[] }>;
  /** The home page: classes live now, then the next scheduled ones. */
  liveAndUpcomingClasses(): Promise<ClassSummary[]>;
  /** The course catalog as this visitor may see it. */
  catalog(viewer: SessionUser | null, request: CatalogRequest): Promise<CatalogPage>;
  /** The class and the user's role in it, or null when they may not enter (the studio and classroom pages). */
  classEntry(user: SessionUser, classId: string): Promise<{ role: ClassRole; liveClass: LiveClass } | null>;
}

export function createPageServer(parts: {
  cookies: SessionCookies;
  classes: Pick<ClassCatalog, 'listLiveAndUpcoming'>;
  courses: Pick<CourseCatalog, 'list'>;
  permissions: Pick<Permissions, 'classRole'>;
}): PageServer {
  return {
    async session(cookieHeader) {
      const { current, setCookie } = await parts.cookies.resolve(cookieHeader);
      return { user: current?.user ?? null, setCookie };
    },
    liveAndUpcomingClasses: () => parts.classes.listLiveAndUpcoming(),
    catalog: (viewer, request) => parts.courses.list(viewer, request),
    classEntry: (user, classId) => parts.permissions.classRole(user, classId),
  };
}

const slot = Symbol.for('lectern.pageServer');
type Slot = { [slot]?: PageServer | undefined };

/** Called by main.ts once the server runs; the function it returns withdraws the facade when the server stops. */
export function publishPageServer(pages: PageServer): () => void {
  const global = globalThis as Slot;
  global[slot] = pages;
  return () => {
    if (global[slot] === pages) global[slot] = undefined;
  };
}

/** The running server's page facade (the app's server code calls this). */
export function pageServer(): PageServer {
  const pages = (globalThis as Slot)[slot];
  if (!pages) throw new Error('The Lectern server is not running in this process (start it with npm start or npm run dev)');
  return pages;
}
