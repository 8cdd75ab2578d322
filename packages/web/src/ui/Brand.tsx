import { t } from '../strings';

export function Logo({ size = 28 }: { size?: number }) {
  return <img src="/favicon.svg" width={size} height={size} alt="" className="logo" />;
}

export function Brand() {
  return (
    <span className="brand">
      <Logo />
      <span className="brand-name">{t.product}</span>
    </span>
  );
}
