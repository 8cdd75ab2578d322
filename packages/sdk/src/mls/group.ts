/**
 * The MLS core (RFC 9420, via ts-mls): one group per room. Every function is a pure
 * transition `(state, input) → { state, output, consumed }`: it never changes its input, and
 * the caller persists the whole result before using it, then drops the old state.
 *
 * Wire bytes in and out are MLS messages (TLS encoding); group info with its ratchet tree is
 * gzip-compressed, because a big room's tree is megabytes and travels as a blob.
 */
import {
  clientStateDecoder,
  clientStateEncoder,
  createApplicationMessage,
  createCommit,
  createGroup,
  createGroupInfoWithExternalPubAndRatchetTree,
  decode,
  defaultCredentialTypes,
  defaultExtensionTypes,
  defaultProposalTypes,
  encode,
  generateKeyPackageWithKey,
  getCiphersuiteImpl,
  joinGroup,
  joinGroupExternal,
  makeKeyPackageRef,
  mlsMessageDecoder,
  mlsMessageEncoder,
  privateKeyPackageDecoder,
  privateKeyPackageEncoder,
  processMessage,
  protocolVersions,
  wireformats,
  type AuthenticationService,
  type CiphersuiteImpl,
  type ClientState,
  type Credential,
  type GroupInfo,
  type IncomingMessageCallback,
  type KeyPackage,
  type MlsContext,
  type MlsFramedMessage,
  type PrivateKeyPackage,
  type Proposal,
} from 'ts-mls';
import { peekDeviceCredential } from './identity.js';

/**
 * The cipher suites: post-quantum hybrid (X-Wing KEM, Ed25519) for conversations that only
 * invited people join; the classic X25519 suite for rooms anyone may join, whose trees must
 * stay small enough to download on join (docs/decisions/0012).
 */
export const SUITES = {
  hybrid: 'MLS_256_XWING_AES256GCM_SHA512_Ed25519',
  classic: 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519',
} as const;
export type SuiteKind = keyof typeof SUITES;

const suiteIds = { hybrid: 0xf00d, classic: 1 } as const satisfies Record<SuiteKind, number>;

const impls = new Map<SuiteKind, Promise<CiphersuiteImpl>>();
export function suiteImpl(kind: SuiteKind): Promise<CiphersuiteImpl> {
  let impl = impls.get(kind);
  if (!impl) {
    impl = getCiphersuiteImpl(SUITES[kind]);
    impls.set(kind, impl);
  }
  return impl;
}

/** The suite of a group, from its state; null when it is neither of ours. */
export function suiteOf(state: ClientState): SuiteKind | null {
  const id = state.groupContext.cipherSuite;
  for (const kind of Object.keys(suiteIds) as SuiteKind[]) if (suiteIds[kind] === id) return kind;
  return null;
}

/** This device as an MLS client: its signature key pair and its signed credential. */
export interface DeviceSigner {
  readonly user: string;
  readonly device: string;
  readonly signatureKeyPair: { readonly signKey: Uint8Array; readonly publicKey: Uint8Array };
  /** The credential bytes its user's identity key signed (identity.ts). */
  readonly credential: Uint8Array;
}

export async function mlsContext(
  kind: SuiteKind,
  authService: AuthenticationService,
): Promise<MlsContext> {
  return { cipherSuite: await suiteImpl(kind), authService };
}

/** A new device signature key pair (Ed25519, the same for both suites). */
export async function newSignatureKeyPair(): Promise<{
  signKey: Uint8Array;
  publicKey: Uint8Array;
}> {
  const impl = await suiteImpl('classic');
  return impl.signature.keygen();
}

function credentialOf(signer: DeviceSigner) {
  return { credentialType: defaultCredentialTypes.basic, identity: signer.credential } as const;
}

// ---- encodings ---------------------------------------------------------------------------

export const encodeState = (state: ClientState): Uint8Array => encode(clientStateEncoder, state);
export function decodeState(bytes: Uint8Array): ClientState {
  const state = decode(clientStateDecoder, bytes);
  if (!state) throw new Error('a stored group state is unreadable');
  return state;
}

function framed(bytes: Uint8Array): MlsFramedMessage {
  const message = decode(mlsMessageDecoder, bytes);
  if (
    !message ||
    (message.wireformat !== wireformats.mls_private_message &&
      message.wireformat !== wireformats.mls_public_message)
  )
    throw new MlsInputError('not an MLS handshake or application message');
  return message;
}

