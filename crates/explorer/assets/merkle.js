// RFC 6962 / RFC 9162 Merkle trees over SHA-256: leaf and node hashes, inclusion and
// consistency proof verification, and proofs computed from any source of perfect-subtree
// hashes (the tiles of a tlog-tiles log). Sizes and indices are BigInt inside the verifiers, so
// any 64-bit value works; the proof length is checked before any hashing.

import { sha256, concat, equalBytes, hex } from "./util.js";

/** SHA-256(0x00 ‖ data). */
export function leafHash(data) {
  return sha256(concat(0, data));
}

/** SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left, right) {
  return sha256(concat(1, left, right));
}

function big(n, what) {
  if (typeof n === "bigint") {
    if (n < 0n || n >= 1n << 64n) throw new Error(`${what} ${n} is out of range`);
    return n;
  }
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${what} ${n} is not a valid number`);
  return BigInt(n);
}

function bitLength(x) {
  let n = 0;
  while (x > 0n) {
    x >>= 1n;
    n++;
  }
  return n;
}

function popCount(x) {
  let n = 0;
  while (x > 0n) {
    n += Number(x & 1n);
    x >>= 1n;
  }
  return n;
}

function trailingZeros(x) {
  let n = 0;
  while (x > 0n && (x & 1n) === 0n) {
    x >>= 1n;
    n++;
  }
  return n;
}

/** How many hashes a proof for `index` in a tree of `size` has: inner ones, then border ones. */
function decompose(index, size) {
  const inner = bitLength(index ^ (size - 1n));
  const border = popCount(index >> BigInt(inner));
  return { inner, border };
}

function checkHashes(proof) {
  if (!Array.isArray(proof) || !proof.every((p) => p instanceof Uint8Array && p.length === 32)) {
    throw new Error("the proof is not a list of 32-byte hashes");
  }
}

/** The root an inclusion proof leads to. */
export async function rootFromInclusion(index, size, leaf, proof) {
  const i = big(index, "index");
  const n = big(size, "tree size");
  checkHashes(proof);
  if (!(leaf instanceof Uint8Array) || leaf.length !== 32) throw new Error("the leaf hash is not 32 bytes");
  if (i >= n) throw new Error(`index ${i} is not below tree size ${n}`);
  const { inner, border } = decompose(i, n);
  if (proof.length !== inner + border) {
    throw new Error(`the inclusion proof has ${proof.length} hashes, want ${inner + border}`);
  }
  let root = leaf;
  for (let k = 0; k < inner; k++) {
    root = ((i >> BigInt(k)) & 1n) === 1n ? await nodeHash(proof[k], root) : await nodeHash(root, proof[k]);
  }
  for (let k = inner; k < proof.length; k++) root = await nodeHash(proof[k], root);
  return root;
}

/** Verifies that `leaf` is at `index` in the tree of `size` with `root`; throws why not. */
export async function verifyInclusion(index, size, leaf, proof, root) {
  const got = await rootFromInclusion(index, size, leaf, proof);
  if (!equalBytes(got, root)) {
    throw new Error(`the inclusion proof leads to root ${hex(got)}, the checkpoint says ${hex(root)}`);
  }
}

/** Verifies that the tree of `size2` with `root2` extends the tree of `size1` with `root1`. */
export async function verifyConsistency(size1, size2, root1, root2, proof) {
  const m = big(size1, "first size");
  const n = big(size2, "second size");
  checkHashes(proof);
  if (n < m) throw new Error(`second size ${n} is below first size ${m}`);
  if (m === 0n) throw new Error("no consistency proof from size 0");
  if (m === n) {
    if (proof.length !== 0) throw new Error("a proof between equal sizes must be empty");
    if (!equalBytes(root1, root2)) throw new Error("equal sizes with different roots");
    return;
  }
  if (proof.length === 0) throw new Error("the consistency proof is empty");
  const shift = trailingZeros(m);
  const decomposed = decompose(m - 1n, n);
  const inner = decomposed.inner - shift;
  const border = decomposed.border;
  const ownRoot = m === 1n << BigInt(shift);
  const start = ownRoot ? 0 : 1;
  if (proof.length !== start + inner + border) {
    throw new Error(`the consistency proof has ${proof.length} hashes, want ${start + inner + border}`);
  }
  const seed = ownRoot ? root1 : proof[0];
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new Error("the first root is not 32 bytes");
  const path = proof.slice(start);
  const mask = (m - 1n) >> BigInt(shift);
  let first = seed;
  let second = seed;
  for (let k = 0; k < inner; k++) {
    if (((mask >> BigInt(k)) & 1n) === 1n) {
      first = await nodeHash(path[k], first);
      second = await nodeHash(path[k], second);
    } else {
      second = await nodeHash(second, path[k]);
    }
  }
  for (let k = inner; k < path.length; k++) {
    first = await nodeHash(path[k], first);
    second = await nodeHash(path[k], second);
  }
  if (!equalBytes(first, root1)) throw new Error(`the proof leads to first root ${hex(first)}, want ${hex(root1)}`);
  if (!equalBytes(second, root2)) throw new Error(`the proof leads to second root ${hex(second)}, want ${hex(root2)}`);
}

function largestPowerOfTwoBelow(n) {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n) {
  return n > 0 && Number.isSafeInteger(n) && 2 ** Math.round(Math.log2(n)) === n;
}

/**
 * The root of the leaves [start, end), from `perfect(level, index)`, which gives the hash of the
 * perfect subtree of 2^level leaves starting at leaf index·2^level.
 */
export async function rangeRoot(start, end, perfect) {
  const n = end - start;
  if (!(n >= 1)) throw new Error(`empty range [${start}, ${end})`);
  if (isPowerOfTwo(n) && start % n === 0) return perfect(Math.round(Math.log2(n)), start / n);
  const k = largestPowerOfTwoBelow(n);
  return nodeHash(await rangeRoot(start, start + k, perfect), await rangeRoot(start + k, end, perfect));
}

/** The inclusion proof of `index` in the tree of `size` (RFC 6962 PATH), leaf side first. */
export async function inclusionProof(index, size, perfect) {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    throw new Error(`index ${index} is not in a tree of size ${size}`);
  }
  const walk = async (m, start, end) => {
    if (end - start === 1) return [];
    const k = largestPowerOfTwoBelow(end - start);
    if (m < start + k) return [...(await walk(m, start, start + k)), await rangeRoot(start + k, end, perfect)];
    return [...(await walk(m, start + k, end)), await rangeRoot(start, start + k, perfect)];
  };
  return walk(index, 0, size);
}

/** The consistency proof from `size1` to `size2` (RFC 6962 PROOF). */
export async function consistencyProof(size1, size2, perfect) {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 1 || size1 > size2) {
    throw new Error(`no consistency proof from size ${size1} to ${size2}`);
  }
  const sub = async (m, start, end, whole) => {
    const n = end - start;
    if (m === n) return whole ? [] : [await rangeRoot(start, end, perfect)];
    const k = largestPowerOfTwoBelow(n);
    if (m <= k) return [...(await sub(m, start, start + k, whole)), await rangeRoot(start + k, end, perfect)];
    return [...(await sub(m - k, start + k, end, false)), await rangeRoot(start, start + k, perfect)];
  };
  return sub(size1, 0, size2, true);
}
