/**
 * Where to go after signing in: the `?next=` a page asked for, when it names a page of this site,
 * else home. Read the way the browser will read it (WHATWG URL parsing: a backslash is a slash,
 * tabs and newlines vanish), so `/\evil.com` or `/%09/evil.com` cannot turn into `//evil.com`.
 */
/** Any origin will do as the base: what matters is whether the path stays on it. */
const BASE = 'https://this-site.invalid';

export function nextPath(requested: string | null): string {
  if (!requested || !requested.startsWith('/')) {
    return '/';
  }
  let url: URL;
  try {
    url = new URL(requested, BASE);
  } catch {
    return '/';
  }
  if (url.origin !== BASE) {
    return '/';
  }
  return `${url.pathname}${url.search}${url.hash}`;
}
