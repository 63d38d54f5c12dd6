// Where to go after logging in: the `?next=` of the login page, if (and only if) it stays on this site.
// Resolving it as a URL against our origin is what the browser will do too, so tricks such as `//evil.example`,
// `/\evil.example` or a tab inside the scheme are judged exactly as they would be followed.

/** `raw` as a same-origin path (with query and hash), or `/` when it is missing or leads elsewhere. */
export function nextPath(raw: string | null | undefined, origin: string): string {
  if (!raw || !raw.startsWith('/')) return '/';
  let url: URL;
  try {
    url = new URL(raw, origin);
  } catch {
    return '/';
  }
  if (url.origin !== new URL(origin).origin) return '/';
  return `${url.pathname}${url.search}${url.hash}`;
}
