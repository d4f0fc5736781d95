// The logs the explorer reads: the instance description, the trusted root's log keys, and one
// class per API (Rekor v1; Rekor v2 over tlog-tiles) that fetches verified checkpoints,
// entries, inclusion and consistency proofs. Everything fetched is checked before it is shown
// as verified; every failure is an Error with a reason.

import { b64decode, fetchJSON, fetchText, fromHex, hex, postJSON } from "./util.js";
import { leafHash, verifyInclusion, verifyConsistency, inclusionProof, consistencyProof, rangeRoot } from "./merkle.js";
import { parseNote, verifyNote, parseCheckpoint, ed25519Verifier, ecdsaVerifier } from "./note.js";
import { TileLog } from "./tiles.js";
import { describeCertificate, describePublicKey, fromPem } from "./der.js";

/** How many of the newest v2 entries a search by hash or identity scans. */
export const V2_SCAN_LIMIT = 10000;

/** Settings from the query string: `?log=URL&api=v1|v2&root=URL` reads another log. */
export function overrides() {
  const params = new URLSearchParams(location.search);
  const log = params.get("log");
  if (!log) return null;
  return { log, api: params.get("api") === "v2" ? "v2" : "v1", root: params.get("root") || "" };
}

/** The instance description, with `?log=` applied. */
export async function loadInstance() {
  const instance = await fetchJSON("/explorer/instance.json");
  if (!instance || typeof instance !== "object" || !Array.isArray(instance.logs)) {
    throw new Error("/explorer/instance.json is not an instance description");
  }
  const other = overrides();
  if (other) {
    const url = new URL(other.log, location.href);
    const allowed = Array.isArray(instance.connectOrigins) ? instance.connectOrigins : [];
    if (url.origin !== location.origin && !allowed.includes(url.origin)) {
      throw new Error(
        `${url.origin} is another origin: this page may only connect to its own and to the origins its operator allowed (${allowed.join(", ") || "none"}; signet up --explorer-connect ORIGIN). Serve the explorer from that log's origin, or allow it.`,
      );
    }
    const path = url.pathname.replace(/\/$/, "");
    const base = url.origin === location.origin ? path : url.origin + path;
    instance.logs = [{ id: other.api, api: other.api === "v2" ? "rekor-v2" : "rekor-v1", apiBase: base }];
    instance.trustedRoot = other.root || instance.trustedRoot;
    instance.other = other;
  }
  return instance;
}

/** The log keys of a trusted root: [{spki, keyDetails, logId}]. */
export async function loadLogKeys(url) {
  const root = await fetchJSON(url);
  const tlogs = root && Array.isArray(root.tlogs) ? root.tlogs : null;
  if (!tlogs) throw new Error(`${url} has no tlogs`);
  const keys = [];
  for (const t of tlogs) {
    try {
      keys.push({ spki: b64decode(t.publicKey.rawBytes), keyDetails: String(t.publicKey.keyDetails), baseUrl: t.baseUrl });
    } catch {
      // A malformed key is skipped; checkpoints it would verify then fail as unknown.
    }
  }
  return keys;
}

/** Verifiers for the signature names in `note` built from every trusted log key. */
async function verifiersFor(note, keys) {
  const verifiers = [];
  const names = [...new Set(note.signatures.map((s) => s.name))];
  for (const name of names) {
    for (const key of keys) {
      try {
        if (key.keyDetails === "PKIX_ED25519" && key.spki.length === 44) {
          verifiers.push(await ed25519Verifier(name, key.spki.slice(12)));
        } else if (key.keyDetails === "PKIX_ECDSA_P256_SHA_256") {
          verifiers.push(await ecdsaVerifier(name, key.spki));
        }
      } catch {
        // A key WebCrypto cannot import verifies nothing.
      }
    }
  }
  return verifiers;
}

/**
 * Parses and verifies a checkpoint note against the trusted log keys: {checkpoint, note,
 * verified (names), others (unverified signature lines), text}.
 */
export async function verifyCheckpoint(text, keys) {
  const note = parseNote(text);
  const checkpoint = parseCheckpoint(note.text);
  const { verified, others } = await verifyNote(note, await verifiersFor(note, keys));
  rememberRoot(checkpoint);
  return { checkpoint, note, verified, others, text };
}

const REMEMBERED = 64;

function rootsKey(origin) {
  return `signet-explorer:roots:${origin}`;
}

