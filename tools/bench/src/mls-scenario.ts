/**
 * The MLS scenario the `mls` benchmark measures, in Node (mls.ts) and in Chromium
 * (mls-browser-entry.ts): one group of `members` devices in one ciphersuite, then what a
 * person waits for in it. Runtime-neutral: only ts-mls, @noble/curves and web globals, with
 * gzip passed in.
 *
 * Every message crosses the "wire": it is encoded with ts-mls's TLS codec by its sender and
 * decoded by its receiver, inside the timed span. Credentials are what SecureChat's are (see
 * packages/sdk: a device's MLS signature key signed by its user's Ed25519 identity key), and
 * the authentication service checks that signature, so a join pays for one credential
 * signature per leaf on top of ts-mls's own tree validation.
 *
 * Group shapes. A group built by one commit adding everyone has a sparse tree: only the
 * committer's direct path has keys, so every later commit with a path (an external join, an
 * update, a remove; ts-mls sends add-only commits without one) encrypts its path secrets to
 * about every leaf — `one-add`. A group where members have
 * committed has filled parent nodes and encrypts to about log2(n) nodes — `committed`: after
 * the one big add, a sample of members (every `fillStride`-th leaf, in bit-reversed order so
 * the upper levels fill first) each commit an empty commit. Those sampled commits are made
 * from the observer's state with the sampled member's leaf keys put in: the bytes a real
 * member at that leaf would send, without keeping a state per member.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  clientStateEncoder,
  createApplicationMessage,
  createCommit,
  createGroup,
  createGroupInfoWithExternalPub,
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
  mlsMessageDecoder,
  mlsMessageEncoder,
  processMessage,
  protocolVersions,
  wireformats,
  type AuthenticationService,
  type ClientState,
  type Credential,
  type GroupInfo,
  type KeyPackage,
  type MlsContext,
  type MlsFramedMessage,
  type MlsMessage,
  type PrivateKeyPackage,
  type Proposal,
  type Signature,
} from 'ts-mls';

/** The two suites SecureChat considers (docs/decisions/0012-mls-library-and-suites.md). */
export const SUITES = {
  xwing: 'MLS_256_XWING_AES256GCM_SHA512_Ed25519',
  x25519: 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519',
} as const;
export type SuiteKey = keyof typeof SUITES;

export type TreeShape = 'one-add' | 'committed';

export interface Gzip {
  compress(bytes: Uint8Array): Promise<Uint8Array>;
  decompress(bytes: Uint8Array): Promise<Uint8Array>;
}

const LABEL = new TextEncoder().encode('securechat/device-credential/v1');
const ID_BYTES = 16;

