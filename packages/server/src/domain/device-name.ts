import { Limits } from '@securechat/protocol';
import Bowser from 'bowser';

/** A readable device name from a User-Agent, e.g. "Chrome on Linux". */
export function deviceNameFromUserAgent(userAgent: string | undefined): string {
  if (!userAgent) return 'Unknown device';
  const parsed = Bowser.parse(userAgent);
  const browser = parsed.browser.name;
  const os = parsed.os.name;
  const name = browser && os ? `${browser} on ${os}` : (browser ?? os ?? 'Unknown device');
  return name.slice(0, Limits.DEVICE_NAME_MAX_LENGTH);
}