function loadRoots(origin) {
  try {
    const v = JSON.parse(localStorage.getItem(rootsKey(origin)) || "{}");
    return v && typeof v === "object" && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}

/** Remembers, in this browser, the root of a checkpoint whose signature verified. */
function rememberRoot(checkpoint) {
  try {
    const roots = loadRoots(checkpoint.origin);
    roots[checkpoint.size] = hex(checkpoint.root);
    const sizes = Object.keys(roots).map(Number).sort((a, b) => b - a);
    for (const old of sizes.slice(REMEMBERED)) delete roots[old];
    localStorage.setItem(rootsKey(checkpoint.origin), JSON.stringify(roots));
  } catch {
    // No storage (private mode, quota): nothing is remembered.
  }
}

/** The sizes of the verified checkpoints of `origin` this browser remembers, newest first. */
export function rememberedSizes(origin) {
  return Object.keys(loadRoots(origin)).map(Number).filter(Number.isSafeInteger).sort((a, b) => b - a);
}

/** The root of the verified checkpoint of `origin` at `size` this browser remembers, or null. */
export function rememberedRoot(origin, size) {
  const h = loadRoots(origin)[size];
  try {
    return typeof h === "string" ? fromHex(h) : null;
  } catch {
    return null;
  }
}

function hashes(list) {
  if (!Array.isArray(list)) throw new Error("the proof has no hashes");
  return list.map((h) => {
    if (typeof h !== "string" || !/^[0-9a-f]{64}$/.test(h)) throw new Error("a proof hash is not 64 hex digits");
    return fromHex(h);
  });
}

/** Decodes a canonicalized Rekor body (bytes) into what the entry page shows. */
export function describeBody(bodyBytes) {
  let body;
  try {
    body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bodyBytes));
  } catch {
    return { kind: "unknown", version: "", error: "the body is not JSON" };
  }
  const out = { kind: String(body.kind || "unknown"), version: String(body.apiVersion || ""), raw: body };
  const spec = body.spec || {};
  try {
    let verifierDer = null;
    let verifierPem = null;
    if (spec.hashedRekordV002) {
      const s = spec.hashedRekordV002;
      out.digest = { algorithm: s.data.algorithm, hex: hex(b64decode(s.data.digest)) };
      out.signature = s.signature.content;
      verifierDer = s.signature.verifier;
    } else if (spec.dsseV002) {
      const s = spec.dsseV002;
      out.digest = { algorithm: s.payloadHash.algorithm, hex: hex(b64decode(s.payloadHash.digest)) };
      const first = (s.signatures || [])[0] || {};
      out.signature = first.content;
      verifierDer = first.verifier;
    } else if (out.kind === "hashedrekord") {
      out.digest = { algorithm: spec.data.hash.algorithm, hex: spec.data.hash.value };
      out.signature = spec.signature.content;
      verifierPem = spec.signature.publicKey.content;
    } else if (out.kind === "dsse") {
      if (spec.payloadHash) out.digest = { algorithm: spec.payloadHash.algorithm, hex: spec.payloadHash.value };
      const first = (spec.signatures || [])[0] || {};
      out.signature = first.signature;
      verifierPem = first.verifier;
    } else if (out.kind === "intoto") {
      const c = spec.content || {};
      if (c.payloadHash) out.digest = { algorithm: c.payloadHash.algorithm, hex: c.payloadHash.value };
      const first = ((c.envelope || {}).signatures || [])[0] || {};
      out.signature = first.sig;
      verifierPem = first.publicKey;
    }
    if (verifierDer) {
      if (verifierDer.x509Certificate) {
        out.certificate = describeCertificate(b64decode(verifierDer.x509Certificate.rawBytes));
      } else if (verifierDer.publicKey) {
        out.publicKey = describePublicKey(b64decode(verifierDer.publicKey.rawBytes));
      }
      out.keyDetails = verifierDer.keyDetails;
    } else if (verifierPem) {
      const pem = fromPem(new TextDecoder().decode(b64decode(verifierPem)));
      if (pem.label === "CERTIFICATE") out.certificate = describeCertificate(pem.der);
      else out.publicKey = describePublicKey(pem.der);
    }
  } catch (e) {
    out.error = `unexpected ${out.kind} ${out.version} body: ${e.message}`;
  }
  return out;
}

/** The signer of a described body, in a few words. */
export function signerOf(described) {
  const c = described.certificate;
  if (c && !c.error) {
    const san = c.sans.map((s) => s.value).join(", ") || c.subject || "(no SAN)";
    return c.oidcIssuer ? `${san} (${c.oidcIssuer})` : san;
  }
  if (described.publicKey && !described.publicKey.error) return `${described.publicKey.key} public key`;
  return "unknown";
}

/** A Rekor v1 log. */
export class RekorV1 {
  constructor(info, keys) {
    this.info = info;
    this.id = info.id;
    this.label = "Rekor v1";
    this.base = info.apiBase || "";
    this.keys = keys;
  }