/** A device credential as SecureChat's: user, device, identity key, identity signature. */
function credentialTbs(user: Uint8Array, device: Uint8Array, signatureKey: Uint8Array) {
  return concat([LABEL, user, device, signatureKey]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Checks the identity key's signature over the device's MLS signature key. */
function identityAuthService(signature: Pick<Signature, 'verify'>): AuthenticationService {
  return {
    validateCredential(credential: Credential, signaturePublicKey: Uint8Array) {
      if (credential.credentialType !== defaultCredentialTypes.basic || !('identity' in credential))
        return Promise.resolve(false);
      const bytes = credential.identity;
      const user = bytes.subarray(0, ID_BYTES);
      const device = bytes.subarray(ID_BYTES, 2 * ID_BYTES);
      const identityKey = bytes.subarray(2 * ID_BYTES, 2 * ID_BYTES + 32);
      return signature.verify(
        identityKey,
        credentialTbs(user, device, signaturePublicKey),
        bytes.subarray(2 * ID_BYTES + 32),
      );
    },
  };
}

/**
 * How the authentication service checks a credential's identity signature: with the suite's
 * Ed25519 (ts-mls uses WebCrypto where there is one: Node 20, Chromium), or with noble's
 * JavaScript Ed25519, as packages/sdk's identity code does today.
 */
export type IdentityCheck = 'webcrypto' | 'noble';

const nobleEd25519: Pick<Signature, 'verify'> = {
  verify: (publicKey, message, signature) =>
    Promise.resolve(ed25519.verify(signature, message, publicKey)),
};

export async function mlsContext(suite: SuiteKey, check: IdentityCheck): Promise<MlsContext> {
  const cipherSuite = await getCiphersuiteImpl(SUITES[suite]);
  const verifier = check === 'noble' ? nobleEd25519 : cipherSuite.signature;
  return { cipherSuite, authService: identityAuthService(verifier) };
}

export interface Device {
  publicPackage: KeyPackage;
  privatePackage: PrivateKeyPackage;
}

export async function newDevice(context: MlsContext, n: number): Promise<Device> {
  const identity = await context.cipherSuite.signature.keygen();
  const signatureKeyPair = await context.cipherSuite.signature.keygen();
  const user = new Uint8Array(ID_BYTES);
  new DataView(user.buffer).setUint32(0, n);
  const device = crypto.getRandomValues(new Uint8Array(ID_BYTES));
  const signature = await context.cipherSuite.signature.sign(
    identity.signKey,
    credentialTbs(user, device, signatureKeyPair.publicKey),
  );
  const credential: Credential = {
    credentialType: defaultCredentialTypes.basic,
    identity: concat([user, device, identity.publicKey, signature]),
  };
  return generateKeyPackageWithKey({
    credential,
    signatureKeyPair,
    cipherSuite: context.cipherSuite,
  });
}

const toWire = (message: MlsMessage): Uint8Array => encode(mlsMessageEncoder, message);

function fromWire(bytes: Uint8Array): MlsMessage {
  const message = decode(mlsMessageDecoder, bytes);
  if (!message) throw new Error('undecodable MLS message');
  return message;
}

function framed(bytes: Uint8Array): MlsFramedMessage {
  const message = fromWire(bytes);
  if (
    message.wireformat !== wireformats.mls_private_message &&
    message.wireformat !== wireformats.mls_public_message
  )
    throw new Error(`expected a framed message, got wireformat ${message.wireformat}`);
  return message;
}

function groupInfoOf(bytes: Uint8Array): GroupInfo {
  const message = fromWire(bytes);
  if (message.wireformat !== wireformats.mls_group_info) throw new Error('expected a group info');
  return message.groupInfo;
}

const addOf = (device: Device): Proposal => ({
  proposalType: defaultProposalTypes.add,
  add: { keyPackage: device.publicPackage },
});

async function elapsed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await work();
  return [result, performance.now() - start];
}

/**
 * Run `work` `repeats` times on the same input (ts-mls never mutates a state, so each run
 * does the same work) and give the last result with the median time.
 */
async function medianOf<T>(repeats: number, work: () => Promise<T>): Promise<[T, number]> {
  const times: number[] = [];
  let result: T | undefined;
  for (let i = 0; i < Math.max(1, repeats); i += 1) {
    const [value, time] = await elapsed(work);
    result = value;
    times.push(time);
  }
  times.sort((a, b) => a - b);
  return [result as T, times[Math.floor(times.length / 2)] ?? 0];
}

/** Process a framed message, failing on anything but a new state or application data. */
async function receive(context: MlsContext, state: ClientState, bytes: Uint8Array) {
  return processMessage({ context, state, message: framed(bytes) });
}

async function receiveCommit(context: MlsContext, state: ClientState, bytes: Uint8Array) {
  const result = await receive(context, state, bytes);
  if (result.kind !== 'newState') throw new Error('expected a commit');
  return result.newState;
}

/** The group info blob a committer uploads: group info + ratchet tree, TLS-encoded. */
export async function groupInfoBlob(context: MlsContext, state: ClientState): Promise<Uint8Array> {
  const groupInfo = await createGroupInfoWithExternalPubAndRatchetTree(
    state,
    [],
    context.cipherSuite,
  );
  return toWire({
    wireformat: wireformats.mls_group_info,
    version: protocolVersions.mls10,
    groupInfo,
  });
}

/** A device joins from a (decompressed) group info blob by external commit. */
export async function externalJoin(context: MlsContext, blob: Uint8Array, device?: Device) {
  const joiner = device ?? (await newDevice(context, 0x7fffffff));
  const { publicMessage, newState } = await joinGroupExternal({
    context,
    groupInfo: groupInfoOf(blob),
    keyPackage: joiner.publicPackage,
    privateKeys: joiner.privatePackage,
    resync: false,
  });
  const commit = toWire({
    wireformat: wireformats.mls_public_message,
    version: protocolVersions.mls10,
    publicMessage,
  });
  return { state: newState, commit };
}

export async function encryptMessage(context: MlsContext, state: ClientState, text: Uint8Array) {
  const { newState, message } = await createApplicationMessage({ context, state, message: text });
  return { state: newState, bytes: toWire(message) };
}

export async function decryptMessage(context: MlsContext, state: ClientState, bytes: Uint8Array) {
  const result = await receive(context, state, bytes);
  if (result.kind !== 'applicationMessage') throw new Error('expected an application message');
  return { state: result.newState, text: result.message };
}

export const encodeClientState = (state: ClientState): Uint8Array =>
  encode(clientStateEncoder, state);

/** Bit-reversed order of 0..n-1, so that the first commits fill the top of the tree. */
function bitReversed(n: number): number[] {
  const bits = Math.max(1, Math.ceil(Math.log2(n)));
  const order: number[] = [];
  for (let i = 0; i < 1 << bits; i += 1) {
    let r = 0;
    for (let b = 0; b < bits; b += 1) r |= ((i >> b) & 1) << (bits - 1 - b);
    if (r < n) order.push(r);
  }
  return order;
}

export interface Group {
  context: MlsContext;
  /** The creator (leaf 0), who commits the adds. */
  owner: ClientState;
  /** A member joined by welcome after the group was built: receives and measures. */
  member: ClientState;
  /** Members who, with the owner, send the missed messages. */
  senders: ClientState[];
  setup: { keyPackagesMs: number; addAllMs: number; fillMs: number; fillCommits: number };
}

/**
 * Build a group of `members` devices: one commit adds all but the last 4, the `committed`
 * shape then has sampled members commit, and a last commit adds the receiving member and 3
 * senders, who join from the welcome.
 */
export async function buildGroup(options: {
  suite: SuiteKey;
  identityCheck?: IdentityCheck;
  members: number;
  shape: TreeShape;
  fillStride?: number;
}): Promise<Group> {
  const { members, shape, fillStride = 1 } = options;
  if (members < 6) throw new Error('a benchmark group has at least 6 members');
  const context = await mlsContext(options.suite, options.identityCheck ?? 'webcrypto');
  const [devices, keyPackagesMs] = await elapsed(async () => {
    const all: Device[] = [];
    for (let i = 0; i < members; i += 1) all.push(await newDevice(context, i));
    return all;
  });
  const [creator, ...rest] = devices;
  if (!creator) throw new Error('no devices');
  const late = rest.splice(rest.length - 4, 4);
  let owner = await createGroup({
    context,
    groupId: crypto.getRandomValues(new Uint8Array(16)),
    keyPackage: creator.publicPackage,
    privateKeyPackage: creator.privatePackage,
  });
  const [afterAdd, addAllMs] = await elapsed(() =>
    createCommit({ context, state: owner, extraProposals: rest.map(addOf) }),
  );
  owner = afterAdd.newState;

  let fillCommits = 0;
  const [, fillMs] = await elapsed(async () => {
    if (shape !== 'committed') return;
    // Leaves 1..rest.length hold `rest` in order (one add fills leaves left to right).
    const sampled = bitReversed(rest.length).filter((i) => i % fillStride === 0);
    for (const i of sampled) {
      const device = rest[i];
      if (!device) continue;
      const leafIndex = i + 1;
      const forged: ClientState = {
        ...owner,
        privatePath: {
          leafIndex,
          privateKeys: { [2 * leafIndex]: device.privatePackage.hpkePrivateKey },
        },
        signaturePrivateKey: device.privatePackage.signaturePrivateKey,
      };
      const { commit } = await createCommit({ context, state: forged });
      owner = await receiveCommit(context, owner, toWire(commit));
      fillCommits += 1;
    }
  });

  const lateAdd = await createCommit({ context, state: owner, extraProposals: late.map(addOf) });
  owner = lateAdd.newState;
  if (!lateAdd.welcome) throw new Error('no welcome');
  const welcome = fromWire(toWire(lateAdd.welcome));
  if (welcome.wireformat !== wireformats.mls_welcome) throw new Error('expected a welcome');
  const joined: ClientState[] = [];
  for (const device of late) {
    joined.push(
      await joinGroup({
        context,
        welcome: welcome.welcome,
        keyPackage: device.publicPackage,
        privateKeys: device.privatePackage,
        ratchetTree: owner.ratchetTree,
      }),
    );
  }
  const [member, ...senders] = joined;
  if (!member) throw new Error('no member');
  return {
    context,
    owner,
    member,
    senders,
    setup: { keyPackagesMs, addAllMs, fillMs, fillCommits },
  };
}

export interface Sizes {
  groupInfoWithTree: number;
  groupInfoWithTreeGzip: number;
  groupInfo: number;
  ratchetTree: number;
  memberState: number;
  memberStateGzip: number;
}

export async function measureSizes(group: Group, gzip: Gzip): Promise<Sizes> {
  const { context, owner, member } = group;
  const withTree = await groupInfoBlob(context, owner);
  const tree = groupInfoOf(withTree).extensions.find(
    (e) => e.extensionType === defaultExtensionTypes.ratchet_tree,
  );
  const bare = toWire({
    wireformat: wireformats.mls_group_info,
    version: protocolVersions.mls10,
    groupInfo: await createGroupInfoWithExternalPub(owner, [], context.cipherSuite),
  });
  const state = encodeClientState(member);
  return {
    groupInfoWithTree: withTree.length,
    groupInfoWithTreeGzip: (await gzip.compress(withTree)).length,
    groupInfo: bare.length,
    ratchetTree: tree && 'extensionData' in tree ? tree.extensionData.length : 0,
    memberState: state.length,
    memberStateGzip: (await gzip.compress(state)).length,
  };
}

export interface MessageFigures {
  messages: number;
  encryptMs: number;
  decryptMs: number;
  bytes: number;
}

/** The owner sends `count` 200-byte messages one by one; the member decrypts each. */
export async function measureMessages(group: Group, count: number): Promise<MessageFigures> {
  const { context } = group;
  const text = new Uint8Array(200).fill(0x61);
  let encryptMs = 0;
  let decryptMs = 0;
  let bytes = 0;
  for (let i = 0; i < count; i += 1) {
    const [sent, e] = await elapsed(() => encryptMessage(context, group.owner, text));
    group.owner = sent.state;
    const [received, d] = await elapsed(() => decryptMessage(context, group.member, sent.bytes));
    group.member = received.state;
    encryptMs += e;
    decryptMs += d;
    bytes = sent.bytes.length;
  }
  return { messages: count, encryptMs: encryptMs / count, decryptMs: decryptMs / count, bytes };
}

/** 10,000 (or `count`) messages from the owner and senders, round-robin, in one epoch. */
export async function missedMessages(group: Group, count: number): Promise<Uint8Array[]> {
  const { context } = group;
  const senders = [group.owner, ...group.senders];
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i += 1) {
    const from = i % senders.length;
    const sender = senders[from];
    if (!sender) throw new Error('no sender');
    const text = new TextEncoder().encode(`missed ${i} `.padEnd(200, '.'));
    const sent = await encryptMessage(context, sender, text);
    senders[from] = sent.state;
    out.push(sent.bytes);
  }
  const [owner, ...rest] = senders;
  if (owner) group.owner = owner;
  group.senders = rest;
  return out;
}

