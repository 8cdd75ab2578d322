import { useEffect } from 'react';
import { t } from '../strings';

/** Sets the tab title: "Devices · SecureChat", or just the product name. */
export function usePageTitle(title: string | null): void {
  useEffect(() => {
    document.title = title ? `${title} · ${t.product}` : t.product;
  }, [title]);
}
