/**
 * What the scroll benchmark's page (packages/web/bench/scroll.tsx) measures and hands back to
 * the bench (scroll.ts). No imports: the page's program includes this file too.
 */
export interface ScrollFigures {
  count: number;
  mountMs: number;
  domNodes: number;
  rows: number;
  heapMb: number | null;
  /** Frame-to-frame times while scrolling up by `step` px a frame. */
  frames: number[];
  jumpTopMs: number;
  jumpBottomMs: number;
}
