/**
 * Cookies for clients outside a browser (Node tools, tests, benchmarks): browsers keep cookies
 * themselves, but fetch in Node has no jar. This is tough-cookie (RFC 6265) behind the two
 * calls the transport needs, so host-only scoping, paths, expiry, deletion and the `__Host-`
 * prefix rules are the library's, not ours. Its `allowSecureOnLocal` (on by default) treats
 * http://localhost and loopback addresses as secure contexts, as browsers do, so the server's
 * Secure `__Host-` cookies work against the plain-http loopback servers of tests and
 * benchmarks, and are still refused over plain http to any other host.
 *
 * The transport imports this module lazily, so browser bundles never download tough-cookie.
 */
import { CookieJar } from 'tough-cookie';

export class MemoryCookieJar {
  private readonly jar = new CookieJar(undefined, {
    rejectPublicSuffixes: true,
    prefixSecurity: 'strict',
  });

  /** The `Cookie` request header for `url`, or undefined when no cookie applies. */
  async header(url: string): Promise<string | undefined> {
    const header = await this.jar.getCookieString(url);
    return header === '' ? undefined : header;
  }

  /**
   * Take the `Set-Cookie` headers of a response from `url`. A cookie the rules refuse (Secure
   * over plain http to a remote host, a bad `__Host-` cookie) is dropped, as a browser would.
   */
  async store(url: string, setCookies: readonly string[]): Promise<void> {
    for (const line of setCookies) {
      await this.jar.setCookie(line, url, { ignoreError: true });
    }
  }
}
