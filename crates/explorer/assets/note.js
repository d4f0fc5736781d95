// C2SP signed notes and checkpoints: strict parsing, Ed25519 verifier keys (vkeys), Rekor v1's
// ECDSA P-256 note signatures (key ID = the first 4 bytes of SHA-256 of the public key's
// SubjectPublicKeyInfo), and witness cosignature lines (shown by name). Signatures are checked
// with WebCrypto.

import { b64decode, concat, encoder, equalBytes, fromHex, hex, sha256 } from "./util.js";

const MAX_NOTE_BYTES = 1 << 20;
const MAX_SIGNATURES = 100;
const DASH = "\u2014 ";

/**
 * Parses a signed note (bytes or a string): `{text, signatures: [{name, keyId, signature}]}`.
 * Throws on anything malformed.
 */
export function parseNote(input) {
  const bytes = typeof input === "string" ? encoder.encode(input) : input;
  if (!(bytes instanceof Uint8Array)) throw new Error("malformed note: not bytes");
  if (bytes.length > MAX_NOTE_BYTES) throw new Error("malformed note: too large");
  let all;
  try {
    all = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new Error("malformed note: not UTF-8");
  }
  for (const ch of all) {
    const c = ch.codePointAt(0);
    if ((c < 0x20 && c !== 0x0a) || c === 0x7f) throw new Error("malformed note: control character");
  }
  const split = all.lastIndexOf("\n\n");
  if (split < 0) throw new Error("malformed note: no signature block");
  const text = all.slice(0, split + 1);
  const block = all.slice(split + 2);
  if (!block.endsWith("\n")) throw new Error("malformed note: the signatures do not end with a newline");
  const lines = block.slice(0, -1).split("\n");
  if (lines.length > MAX_SIGNATURES) throw new Error("malformed note: too many signatures");
  const signatures = lines.map((line) => {
    if (!line.startsWith(DASH)) throw new Error(`malformed note: bad signature line ${JSON.stringify(line)}`);
    const rest = line.slice(DASH.length);
    const space = rest.indexOf(" ");
    const name = rest.slice(0, space);
    const b64 = rest.slice(space + 1);
    if (space <= 0 || name.includes("+") || b64.includes(" ")) {
      throw new Error(`malformed note: bad signature line ${JSON.stringify(line)}`);
    }
    let raw;
    try {
      raw = b64decode(b64);
    } catch {
      throw new Error(`malformed note: signature by ${name} is not base64`);
    }
    if (raw.length < 5) throw new Error(`malformed note: signature by ${name} is too short`);
    return { name, keyId: raw.slice(0, 4), signature: raw.slice(4) };
  });
  return { text, signatures };
}

/**
 * Verifies `note` (from parseNote) with `verifiers` ([{name, keyId, verify(message, signature)}]).
 * Signatures by unknown keys are ignored; a known key whose signature fails rejects the note;
 * at least one known key must have signed. Returns {verified: [names], others: [signatures]}.
 */
export async function verifyNote(note, verifiers) {
  const message = encoder.encode(note.text);
  const verified = [];
  const others = [];
  for (const sig of note.signatures) {
    const verifier = verifiers.find((v) => v.name === sig.name && equalBytes(v.keyId, sig.keyId));
    if (!verifier) {
      others.push(sig);
      continue;
    }
    let ok = false;
    try {
      ok = await verifier.verify(message, sig.signature);
    } catch {
      ok = false;
    }
    if (!ok) throw new Error(`the signature by ${sig.name} (key ${hex(sig.keyId)}) does not verify`);
    verified.push(sig.name);
  }
  if (verified.length === 0) throw new Error("no signature by a known key");
  return { verified, others };
}