  /** The latest checkpoint, verified. */
  async checkpoint() {
    const info = await fetchJSON(`${this.base}/api/v1/log`);
    if (!info || typeof info.signedTreeHead !== "string") throw new Error("/api/v1/log has no signedTreeHead");
    const verified = await verifyCheckpoint(info.signedTreeHead, this.keys);
    if (verified.checkpoint.size !== info.treeSize) throw new Error("treeSize differs from the signed tree head");
    return verified;
  }

  /** Raw entries ({uuid, entry}) from a `{uuid: entry}` answer. */
  static unpack(answer) {
    if (!answer || typeof answer !== "object" || Array.isArray(answer)) throw new Error("the answer is not an entry");
    return Object.entries(answer).map(([uuid, entry]) => ({ uuid, entry }));
  }

  /** Entry `index`: {uuid, entry} or null when the log has no such index. */
  async entryByIndex(index) {
    try {
      const got = RekorV1.unpack(await fetchJSON(`${this.base}/api/v1/log/entries?logIndex=${index}`));
      return got[0] || null;
    } catch (e) {
      if (e.status === 404) return null;
      throw e;
    }
  }

  /** Entry by UUID (64 or 80 hex digits), or null. */
  async entryByUuid(uuid) {
    try {
      const got = RekorV1.unpack(await fetchJSON(`${this.base}/api/v1/log/entries/${uuid}`));
      return got[0] || null;
    } catch (e) {
      if (e.status === 404) return null;
      throw e;
    }
  }

  /** Entries whose index key matches `{hash}` or `{email}` (at most `limit`). */
  async search(query, limit = 50) {
    const uuids = await postJSON(`${this.base}/api/v1/index/retrieve`, query);
    if (!Array.isArray(uuids)) throw new Error("the search answer is not a list");
    if (uuids.length === 0) return { entries: [], total: 0 };
    const wanted = uuids.slice(0, limit).filter((u) => typeof u === "string");
    const answer = await postJSON(`${this.base}/api/v1/log/entries/retrieve`, { entryUUIDs: wanted });
    if (!Array.isArray(answer)) throw new Error("the entries answer is not a list");
    return { entries: answer.flatMap((a) => RekorV1.unpack(a)), total: uuids.length };
  }

  /** A summary row of a raw entry. */
  summarize({ uuid, entry }) {
    const described = describeBody(b64decode(entry.body));
    return { log: this.id, index: entry.logIndex, time: entry.integratedTime, uuid, described };
  }

  /** Verifies a raw entry's inclusion proof against its signed checkpoint; throws why not. */
  async verifyEntry({ entry }) {
    const proof = entry && entry.verification && entry.verification.inclusionProof;
    if (!proof) throw new Error("the entry has no inclusion proof");
    if (typeof proof.checkpoint !== "string") throw new Error("the inclusion proof has no checkpoint");
    const cp = await verifyCheckpoint(proof.checkpoint, this.keys);
    if (cp.checkpoint.size !== proof.treeSize) throw new Error("the proof's tree size differs from its checkpoint's");
    if (hex(cp.checkpoint.root) !== proof.rootHash) throw new Error("the proof's root differs from its checkpoint's");
    if (proof.logIndex !== entry.logIndex) throw new Error("the proof is for another index");
    const leaf = await leafHash(b64decode(entry.body));
    await verifyInclusion(proof.logIndex, proof.treeSize, leaf, hashes(proof.hashes), cp.checkpoint.root);
    return cp;
  }

  /** The log's root at `second` and its proof from `first` (`/api/v1/log/proof`). */
  async proof(first, second) {
    const answer = await fetchJSON(`${this.base}/api/v1/log/proof?firstSize=${first}&lastSize=${second}`);
    if (!answer || typeof answer.rootHash !== "string" || !/^[0-9a-f]{64}$/.test(answer.rootHash)) {
      throw new Error("the proof answer has no root hash");
    }
    return { root: fromHex(answer.rootHash), hashes: hashes(answer.hashes || []) };
  }

  /**
   * Checks that the tree of size `first` with root `firstRoot` (bytes) is a prefix of the tree
   * of size `second` (default: the latest), and that one of the latest signed checkpoint. The
   * log's root at `second` is only trusted once it is proven consistent with the signed one.
   */
  async consistency(first, firstRoot, second) {
    const latest = await this.checkpoint();
    const last = latest.checkpoint.size;
    const to = second || last;
    checkSizes(first, to, last);
    const p1 = await this.proof(first, to);
    await verifyConsistency(first, to, firstRoot, p1.root, p1.hashes);
    if (to === last) {
      if (hex(p1.root) !== hex(latest.checkpoint.root)) throw new Error("the proof's root is not the signed checkpoint's");
    } else {
      const p2 = await this.proof(to, last);
      if (hex(p2.root) !== hex(latest.checkpoint.root)) throw new Error("the proof's root is not the signed checkpoint's");
      await verifyConsistency(to, last, p1.root, latest.checkpoint.root, p2.hashes);
    }
    return { latest, first, firstRoot, second: to, secondRoot: p1.root };
  }
}

