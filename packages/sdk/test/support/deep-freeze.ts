/**
 * Freeze a value and everything reachable from it, so a function that mutates its input
 * throws (ES modules run in strict mode). Proves a reducer pure, as ts-mls's tests do.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  if (ArrayBuffer.isView(value)) return value; // typed arrays can't be frozen; none is mutated
  Object.freeze(value);
  for (const key of Reflect.ownKeys(value))
    deepFreeze((value as Record<PropertyKey, unknown>)[key]);
  return value;
}
