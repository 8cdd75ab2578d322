/**
 * Light, dark, or follow the system. The choice is stored on this device; the resolved theme
 * is always written to <html data-theme>, so the stylesheet has one dark palette.
 */
export type ThemeChoice = 'system' | 'light' | 'dark';
const KEY = 'securechat.theme';
const systemDark = window.matchMedia('(prefers-color-scheme: dark)');

export function storedTheme(): ThemeChoice {
  const value = localStorage.getItem(KEY);
  return value === 'light' || value === 'dark' ? value : 'system';
}

function resolve(choice: ThemeChoice): 'light' | 'dark' {
  if (choice !== 'system') return choice;
  return systemDark.matches ? 'dark' : 'light';
}

export function applyTheme(choice: ThemeChoice): void {
  if (choice === 'system') localStorage.removeItem(KEY);
  else localStorage.setItem(KEY, choice);
  document.documentElement.dataset.theme = resolve(choice);
}

/** Follow the system's theme while the choice is "system". */
systemDark.addEventListener('change', () => {
  if (storedTheme() === 'system') applyTheme('system');
});
