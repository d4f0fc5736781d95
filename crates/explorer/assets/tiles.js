// C2SP tlog-tiles reads: tile and entry-bundle paths, entry bundles, and the hashes of perfect
// subtrees recomputed from tiles, which the Merkle module turns into inclusion and consistency
// proofs. Every tile's length is checked against the width the tree size implies.

import { fetchBytes } from "./util.js";
import { nodeHash } from "./merkle.js";

/** `1234067` → `x001/x234/067`. */
export function encodeIndex(n) {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`bad tile index ${n}`);
  const groups = [];
  do {
    groups.unshift(String(n % 1000).padStart(3, "0"));
    n = Math.floor(n / 1000);
  } while (n > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join("/");
}

/** `tile/<L>/<N>[.p/<W>]`. */
export function tilePath(level, index, width) {
  return `tile/${level}/${encodeIndex(index)}${width < 256 ? `.p/${width}` : ""}`;
}

/** `tile/entries/<N>[.p/<W>]`. */
export function entriesPath(index, width) {
  return `tile/entries/${encodeIndex(index)}${width < 256 ? `.p/${width}` : ""}`;
}

/** The `count` entries of an entry bundle (each a big-endian uint16 length, then the data). */
export function parseEntryBundle(bytes, count) {
  const entries = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 2 > bytes.length) throw new Error("entry bundle: truncated length");
    const len = bytes[at] * 256 + bytes[at + 1];
    if (at + 2 + len > bytes.length) throw new Error("entry bundle: truncated entry");
    entries.push(bytes.slice(at + 2, at + 2 + len));
    at += 2 + len;
  }
  if (entries.length !== count) throw new Error(`entry bundle has ${entries.length} entries, want ${count}`);
  return entries;
}

/**
 * A tlog-tiles log of `size` leaves whose tiles are under `prefix` (ending in `/`), read with
 * `fetch(url)` → bytes (by default over HTTP).
 */
export class TileLog {
  constructor(prefix, size, fetch = fetchBytes) {
    this.prefix = prefix;
    this.size = size;
    this.fetch = fetch;
    this.tiles = new Map();
    this.bundles = new Map();
  }

  /** The hashes of tile `index` at tile level `level` (as wide as the tree size allows). */
  async tile(level, index) {
    const key = `${level}/${index}`;
    if (!this.tiles.has(key)) {
      this.tiles.set(
        key,
        (async () => {
          const nodes = Math.floor(this.size / 256 ** level);
          const width = Math.min(256, nodes - index * 256);
          if (width < 1) throw new Error(`tile ${level}/${index} is beyond tree size ${this.size}`);
          const bytes = await this.fetch(this.prefix + tilePath(level, index, width));
          if (bytes.length !== width * 32) throw new Error(`tile ${level}/${index} has ${bytes.length} bytes, want ${width * 32}`);
          const hashes = [];
          for (let i = 0; i < width; i++) hashes.push(bytes.slice(i * 32, i * 32 + 32));
          return hashes;
        })(),
      );
    }
    const pending = this.tiles.get(key);
    try {
      return await pending;
    } catch (e) {
      this.tiles.delete(key);
      throw e;
    }
  }

  /** The hash of the perfect subtree of 2^level leaves starting at leaf index·2^level. */
  perfect = async (level, index) => {
    const tileLevel = Math.floor(level / 8);
    const below = level - tileLevel * 8;
    const first = index * 2 ** below;
    const count = 2 ** below;
    const tile = await this.tile(tileLevel, Math.floor(first / 256));
    let hashes = tile.slice(first % 256, (first % 256) + count);
    if (hashes.length !== count) throw new Error(`tile ${tileLevel}/${Math.floor(first / 256)} is too short`);
    while (hashes.length > 1) {
      const up = [];
      for (let i = 0; i < hashes.length; i += 2) up.push(await nodeHash(hashes[i], hashes[i + 1]));
      hashes = up;
    }
    return hashes[0];
  };

  /** The entries of entry bundle `index`. */
  async bundle(index) {
    if (!this.bundles.has(index)) {
      const width = Math.min(256, this.size - index * 256);
      if (width < 1) throw new Error(`entry bundle ${index} is beyond tree size ${this.size}`);
      this.bundles.set(
        index,
        this.fetch(this.prefix + entriesPath(index, width)).then((bytes) => parseEntryBundle(bytes, width)),
      );
    }
    const pending = this.bundles.get(index);
    try {
      return await pending;
    } catch (e) {
      this.bundles.delete(index);
      throw e;
    }
  }

  /** The data of entry `index`. */
  async entry(index) {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.size) {
      throw new Error(`index ${index} is not below the tree size ${this.size}`);
    }
    const bundle = await this.bundle(Math.floor(index / 256));
    return bundle[index % 256];
  }
}
