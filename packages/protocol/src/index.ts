export * from './errors.js';
export * from './ids.js';
export * from './limits.js';
export * from './username.js';
export * from './version.js';
export * from './http/routes.js';
export * from './http/schemas.js';
export {
  FRAME_VERSION,
  GENERAL_ROOM_ID,
  PresenceStatus,
  type UserRef,
} from './frames/common.js';
export * from './frames/connection.js';
export * from './frames/events.js';
export * from './frames/rooms.js';
export * from './frames/delivery.js';
export * from './frames/mls.js';
export * from './frames/registry.js';
export * from './frames/codec.js';
