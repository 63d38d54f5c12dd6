// Where a signed media URL carries its token: in the path prefix (/media/t/<token>/...) as the server signs
// them now, or as ?token= (the older form, still answered).
const PREFIX = /^(\/media\/t\/)([^/]+)(\/)/;

/** The token of a media URL, or null when it has none. */
export function mediaToken(url: string): string | null {
  const u = new URL(url, location.href);
  const inPath = PREFIX.exec(u.pathname);
  return inPath ? decodeURIComponent(inPath[2]!) : u.searchParams.get('token');
}

/** The URL with `token` in place of the one it carries (unchanged when it carries none). */
export function withMediaToken(url: string, token: string): string {
  const u = new URL(url, location.href);
  if (PREFIX.test(u.pathname))
    u.pathname = u.pathname.replace(PREFIX, (_m, head: string, _old: string, tail: string) => head + encodeURIComponent(token) + tail);
  else if (u.searchParams.has('token')) u.searchParams.set('token', token);
  else return url;
  return u.toString();
}
