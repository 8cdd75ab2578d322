import { useEffect, useState } from 'react';

/** How long typing must pause before a search goes to the server. */
const SEARCH_DELAY_MS = 150;

/**
 * Search as the user types: `search(query)` once typing pauses, answers to an older query
 * ignored. Returns the latest answer with the query it answers (null until the first).
 * Pass `search` as null to search nothing (not connected, or nothing typed). A change of
 * `again` searches again (what is searched changed).
 */
export function useDebouncedSearch<T>(
  query: string,
  search: ((query: string) => Promise<T>) | null,
  onError: (reason: unknown) => void,
  again?: unknown,
): { query: string; result: T } | null {
  const [found, setFound] = useState<{ query: string; result: T } | null>(null);
  useEffect(() => {
    if (!search) return;
    let cancelled = false;
    const timer = setTimeout(() => {
      search(query).then(
        (result) => {
          if (!cancelled) setFound({ query, result });
        },
        (reason: unknown) => {
          if (!cancelled) onError(reason);
        },
      );
    }, SEARCH_DELAY_MS);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [query, search, onError, again]);
  return found;
}