/** Input that is not what it claims to be (a malformed or foreign message). */
export class MlsInputError extends Error {
  override readonly name = 'MlsInputError';
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function gunzip(bytes: Uint8Array, maxBytes: number): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart])
    .stream()
    .pipeThrough(new DecompressionStream('gzip'));
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new MlsInputError('group info too large');
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** Most bytes a decompressed group info may have (a bomb is refused). */
const GROUP_INFO_MAX_BYTES = 64 * 1024 * 1024;

// ---- key packages ------------------------------------------------------------------------

/** A key package: what goes to the server, and what stays on this device to join with it. */
export interface OwnKeyPackage {
  /** Hex of the key package reference: how a Welcome names it. */
  readonly ref: string;
  readonly suite: SuiteKind;
  /** The MLS message carrying the public key package (uploaded). */
  readonly publicBytes: Uint8Array;
  /** The private keys (kept on this device, encrypted at rest with the rest of its state). */
  readonly privateBytes: Uint8Array;
}

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

export async function newKeyPackage(
  signer: DeviceSigner,
  suite: SuiteKind,
): Promise<OwnKeyPackage> {
  const impl = await suiteImpl(suite);
  const made = await generateKeyPackageWithKey({
    credential: credentialOf(signer),
    signatureKeyPair: signer.signatureKeyPair,
    cipherSuite: impl,
  });
  return {
    ref: hex(await makeKeyPackageRef(made.publicPackage, impl.hash)),
    suite,
    publicBytes: encode(mlsMessageEncoder, {
      version: protocolVersions.mls10,
      wireformat: wireformats.mls_key_package,
      keyPackage: made.publicPackage,
    }),
    privateBytes: encode(privateKeyPackageEncoder, made.privatePackage),
  };
}

/** Read a key package someone uploaded (claimed from the server), or throw MlsInputError. */
export function readKeyPackage(bytes: Uint8Array): KeyPackage {
  const message = decode(mlsMessageDecoder, bytes);
  if (!message || message.wireformat !== wireformats.mls_key_package)
    throw new MlsInputError('not a key package');
  return message.keyPackage;
}

function privateOf(own: OwnKeyPackage): { keyPackage: KeyPackage; privateKeys: PrivateKeyPackage } {
  const privateKeys = decode(privateKeyPackageDecoder, own.privateBytes);
  if (!privateKeys) throw new Error('a stored key package is unreadable');
  return { keyPackage: readKeyPackage(own.publicBytes), privateKeys };
}

/** Who a key package (or any leaf) says it is, unchecked. */
export function keyPackageOwner(keyPackage: KeyPackage): { user: string; device: string } | null {
  const identity = basicIdentity(keyPackage.leafNode.credential);
  return identity ? peekDeviceCredential(identity) : null;
}

/** The identity bytes of a basic credential; null for any other kind. */
export function basicIdentity(credential: Credential): Uint8Array | null {
  return credential.credentialType === defaultCredentialTypes.basic && 'identity' in credential
    ? credential.identity
    : null;
}

// ---- groups ------------------------------------------------------------------------------

/** The group id of a room: its id's bytes. */
export const groupIdOf = (room: string): Uint8Array => new TextEncoder().encode(`room:${room}`);

/** A group, its first epoch (0), with this device alone in it. */
export async function newGroup(
  context: MlsContext,
  signer: DeviceSigner,
  room: string,
  suite: SuiteKind,
): Promise<ClientState> {
  const own = await newKeyPackage(signer, suite);
  const { keyPackage, privateKeys } = privateOf(own);
  return createGroup({
    context,
    groupId: groupIdOf(room),
    keyPackage,
    privateKeyPackage: privateKeys,
  });
}

/** What a commit of this device produced: send `commit`, then `welcome` to the new devices. */
export interface OwnCommit {
  readonly state: ClientState;
  /** The epoch the commit was made in (what the server orders it by). */
  readonly epoch: number;
  readonly commit: Uint8Array;
  readonly welcome: Uint8Array | null;
  /** The next epoch's group info with its ratchet tree, gzip-compressed. */
  readonly groupInfo: Uint8Array;
  readonly consumed: Uint8Array[];
}

export async function groupInfoOf(context: MlsContext, state: ClientState): Promise<Uint8Array> {
  const info = await createGroupInfoWithExternalPubAndRatchetTree(state, [], context.cipherSuite);
  return gzip(
    encode(mlsMessageEncoder, {
      version: protocolVersions.mls10,
      wireformat: wireformats.mls_group_info,
      groupInfo: info,
    }),
  );
}