/** The member catches up on `messages`: returns the total time. */
export async function catchUp(group: Group, messages: Uint8Array[]): Promise<number> {
  const [state, ms] = await elapsed(async () => {
    let state = group.member;
    for (const bytes of messages) state = (await decryptMessage(group.context, state, bytes)).state;
    return state;
  });
  group.member = state;
  return ms;
}

export interface CommitFigures {
  addOneMs: number;
  addOneCommitBytes: number;
  addOneWelcomeBytes: number;
  processAddMs: number;
  welcomeJoinMs: number;
  gunzipMs: number;
  externalJoinMs: number;
  externalCommitBytes: number;
  processExternalMs: number;
}

/**
 * The owner adds one device (the member processes it, the device joins from the welcome
 * and the owner's tree); then a stranger joins from the group info blob by external commit,
 * which the member processes. Each step is timed `repeats` times on the same input: the
 * median is reported.
 */
export async function measureCommits(
  group: Group,
  gzip: Gzip,
  repeats = 1,
): Promise<CommitFigures> {
  const { context } = group;
  const newcomer = await newDevice(context, 0x7ffffffe);
  const [added, addOneMs] = await medianOf(repeats, async () => {
    const result = await createCommit({
      context,
      state: group.owner,
      extraProposals: [addOf(newcomer)],
    });
    if (!result.welcome) throw new Error('no welcome');
    return { ...result, commitBytes: toWire(result.commit), welcomeBytes: toWire(result.welcome) };
  });
  group.owner = added.newState;
  const [afterAdd, processAddMs] = await medianOf(repeats, () =>
    receiveCommit(context, group.member, added.commitBytes),
  );
  group.member = afterAdd;
  const [, welcomeJoinMs] = await medianOf(repeats, async () => {
    const welcome = fromWire(added.welcomeBytes);
    if (welcome.wireformat !== wireformats.mls_welcome) throw new Error('expected a welcome');
    return joinGroup({
      context,
      welcome: welcome.welcome,
      keyPackage: newcomer.publicPackage,
      privateKeys: newcomer.privatePackage,
      ratchetTree: group.owner.ratchetTree,
    });
  });

  const stranger = await newDevice(context, 0x7ffffffd);
  const stored = await gzip.compress(await groupInfoBlob(context, group.owner));
  const [blob, gunzipMs] = await medianOf(repeats, () => gzip.decompress(stored));
  const [joined, externalJoinMs] = await medianOf(repeats, () =>
    externalJoin(context, blob, stranger),
  );
  const [afterJoin, processExternalMs] = await medianOf(repeats, () =>
    receiveCommit(context, group.member, joined.commit),
  );
  group.member = afterJoin;
  group.owner = await receiveCommit(context, group.owner, joined.commit);
  return {
    addOneMs,
    addOneCommitBytes: added.commitBytes.length,
    addOneWelcomeBytes: added.welcomeBytes.length,
    processAddMs,
    welcomeJoinMs,
    gunzipMs,
    externalJoinMs,
    externalCommitBytes: joined.commit.length,
    processExternalMs,
  };
}
