import { t } from '../strings';

export function Logo({ size = 28 }: { size?: number }) {
  return <img src="/favicon.svg" width={size} height={size} alt="" className="logo" />;
}

export function Brand() {
  return (
    <span className="brand">
      <Logo />
      <span>{t.product}</span>
    </span>
  );
}

export function LockIcon() {
  return (
    <svg className="icon" viewBox="0 0 20 20" aria-hidden="true" focusable="false">
      <path
        d="M6 8V6a4 4 0 1 1 8 0v2h1a1 1 0 0 1 1 1v8a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V9a1 1 0 0 1 1-1zm2 0h4V6a2 2 0 1 0-4 0z"
        fill="currentColor"
      />
    </svg>
  );
}
