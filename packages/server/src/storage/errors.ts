/** Database errors the domain decides on, recognized the same way on both dialects. */

/** True for a UNIQUE or PRIMARY KEY violation (SQLite `SQLITE_CONSTRAINT_*`, PostgreSQL 23505). */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || !('code' in error)) return false;
  const { code } = error;
  return (
    code === '23505' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}
