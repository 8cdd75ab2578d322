/**
 * The client side of OPAQUE (RFC 9807) via @serenity-kit/opaque: each flow is two round trips
 * whose transport is passed in, so registration, sign-in, re-authentication and password change
 * share one implementation. The password never leaves this module; no crypto is written here.
 * The library (about 430 kB with its WebAssembly) loads on first use, once, so a web app's
 * first page does not wait for it.
 */
import { ChatError, type LoginStartResponse } from '@securechat/protocol';
import type * as OpaqueModule from '@serenity-kit/opaque';
import { fromBase64url } from '../base64url.js';
import { asChatError } from '../errors.js';

type Opaque = typeof OpaqueModule;
let loaded: Promise<Opaque> | null = null;

function loadOpaque(): Promise<Opaque> {
  if (loaded === null) {
    const pending = import('@serenity-kit/opaque').then(
      async (opaque) => {
        await opaque.ready;
        return opaque;
      },
      (error: unknown) => {
        throw asChatError(error, 'CHAT_ERR_UNAVAILABLE', 'The sign-in module could not load.');
      },
    );
    // A failed load (network, WebAssembly refused) is not kept: the next call tries again.
    pending.catch(() => {
      if (loaded === pending) loaded = null;
    });
    loaded = pending;
  }
  return loaded;
}

/** A proof of the password the server can check, plus the secret only this password yields. */
export interface OpaqueLoginProof {
  attemptId: string;
  finishLoginRequest: string;
  /** 64 bytes; never sent anywhere. */
  exportKey: Uint8Array;
}

/**
 * Run OPAQUE registration: `exchange` sends the request and returns the server's response.
 * The export key is the one every later login with this password yields (RFC 9807).
 */
export async function opaqueRegistration(
  password: string,
  exchange: (registrationRequest: string) => Promise<string>,
): Promise<{ registrationRecord: string; exportKey: Uint8Array }> {
  const opaque = await loadOpaque();
  const { clientRegistrationState, registrationRequest } = opaque.client.startRegistration({
    password,
  });
  const registrationResponse = await exchange(registrationRequest);
  const { registrationRecord, exportKey } = opaque.client.finishRegistration({
    clientRegistrationState,
    registrationResponse,
    password,
  });
  return { registrationRecord, exportKey: fromBase64url(exportKey) };
}

/**
 * Run the client's half of an OPAQUE login up to the proof; `start` sends the first message.
 * A wrong password and an unknown user fail here alike, with CHAT_ERR_LOGIN_FAILED, and the
 * finishing request is then never sent.
 */
export async function opaqueLogin(
  password: string,
  start: (startLoginRequest: string) => Promise<LoginStartResponse>,
): Promise<OpaqueLoginProof> {
  const opaque = await loadOpaque();
  const { clientLoginState, startLoginRequest } = opaque.client.startLogin({ password });
  const { attemptId, loginResponse } = await start(startLoginRequest);
  const finished = opaque.client.finishLogin({ clientLoginState, loginResponse, password });
  if (!finished) throw new ChatError('CHAT_ERR_LOGIN_FAILED');
  return {
    attemptId,
    finishLoginRequest: finished.finishLoginRequest,
    exportKey: fromBase64url(finished.exportKey),
  };
}
