/** The token of a setup, invitation or reset link; it travels in the fragment, never to the server's logs. */
export function tokenFromHash(hash: string): string | null {
  const value = new URLSearchParams(hash.replace(/^#/, '')).get('token');
  return value && /^[A-Za-z0-9_-]{16,128}$/.test(value) ? value : null;
}