async function commitWith(
  context: MlsContext,
  state: ClientState,
  proposals: Proposal[],
): Promise<OwnCommit> {
  const result = await createCommit({
    context,
    state,
    extraProposals: proposals,
    ratchetTreeExtension: true,
  });
  return {
    state: result.newState,
    epoch: Number(state.groupContext.epoch),
    commit: encode(mlsMessageEncoder, result.commit),
    welcome: result.welcome ? encode(mlsMessageEncoder, result.welcome) : null,
    groupInfo: await groupInfoOf(context, result.newState),
    consumed: result.consumed,
  };
}

/** Add these devices (their claimed key packages) in one commit. */
export function commitAdd(
  context: MlsContext,
  state: ClientState,
  keyPackages: readonly KeyPackage[],
): Promise<OwnCommit> {
  return commitWith(
    context,
    state,
    keyPackages.map((keyPackage) => ({
      proposalType: defaultProposalTypes.add,
      add: { keyPackage },
    })),
  );
}

/** Remove these leaves in one commit. */
export function commitRemove(
  context: MlsContext,
  state: ClientState,
  leaves: readonly number[],
): Promise<OwnCommit> {
  return commitWith(
    context,
    state,
    leaves.map((removed) => ({ proposalType: defaultProposalTypes.remove, remove: { removed } })),
  );
}

/** A commit with only this device's new path secrets: post-compromise security. */
export function commitUpdate(context: MlsContext, state: ClientState): Promise<OwnCommit> {
  return commitWith(context, state, []);
}

/** Read a group info blob (gzip of an MLS GroupInfo message). */
export async function readGroupInfo(bytes: Uint8Array) {
  const message = decode(mlsMessageDecoder, await gunzip(bytes, GROUP_INFO_MAX_BYTES));
  if (!message || message.wireformat !== wireformats.mls_group_info)
    throw new MlsInputError('not a group info');
  return message.groupInfo;
}

/**
 * Whether the group info's ratchet tree holds a leaf with this signature key. ts-mls does not
 * export its tree decoder, so the encoded tree is searched for the key's 32 bytes (a leaf
 * encodes its signature key verbatim; a random 32-byte key elsewhere in it is not a concern).
 */
function treeHasKey(groupInfo: GroupInfo, key: Uint8Array): boolean {
  const tree = groupInfo.extensions.find(
    (ex) => ex.extensionType === defaultExtensionTypes.ratchet_tree,
  );
  if (!tree || key.length === 0) return false;
  const data = tree.extensionData;
  outer: for (let i = 0; i + key.length <= data.length; i++) {
    for (let j = 0; j < key.length; j++) if (data[i + j] !== key[j]) continue outer;
    return true;
  }
  return false;
}

/** Join a room's group by an external commit (rooms anyone may join). */
export async function joinByExternalCommit(
  context: MlsContext,
  signer: DeviceSigner,
  groupInfoBytes: Uint8Array,
  suite: SuiteKind,
): Promise<OwnCommit> {
  const groupInfo = await readGroupInfo(groupInfoBytes);
  if (groupInfo.groupContext.cipherSuite !== suiteIds[suite])
    throw new MlsInputError('the group uses another cipher suite than this room must');
  const own = await newKeyPackage(signer, suite);
  const { keyPackage, privateKeys } = privateOf(own);
  const result = await joinGroupExternal({
    context,
    groupInfo,
    keyPackage,
    privateKeys,
    // This device may have a leaf already: its earlier join was accepted but it never learnt
    // so (the connection closed before the answer, or before it stored the state). Joining
    // again must replace that leaf (RFC 9420 "resync"): two leaves with one signature key
    // make the tree invalid, and then nobody else could join the room.
    resync: treeHasKey(groupInfo, signer.signatureKeyPair.publicKey),
  });
  return {
    state: result.newState,
    epoch: Number(groupInfo.groupContext.epoch),
    commit: encode(mlsMessageEncoder, {
      version: protocolVersions.mls10,
      wireformat: wireformats.mls_public_message,
      publicMessage: result.publicMessage,
    }),
    welcome: null,
    groupInfo: await groupInfoOf(context, result.newState),
    consumed: [],
  };
}

