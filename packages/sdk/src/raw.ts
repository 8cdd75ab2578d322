/**
 * @securechat/sdk/raw — the wire protocol's realtime connection, without the conversations
 * facade: for tests, benchmarks and tools that send frames as they are. Apps (the web app
 * among them, which lint forbids to import this entry) use `client.conversations()`: typed
 * content, the local store, and later end-to-end encryption all live behind that door.
 */
import { rawConnections, type ConnectOptions, type SecureChatClient } from './client.js';
import type { RealtimeConnection } from './transport/realtime.js';

/** Open the signed-in device's raw realtime connection. */
export function connectRaw(client: SecureChatClient, options?: ConnectOptions): RealtimeConnection {
  const connect = rawConnections.get(client);
  if (!connect) throw new TypeError('connectRaw: not a client made by createClient');
  return connect(options);
}

export type { ConnectOptions } from './client.js';
export type { RealtimeConnection, SendInput, SocketLike } from './transport/realtime.js';

/** The search index the conversations facade keeps, alone (for the search benchmark). */
export { MessageIndex } from './conversations/search.js';
export type { MessageItem, TimelineState } from './conversations/timeline.js';
