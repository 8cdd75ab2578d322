/**
 * Cookies for clients outside a browser (Node tools, tests, benchmarks). Browsers keep
 * cookies themselves; in Node, fetch has no jar. The server's cookies are all host-only,
 * Path=/ `__Host-` cookies for one origin, so this jar keeps exactly that: one origin's
 * name → value pairs, honouring deletion (Max-Age=0 or an expiry in the past). General
 * cookie semantics (domains, paths, public suffixes) are deliberately out of scope — a
 * library such as tough-cookie would also refuse Secure cookies over the plain-http
 * loopback servers that tests and benchmarks use.
 */
export class OriginCookieJar {
  private readonly values = new Map<string, string>();

  /** The `Cookie` request header, or undefined when the jar is empty. */
  header(): string | undefined {
    if (this.values.size === 0) return undefined;
    return [...this.values].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  /** Take the `Set-Cookie` headers of a response. */
  store(setCookies: readonly string[], now = Date.now()): void {
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let expired = value === '';
      for (const attribute of attributes) {
        const [key = '', raw = ''] = attribute.split('=');
        const k = key.trim().toLowerCase();
        if (k === 'max-age' && Number(raw.trim()) <= 0) expired = true;
        if (k === 'expires' && Date.parse(raw.trim()) <= now) expired = true;
      }
      if (expired) this.values.delete(name);
      else this.values.set(name, value);
    }
  }
}