/** The Ed25519 (type 0x01) verifier of `name` with the 32-byte public key `publicKey`. */
export async function ed25519Verifier(name, publicKey) {
  if (publicKey.length !== 32) throw new Error("an Ed25519 key has 32 bytes");
  const keyId = (await sha256(concat(encoder.encode(name + "\n"), 1, publicKey))).slice(0, 4);
  const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  return {
    name,
    keyId,
    kind: "Ed25519",
    verify: (message, signature) =>
      signature.length === 64 ? crypto.subtle.verify({ name: "Ed25519" }, key, signature, message) : false,
  };
}

/** Parses a vkey `name+hex(keyID)+base64(0x01 ‖ key)` into a verifier; throws if it is bad. */
export async function parseVkey(vkey) {
  const parts = typeof vkey === "string" ? vkey.split("+") : [];
  if (parts.length !== 3 || parts[0] === "" || !/^[0-9a-f]{8}$/.test(parts[1])) throw new Error("bad vkey");
  const raw = b64decode(parts[2]);
  if (raw.length !== 33 || raw[0] !== 1) throw new Error("bad vkey: not an Ed25519 key");
  const verifier = await ed25519Verifier(parts[0], raw.slice(1));
  if (!equalBytes(verifier.keyId, fromHex(parts[1]))) throw new Error("bad vkey: wrong key ID");
  return verifier;
}

/** An ECDSA DER signature to the 64-byte r ‖ s WebCrypto wants (P-256). */
export function ecdsaDerToRaw(der) {
  const fail = () => {
    throw new Error("bad ECDSA signature");
  };
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) fail();
  let at = 2;
  const integer = () => {
    if (der[at] !== 0x02) fail();
    const len = der[at + 1];
    if (len === undefined || len < 1 || len > 33 || at + 2 + len > der.length) fail();
    let value = der.slice(at + 2, at + 2 + len);
    at += 2 + len;
    while (value.length > 1 && value[0] === 0) value = value.slice(1);
    if (value.length > 32) fail();
    const out = new Uint8Array(32);
    out.set(value, 32 - value.length);
    return out;
  };
  const r = integer();
  const s = integer();
  if (at !== der.length) fail();
  return concat(r, s);
}

/** The Rekor v1 (ECDSA P-256, SHA-256) note verifier of `name` with the DER SPKI `spki`. */
export async function ecdsaVerifier(name, spki) {
  const keyId = (await sha256(spki)).slice(0, 4);
  const key = await crypto.subtle.importKey("spki", spki, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  return {
    name,
    keyId,
    kind: "ECDSA P-256",
    verify: async (message, signature) =>
      crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, ecdsaDerToRaw(signature), message),
  };
}

/** Parses a checkpoint's text: {origin, size, root, extensions}. */
export function parseCheckpoint(text) {
  if (!text.endsWith("\n")) throw new Error("malformed checkpoint: no final newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) throw new Error("malformed checkpoint: fewer than three lines");
  const [origin, sizeLine, rootLine, ...extensions] = lines;
  if (origin === "") throw new Error("malformed checkpoint: empty origin");
  if (!/^(0|[1-9][0-9]{0,19})$/.test(sizeLine)) throw new Error("malformed checkpoint: bad tree size");
  const size = BigInt(sizeLine);
  if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error("tree size too large for this explorer");
  let root;
  try {
    root = b64decode(rootLine);
  } catch {
    throw new Error("malformed checkpoint: root is not base64");
  }
  if (root.length !== 32) throw new Error("malformed checkpoint: root is not 32 bytes");
  return { origin, size: Number(size), root, extensions };
}

/** Describes a signature line that no log key verified: a witness cosignature or unknown. */
export function describeOther(sig) {
  // cosignature/v1: 8-byte timestamp then a 64-byte Ed25519 signature.
  if (sig.signature.length === 72) {
    let seconds = 0;
    for (let i = 0; i < 8; i++) seconds = seconds * 256 + sig.signature[i];
    return { kind: "witness cosignature", time: seconds };
  }
  return { kind: "other signature", time: null };
}