/** Join from a Welcome addressed to one of this device's key packages, or null if none. */
export async function joinByWelcome(
  context: MlsContext,
  welcomeBytes: Uint8Array,
  ownPackages: ReadonlyMap<string, OwnKeyPackage>,
): Promise<{ state: ClientState; used: string } | null> {
  const message = decode(mlsMessageDecoder, welcomeBytes);
  if (!message || message.wireformat !== wireformats.mls_welcome)
    throw new MlsInputError('not a welcome');
  for (const secrets of message.welcome.secrets) {
    const ref = hex(secrets.newMember);
    const own = ownPackages.get(ref);
    if (!own) continue;
    const { keyPackage, privateKeys } = privateOf(own);
    const state = await joinGroup({ context, welcome: message.welcome, keyPackage, privateKeys });
    return { state, used: ref };
  }
  return null;
}

export async function encrypt(
  context: MlsContext,
  state: ClientState,
  plaintext: Uint8Array,
): Promise<{ state: ClientState; message: Uint8Array; consumed: Uint8Array[] }> {
  const result = await createApplicationMessage({ context, state, message: plaintext });
  return {
    state: result.newState,
    message: encode(mlsMessageEncoder, result.message),
    consumed: result.consumed,
  };
}

/** One member of a group: its leaf and who its credential names. */
export interface GroupMember {
  readonly leaf: number;
  readonly user: string;
  readonly device: string;
}

export function membersOf(state: ClientState): GroupMember[] {
  const members: GroupMember[] = [];
  state.ratchetTree.forEach((node, index) => {
    if (!node || node.nodeType !== 1 || index % 2 !== 0) return;
    const identity = basicIdentity(node.leaf.credential);
    const owner = identity ? peekDeviceCredential(identity) : null;
    if (owner) members.push({ leaf: index / 2, ...owner });
  });
  return members;
}

export const ownLeaf = (state: ClientState): number => state.privatePath.leafIndex;

/**
 * The leaf whose application ratchet a decryption advanced: the sender. ts-mls 2.0.0-rc.10
 * does not return the sender of an application message; its states are immutable, so the
 * one leaf of the secret tree that changed is the one whose key was used (a test pins this
 * to the library version: test/mls-group.test.ts).
 */
function changedLeaf(before: ClientState, after: ClientState, epoch: bigint): number | null {
  const current = before.groupContext.epoch === epoch;
  const a = current ? before.secretTree : before.historicalReceiverData.get(epoch)?.secretTree;
  const b = current ? after.secretTree : after.historicalReceiverData.get(epoch)?.secretTree;
  if (!a || !b) return null;
  const leaves = new Set([...Object.keys(a.leafNodes), ...Object.keys(b.leafNodes)]);
  const changed = [...leaves].filter(
    (key) => a.leafNodes[Number(key)] !== b.leafNodes[Number(key)],
  );
  // The secret tree keys its leaves by node index (twice the leaf index).
  return changed.length === 1 ? Number(changed[0]) / 2 : null;
}

function leafOwner(state: ClientState, epoch: bigint, leaf: number): GroupMember | null {
  const tree =
    state.groupContext.epoch === epoch
      ? state.ratchetTree
      : state.historicalReceiverData.get(epoch)?.ratchetTree;
  const node = tree?.[leaf * 2];
  if (!node || node.nodeType !== 1) return null;
  const identity = basicIdentity(node.leaf.credential);
  const owner = identity ? peekDeviceCredential(identity) : null;
  return owner ? { leaf, ...owner } : null;
}

export type Processed =
  | {
      readonly kind: 'application';
      readonly state: ClientState;
      readonly plaintext: Uint8Array;
      /** The member whose key encrypted it. */
      readonly sender: GroupMember | null;
      readonly consumed: Uint8Array[];
    }
  | {
      readonly kind: 'commit';
      readonly state: ClientState;
      /** False when `check` refused it: the state is the old one. */
      readonly accepted: boolean;
      readonly consumed: Uint8Array[];
    };

/** Process a room event's MLS message: decrypt an application message or apply a commit. */
export async function processIncoming(
  context: MlsContext,
  state: ClientState,
  bytes: Uint8Array,
  check: IncomingMessageCallback = () => 'accept',
): Promise<Processed> {
  const message = framed(bytes);
  const epoch =
    message.wireformat === wireformats.mls_private_message
      ? message.privateMessage.epoch
      : message.publicMessage.content.epoch;
  const result = await processMessage({ context, state, message, callback: check });
  if (result.kind === 'applicationMessage') {
    const leaf = changedLeaf(state, result.newState, epoch);
    return {
      kind: 'application',
      state: result.newState,
      plaintext: result.message,
      sender: leaf === null ? null : leafOwner(state, epoch, leaf),
      consumed: result.consumed,
    };
  }
  return {
    kind: 'commit',
    state: result.newState,
    accepted: result.actionTaken === 'accept',
    consumed: result.consumed,
  };
}
