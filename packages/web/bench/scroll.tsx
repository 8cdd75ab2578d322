/**
 * The page of the scroll benchmark (tools/bench/src/scroll.ts): the conversation's message
 * list, as the app renders it, over a generated history of `?count=` messages in a fixed
 * 1280×800 window. The bench drives it through `window.scrollBench` and reads the figures.
 */
import type { MessageItem, TimelineItem } from '@securechat/sdk';
import { createRef, StrictMode } from 'react';
import { flushSync } from 'react-dom';
import { createRoot } from 'react-dom/client';
import { MessageList, type MessageListHandle } from '../src/features/conversation/MessageList';
import '../src/styles/index.css';
import type { ScrollFigures } from '../../../tools/bench/src/scroll-figures';

const WORDS =
  'the plan for today is to review the release notes then ship the fix and grab coffee with the team later this week maybe tomorrow if the build is green'.split(
    ' ',
  );

/** A deterministic history: senders take turns in runs, some messages long, a day every 400. */
function history(count: number): TimelineItem[] {
  const start = Date.UTC(2026, 0, 1);
  let state = 7;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
  const items: MessageItem[] = [];
  for (let seq = 1; seq <= count; seq += 1) {
    const length = next() < 0.05 ? 120 : 3 + Math.floor(next() * 30);
    const text = Array.from({ length }, () => WORDS[Math.floor(next() * WORDS.length)]).join(' ');
    items.push({
      type: 'message',
      seq,
      sender: `user-${Math.floor(seq / 3) % 4}`,
      device: 'd',
      cmid: `c${seq}`,
      at: start + seq * 216_000,
      text,
      unreadable: false,
      unreadableReason: null,
      deleted: false,
      edited: false,
      replyTo: null,
      quote: null,
      reactions: seq % 17 === 0 ? [{ emoji: '👍', users: ['user-1'] }] : [],
      file: null,
      rich: null,
    });
  }
  return items;
}

const names = new Map(Array.from({ length: 4 }, (_, i) => [`user-${i}`, `person ${i}`]));
const count = Number(new URLSearchParams(location.search).get('count') ?? '100');
const handle = createRef<MessageListHandle>();
const host = document.getElementById('root');
if (!host) throw new Error('no #root');
host.style.cssText = 'display:flex;flex-direction:column;width:1280px;height:800px';

const mountStart = performance.now();
const items = history(count);
flushSync(() =>
  createRoot(host).render(
    <StrictMode>
      <MessageList
        handle={handle}
        label="Messages"
        busy={false}
        header={null}
        onTop={() => undefined}
        items={items}
        pending={[]}
        names={names}
        me="user-0"
        kind="channel"
        now={Date.now()}
        online
        conversations={null}
        room="bench"
        unreadAfter={null}
        receipts={null}
        onEdit={() => Promise.resolve(true)}
        onDelete={() => undefined}
        onReply={() => undefined}
        onReact={() => undefined}
        onPickReaction={() => undefined}
        onJump={() => undefined}
        onRetry={() => undefined}
        onDiscard={() => undefined}
      />
    </StrictMode>,
  ),
);

const frame = () => new Promise<number>((resolve) => requestAnimationFrame(resolve));
const scroller = () => {
  const element = document.querySelector<HTMLElement>('[role="log"]');
  if (!element) throw new Error('no message list');
  return element;
};

async function settled(): Promise<void> {
  for (let i = 0; i < 3; i += 1) await frame();
}

declare global {
  interface Window {
    scrollBench: { run(frames: number, step: number): Promise<ScrollFigures> };
  }
}

window.scrollBench = {
  async run(frames, step) {
    await settled();
    const mountMs = performance.now() - mountStart;
    const list = scroller();
    const times: number[] = [];
    let last = await frame();
    for (let i = 0; i < frames; i += 1) {
      list.scrollTop -= step;
      const now = await frame();
      times.push(now - last);
      last = now;
    }
    const rows = list.querySelectorAll('.messages > li').length;
    const domNodes = document.getElementsByTagName('*').length;
    let started = performance.now();
    handle.current?.reveal(1);
    while (!document.getElementById('message-1')) await frame();
    const jumpTopMs = performance.now() - started;
    started = performance.now();
    handle.current?.toBottom();
    while (!document.getElementById(`message-${count}`)) await frame();
    const jumpBottomMs = performance.now() - started;
    const memory = (performance as Performance & { memory?: { usedJSHeapSize: number } }).memory;
    return {
      count,
      mountMs,
      domNodes,
      rows,
      heapMb: memory ? memory.usedJSHeapSize / 1_048_576 : null,
      frames: times,
      jumpTopMs,
      jumpBottomMs,
    };
  },
};
