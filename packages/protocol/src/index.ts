export * from './errors.js';
export * from './ids.js';
export * from './limits.js';
export * from './username.js';
export * from './version.js';
export * from './http/routes.js';
export * from './http/schemas.js';
