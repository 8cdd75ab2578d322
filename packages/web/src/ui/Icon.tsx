/** Small inline icons (20×20, currentColor). Decorative: always hidden from assistive tech. */
const paths = {
  lock: 'M6 8V6a4 4 0 1 1 8 0v2h1a1 1 0 0 1 1 1v8a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V9a1 1 0 0 1 1-1zm2 0h4V6a2 2 0 1 0-4 0z',
  menu: 'M3 5h14v2H3zm0 4h14v2H3zm0 4h14v2H3z',
  chevron: 'M5 7l5 6 5-6z',
  chat: 'M4 3h12a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H9l-4 3.5V15H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm2 4v2h8V7zm0 3.5v2h5v-2z',
  laptop:
    'M4 4h12a1 1 0 0 1 1 1v8H3V5a1 1 0 0 1 1-1zm1 2v5h10V6zM1 14h18v1a2 2 0 0 1-2 2H3a2 2 0 0 1-2-2z',
  shield:
    'M10 1l7 3v5c0 4.5-3 8.3-7 9.5C6 17.3 3 13.5 3 9V4zm-1 11.4l5-5-1.4-1.4L9 9.6 7.4 8 6 9.4z',
  warning: 'M10 2l9 16H1zm-1 5v5h2V7zm0 6.5V15.5h2v-2z',
  key: 'M9.9 9H18v2h-1v3h-2v-3h-1v2h-2v-2H9.9A4 4 0 1 1 9.9 9zM6 8.5a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z',
  eyeOff:
    'M2.3 3.7l1.4-1.4 14 14-1.4 1.4-2.4-2.4A9.3 9.3 0 0 1 10 16c-4.5 0-7.6-3.4-9-6 .7-1.3 1.8-2.8 3.3-4zM10 4c4.5 0 7.6 3.4 9 6-.5 1-1.3 2.1-2.3 3.1L13.9 10.3A4 4 0 0 0 9.7 6.1L7.8 4.3C8.5 4.1 9.2 4 10 4z',
  eye: 'M10 4c4.5 0 7.6 3.4 9 6-1.4 2.6-4.5 6-9 6s-7.6-3.4-9-6c1.4-2.6 4.5-6 9-6zm0 3a3 3 0 1 0 0 6 3 3 0 0 0 0-6z',
  link: 'M8.5 11.5a3.5 3.5 0 0 0 5 0l3-3a3.5 3.5 0 0 0-5-5l-1 1 1.4 1.4 1-1a1.5 1.5 0 0 1 2.2 2.2l-3 3a1.5 1.5 0 0 1-2.2 0zm3-3a3.5 3.5 0 0 0-5 0l-3 3a3.5 3.5 0 0 0 5 5l1-1-1.4-1.4-1 1a1.5 1.5 0 0 1-2.2-2.2l3-3a1.5 1.5 0 0 1 2.2 0z',
  users:
    'M7 9a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm6.5 0a2.5 2.5 0 1 0 0-5 2.5 2.5 0 0 0 0 5zM1 16c0-3 2.7-5 6-5s6 2 6 5v1H1zm13.5 1v-1c0-1.7-.6-3.2-1.7-4.3 3 .2 5.2 2 5.2 4.3v1z',
  close: 'M5.4 4l4.6 4.6L14.6 4 16 5.4 11.4 10l4.6 4.6-1.4 1.4-4.6-4.6L5.4 16 4 14.6 8.6 10 4 5.4z',
  plus: 'M9 4h2v5h5v2h-5v5H9v-5H4V9h5z',
  more: 'M4 8.5a1.5 1.5 0 1 1 0 3 1.5 1.5 0 0 1 0-3zm6 0a1.5 1.5 0 1 1 0 3 1.5 1.5 0 0 1 0-3zm6 0a1.5 1.5 0 1 1 0 3 1.5 1.5 0 0 1 0-3z',
  send: 'M2.5 3.2L18 10 2.5 16.8l1.6-5.9L11 10l-6.9-.9z',
  attach:
    'M13 5.5V13a3 3 0 0 1-6 0V5a2 2 0 0 1 4 0v7.5a1 1 0 0 1-2 0V6H7.5v6.5a2.5 2.5 0 0 0 5 0V5a3.5 3.5 0 0 0-7 0v8a4.5 4.5 0 0 0 9 0V5.5z',
  file: 'M5 2h7l4 4v11a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V3a1 1 0 0 1 1-1zm6 1.5V7h3.5zM6 10v1.5h8V10zm0 3v1.5h6V13z',
  check: 'M2.5 10.5l1.4-1.4 3.6 3.6 8.6-8.6 1.4 1.4-10 10z',
  checks: 'M0.5 10.5l1.4-1.4 3.6 3.6 8.6-8.6 1.4 1.4-10 10zm9.6 3.6l8.5-8.5 1.4 1.4-8.5 8.5z',
  hash: 'M8.2 2h2l-.7 4h3.3l.7-4h2l-.7 4H18v2h-3.5l-.7 4H17v2h-3.5l-.7 4h-2l.7-4H8.2l-.7 4h-2l.7-4H3v-2h3.5l.7-4H4V6h3.5zm1 6l-.7 4h3.3l.7-4z',
  user: 'M10 2a4 4 0 1 1 0 8 4 4 0 0 1 0-8zM3 17c0-3.3 3.1-5.5 7-5.5s7 2.2 7 5.5v1H3z',
  search:
    'M8.5 3a5.5 5.5 0 0 1 4.4 8.8l4 4-1.4 1.4-4-4A5.5 5.5 0 1 1 8.5 3zm0 2a3.5 3.5 0 1 0 0 7 3.5 3.5 0 0 0 0-7z',
} as const;

export type IconName = keyof typeof paths;

export function Icon({ name, className }: { name: IconName; className?: string }) {
  return (
    <svg
      className={className ? `icon ${className}` : 'icon'}
      viewBox="0 0 20 20"
      aria-hidden="true"
      focusable="false"
    >
      <path d={paths[name]} fill="currentColor" fillRule="evenodd" />
    </svg>
  );
}