function checkSizes(first, second, last) {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 1 || first > second || second > last) {
    throw new Error(`want 1 ≤ first size ≤ second size ≤ ${last}, got ${first} and ${second}`);
  }
}

/** A Rekor v2 log, read through tlog-tiles. */
export class RekorV2 {
  constructor(info, keys) {
    this.info = info;
    this.id = info.id;
    this.label = "Rekor v2";
    this.base = info.apiBase || "";
    this.keys = keys;
    this.latest = null;
  }

  /** The latest checkpoint, verified (and the tiles it covers). */
  async checkpoint() {
    if (!this.latest) {
      this.latest = (async () => {
        const verified = await verifyCheckpoint(await fetchText(`${this.base}/api/v2/checkpoint`), this.keys);
        verified.tiles = new TileLog(`${this.base}/api/v2/`, verified.checkpoint.size);
        return verified;
      })();
      this.latest.catch(() => {
        this.latest = null;
      });
    }
    return this.latest;
  }

  /** Entry `index` as {index, body} or null when beyond the tree. */
  async entryByIndex(index) {
    const cp = await this.checkpoint();
    if (index >= cp.checkpoint.size) return null;
    return { index, body: await cp.tiles.entry(index) };
  }

  /** A summary row of an entry. */
  summarize({ index, body }) {
    return { log: this.id, index, time: null, uuid: null, described: describeBody(body) };
  }

  /** Computes the entry's inclusion proof from the tiles and verifies it against the checkpoint. */
  async verifyEntry({ index, body }) {
    const cp = await this.checkpoint();
    const proof = await inclusionProof(index, cp.checkpoint.size, cp.tiles.perfect);
    await verifyInclusion(index, cp.checkpoint.size, await leafHash(body), proof, cp.checkpoint.root);
    return cp;
  }

  /**
   * Scans the newest V2_SCAN_LIMIT entries for `match(body bytes)`; returns the matches (newest
   * first) and how many entries were scanned.
   */
  async scan(match, limit = 50) {
    const cp = await this.checkpoint();
    const size = cp.checkpoint.size;
    const low = Math.max(0, size - V2_SCAN_LIMIT);
    const found = [];
    for (let bundle = Math.floor((size - 1) / 256); bundle >= Math.floor(low / 256) && size > 0; bundle--) {
      const entries = await cp.tiles.bundle(bundle);
      for (let i = entries.length - 1; i >= 0; i--) {
        const index = bundle * 256 + i;
        if (index < low) break;
        if (match(entries[i])) found.push({ index, body: entries[i] });
        if (found.length >= limit) return { entries: found, scanned: size - index };
      }
    }
    return { entries: found, scanned: size - low };
  }

  /**
   * Consistency from size `first` to `second` (default: the latest) and on to the latest signed
   * checkpoint: the proofs and the roots not given are computed from the tiles.
   */
  async consistency(first, firstRoot, second) {
    const latest = await this.checkpoint();
    const last = latest.checkpoint.size;
    const to = second || last;
    checkSizes(first, to, last);
    const perfect = latest.tiles.perfect;
    const root1 = firstRoot || (await rangeRoot(0, first, perfect));
    const root2 = to === last ? latest.checkpoint.root : await rangeRoot(0, to, perfect);
    await verifyConsistency(first, to, root1, root2, first === to ? [] : await consistencyProof(first, to, perfect));
    if (to !== last) {
      await verifyConsistency(to, last, root2, latest.checkpoint.root, await consistencyProof(to, last, perfect));
    }
    return { latest, first, firstRoot: root1, second: to, secondRoot: root2 };
  }
}

/** The log objects of an instance. */
export function openLogs(instance, keys) {
  return instance.logs.map((info) => (info.api === "rekor-v2" ? new RekorV2(info, keys) : new RekorV1(info, keys)));
}

/** Whether `bytes` (a v2 body) records the artifact digest `digestHex`. */
export function bodyHasDigest(bytes, digestHex) {
  const d = describeBody(bytes);
  return Boolean(d.digest && d.digest.hex === digestHex);
}

/** Whether `bytes` (a v2 body) has a certificate naming `identity`. */
export function bodyHasIdentity(bytes, identity) {
  const d = describeBody(bytes);
  const c = d.certificate;
  return Boolean(c && !c.error && c.sans.some((s) => s.value === identity));
}

