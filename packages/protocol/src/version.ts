/** The API version. Bump on any incompatible change to a schema or route. */
export const PROTOCOL_VERSION = 1;
export const PRODUCT_NAME = 'SecureChat';
