/**
 * The password policy, enforced in the client because the server never sees the password
 * (OPAQUE): at least Limits.PASSWORD_MIN_LENGTH characters, a zxcvbn-ts strength score of at
 * least Limits.PASSWORD_MIN_SCORE, no well-known password, no password built on the username.
 * The dictionaries are large, so they load on first use, once.
 */
import { Limits } from '@securechat/protocol';
import { asChatError } from '../errors.js';
import type { ZxcvbnResult } from '@zxcvbn-ts/core';

/** zxcvbn-ts strength score: 0 (guessable in moments) to 4 (very unguessable). */
export type PasswordScore = 0 | 1 | 2 | 3 | 4;

/** The verdict of `checkPassword`. */
export interface PasswordCheck {
  /** True when the password may be used. */
  ok: boolean;
  /** zxcvbn-ts score: 0 (guessable in moments) to 4 (very unguessable). */
  score: PasswordScore;
  /** Why the password is refused, in one sentence; null when ok. */
  message: string | null;
  /** Hints for a stronger password. */
  suggestions: string[];
  /** A label for a strength meter: 'Very weak', 'Weak', 'Fair', 'Strong' or 'Very strong'. */
  label: string;
}

const LABELS = ['Very weak', 'Weak', 'Fair', 'Strong', 'Very strong'] as const;

type Estimator = (password: string, userInputs: string[]) => ZxcvbnResult;
let estimator: Promise<Estimator> | null = null;

function loadEstimator(): Promise<Estimator> {
  if (estimator === null) {
    const pending = (async (): Promise<Estimator> => {
      const [core, common, en] = await Promise.all([
        import('@zxcvbn-ts/core'),
        import('@zxcvbn-ts/language-common'),
        import('@zxcvbn-ts/language-en'),
      ]).catch((error: unknown) => {
        throw asChatError(error, 'CHAT_ERR_UNAVAILABLE', 'The password checker could not load.');
      });
      const factory = new core.ZxcvbnFactory({
        translations: en.translations,
        graphs: common.adjacencyGraphs,
        dictionary: { ...common.dictionary, ...en.dictionary },
      });
      return (password, userInputs) => factory.check(password, userInputs);
    })();
    // A failed load (a browser gone offline) is not kept: the next call tries again.
    pending.catch(() => {
      if (estimator === pending) estimator = null;
    });
    estimator = pending;
  }
  return estimator;
}

/**
 * Check a password against the policy (DESIGN.md decision 1). The first call loads the
 * dictionaries (a few hundred kB), so a form may call it as the user types and show `label`.
 * `context.username` is what the user typed or chose as a username; passwords containing it
 * are refused. Rejects only with ChatError CHAT_ERR_UNAVAILABLE, when the dictionaries cannot
 * be loaded.
 */
export async function checkPassword(
  password: string,
  context: { username?: string } = {},
): Promise<PasswordCheck> {
  const refuse = (score: PasswordScore, message: string, suggestions: string[] = []) => ({
    ok: false,
    score,
    message,
    suggestions,
    label: LABELS[score],
  });
  if (password.length > Limits.PASSWORD_MAX_LENGTH) {
    return refuse(0, `Use at most ${Limits.PASSWORD_MAX_LENGTH} characters.`);
  }
  const username = context.username?.trim().toLowerCase() ?? '';
  const estimate = await loadEstimator();
  const result = estimate(password, username ? [username] : []);
  const score = result.score;
  const suggestions = result.feedback.suggestions.filter((s): s is string => typeof s === 'string');
  if (password.length < Limits.PASSWORD_MIN_LENGTH) {
    return refuse(
      Math.min(score, 1) as PasswordScore,
      `Use at least ${Limits.PASSWORD_MIN_LENGTH} characters.`,
      suggestions,
    );
  }
  if (username.length >= 3 && password.toLowerCase().includes(username)) {
    return refuse(
      Math.min(score, 1) as PasswordScore,
      'Don’t use your username in your password.',
      suggestions,
    );
  }
  // Common: made of entries of zxcvbn's leaked-password lists ('passwords-common', and any
  // 'passwords-*' a language adds) — all of it but a few characters ('password123456'), or at
  // least half of a password too weak anyway ('iloveyou2024!').
  const weak = score < Limits.PASSWORD_MIN_SCORE;
  const leaked = result.sequence
    .filter(
      (match) =>
        match.pattern === 'dictionary' &&
        typeof match.dictionaryName === 'string' &&
        match.dictionaryName.startsWith('passwords'),
    )
    .reduce((length, match) => length + match.token.length, 0);
  const common = leaked >= password.length - 4 || (weak && leaked * 2 >= password.length);
  if (common) {
    return refuse(
      Math.min(score, 1) as PasswordScore,
      'This is a commonly used password.',
      suggestions,
    );
  }
  if (weak) {
    return refuse(
      score,
      result.feedback.warning ?? 'This password is too easy to guess.',
      suggestions,
    );
  }
  return { ok: true, score, message: null, suggestions, label: LABELS[score] };
}
