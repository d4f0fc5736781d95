// The explorer's pages: home, search, entry and checkpoints. Each renders into <main> and
// shows every failure as text on the page (never an unhandled error).

import { h, hex, reason, utc, sha256, b64decode, fromHex } from "./util.js";
import { V2_SCAN_LIMIT, bodyHasDigest, bodyHasIdentity, describeBody, signerOf, rememberedRoot, rememberedSizes } from "./logs.js";
import { describeOther } from "./note.js";

/** Keeps `?log=…&api=…&root=…` on internal links. */
export function link(path, ctx) {
  if (!ctx.instance.other) return path;
  const url = new URL(path, location.origin);
  const o = ctx.instance.other;
  url.searchParams.set("log", o.log);
  url.searchParams.set("api", o.api);
  if (o.root) url.searchParams.set("root", o.root);
  return url.pathname + url.search;
}

function status(ok, text) {
  return h("span", { class: `status ${ok === null ? "wait" : ok ? "ok" : "bad"}` }, text);
}

function kv(pairs) {
  return h("dl", { class: "kv" }, pairs.filter(Boolean).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function logLabel(log) {
  return `${log.label} (${log.id})`;
}

// ---------------------------------------------------------------- home

export async function home(ctx) {
  const { instance, logs, main } = ctx;
  const base = instance.publicUrl || location.origin;
  main.append(h("h1", {}, "This signet instance"), h("p", { class: "muted" }, `Public URL: `, h("code", {}, base)));

  const cards = h("div", { class: "cards", id: "logs" });
  main.append(h("h2", {}, "Transparency logs"), cards);
  for (const log of logs) {
    const size = h("span", { class: "big", data: { size: "" } }, "…");
    const state = status(null, "checking");
    const card = h(
      "section",
      { class: "card", data: { log: log.id }, "aria-label": logLabel(log) },
      h("h3", {}, logLabel(log)),
      h("p", {}, "Tree size: ", size),
      h("p", {}, "Checkpoint: ", state),
      h("p", {}, h("a", { href: link("/checkpoints", ctx) }, "Checkpoint and consistency"), " · ", h("a", { href: link(`/entry/${log.id}/0`, ctx) }, "first entry")),
    );
    cards.append(card);
    log
      .checkpoint()
      .then((cp) => {
        size.textContent = String(cp.checkpoint.size);
        card.dataset.size = String(cp.checkpoint.size);
        state.replaceWith(status(true, "signature verified"));
      })
      .catch((e) => {
        size.textContent = "unknown";
        state.replaceWith(status(false, `failed: ${reason(e)}`));
      });
  }

  const services = [
    ["Certificate authority", instance.ca ? h("code", {}, instance.ca) : "not run here"],
    ["CT log", instance.ctLog ? h("code", {}, instance.ctLog) : "not run here"],
    ["Timestamp authority", instance.tsa ? h("code", {}, instance.tsa) : "not run here"],
    ["OIDC issuers", instance.oidcIssuers && instance.oidcIssuers.length ? instance.oidcIssuers.join(", ") : "none configured"],
    ["Development OIDC issuer", instance.devOidcIssuer ? h("strong", {}, `ON at ${instance.devOidcIssuer}`) : "off"],
  ];
  main.append(h("h2", {}, "Services"), kv(services));

  const files = (instance.trustFiles || []).map((f) => h("li", {}, h("a", { href: f.path, download: f.name }, f.name), ` — ${f.about}`));
  if (instance.tuf) files.push(h("li", {}, h("a", { href: `${instance.tuf}1.root.json`, download: "root.json" }, "TUF root (version 1)"), ` — bootstrap for --instance ${base}${instance.tuf}`));
  main.append(h("h2", {}, "Trust files"), files.length ? h("ul", {}, files) : h("p", {}, "This instance serves no trust files."));

  const issuer = instance.devOidcIssuer || (instance.oidcIssuers || [])[0] || "https://issuer.example";
  const identity = "alice@example.test";
  const token = instance.devOidcIssuer ? `--dev-subject ${identity}` : '--identity-token "$TOKEN"';
  const has = (name) => (instance.trustFiles || []).some((f) => f.name === name);
  const verifyFlags = `--certificate-identity ${identity} --certificate-oidc-issuer ${issuer}`;
  const commands = [];
  if (has("trust_config.json")) {
    commands.push(
      "# download the trust config once",
      `curl -fsSO ${base}/trust_config.json`,
      "",
      "# signet",
      `signet sign-blob --trust-config trust_config.json ${token} --bundle file.sigstore.json file`,
      `signet verify-blob --trust-config trust_config.json --bundle file.sigstore.json \\\n    ${verifyFlags} file`,
      "",
    );
  }
  if (has("signing_config.json") && has("trusted_root.json")) {
    commands.push(
      "# cosign-style flags: the signing config and trusted root as two files",
      `curl -fsSO ${base}/signing_config.json && curl -fsSO ${base}/trusted_root.json`,
      `signet sign-blob --signing-config signing_config.json --trusted-root trusted_root.json ${token} \\\n    --bundle file.sigstore.json file`,
      `signet verify-blob --trusted-root trusted_root.json --bundle file.sigstore.json \\\n    ${verifyFlags} file`,
      "",
    );
  } else if (has("trusted_root.json")) {
    commands.push(
      "# verify bundles logged here (cosign-style flags)",
      `curl -fsSO ${base}/trusted_root.json`,
      `signet verify-blob --trusted-root trusted_root.json --bundle file.sigstore.json \\\n    ${verifyFlags} file`,
      "",
    );
  }
  if (has("trust_config.json")) {
    commands.push(
      "# sigstore-python",
      `python -m sigstore --trust-config trust_config.json sign --identity-token "$TOKEN" file`,
      `python -m sigstore --trust-config trust_config.json verify identity --bundle file.sigstore.json \\\n    --cert-identity ${identity} --cert-oidc-issuer ${issuer} file`,
    );
  }
  if (commands.length) main.append(h("h2", {}, "Sign and verify"), h("pre", { id: "commands" }, commands.join("\n").trimEnd()));
  if (instance.devOidcIssuer) {
    main.append(h("p", { class: "muted" }, `For sigstore-python, a development token: signet dev-token --server ${base} --subject ${identity}`));
  }
}

// ---------------------------------------------------------------- search

function classify(q) {
  const t = q.trim();
  if (/^sha256:[0-9a-fA-F]{64}$/.test(t)) return { type: "hash", hex: t.slice(7).toLowerCase() };
  if (/^[0-9a-fA-F]{64}$/.test(t)) return { type: "hash", hex: t.toLowerCase(), uuid: t.toLowerCase() };
  if (/^[0-9a-fA-F]{80}$/.test(t)) return { type: "uuid", uuid: t.toLowerCase() };
  if (/^[0-9]{1,16}$/.test(t)) return { type: "index", index: Number(t) };
  if (t === "") return { type: "empty" };
  return { type: "identity", identity: t };
}

function resultsTable(rows, ctx) {
  return h(
    "table",
    { id: "results" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Log"), h("th", { scope: "col" }, "Index"), h("th", { scope: "col", class: "hide-narrow" }, "Time"), h("th", { scope: "col" }, "Kind"), h("th", { scope: "col" }, "Signer"))),
    h(
      "tbody",
      {},
      rows.map((r) =>
        h(
          "tr",
          { data: { log: r.log, index: r.index } },
          h("td", {}, r.log),
          h("td", {}, h("a", { href: link(`/entry/${r.log}/${r.index}`, ctx) }, String(r.index))),
          h("td", { class: "hide-narrow" }, r.time ? utc(r.time) : "—"),
          h("td", {}, `${r.described.kind} ${r.described.version}`),
          h("td", { class: "mono" }, signerOf(r.described)),
        ),
      ),
    ),
  );
}

export async function search(ctx) {
  const { main } = ctx;
  const params = new URLSearchParams(location.search);
  const q = params.get("q") || "";
  const input = h("input", { id: "q", name: "q", type: "search", value: q, placeholder: "sha256:…, alice@example.test, 42 or a UUID", autocomplete: "off" });
  const keep = ctx.instance.other ? [h("input", { type: "hidden", name: "log", value: ctx.instance.other.log }), h("input", { type: "hidden", name: "api", value: ctx.instance.other.api })] : [];
  const file = h("input", { id: "file", type: "file" });
  const drop = h("div", { class: "drop", id: "drop" }, "Drop a file here, or ", h("label", { for: "file" }, "choose one"), ": it is hashed in your browser and never uploaded. ", file);
  const form = h(
    "form",
    { class: "searchbox", action: "/search", method: "get", role: "search" },
    h("label", { for: "q" }, "Artifact SHA-256 (hex or sha256:hex), identity (email, URI), log index or Rekor UUID"),
    h("div", { class: "row" }, input, h("button", { type: "submit" }, "Search"), keep),
    drop,
  );
  const out = h("section", { id: "search-results", "aria-live": "polite" });
  main.append(h("h1", {}, "Search the logs"), form, out);

  const hashFile = async (f) => {
    const digest = hex(await sha256(new Uint8Array(await f.arrayBuffer())));
    input.value = `sha256:${digest}`;
    form.requestSubmit();
  };
  file.addEventListener("change", () => {
    if (file.files && file.files[0]) hashFile(file.files[0]).catch((e) => out.replaceChildren(h("p", { class: "error" }, reason(e))));
  });
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const f = e.dataTransfer && e.dataTransfer.files[0];
    if (f) hashFile(f).catch((err) => out.replaceChildren(h("p", { class: "error" }, reason(err))));
  });

  const query = classify(q);
  if (query.type === "empty") return;
  out.dataset.state = "searching";
  out.append(h("p", { class: "muted" }, "Searching…"));
  const rows = [];
  const notes = [];
  for (const log of ctx.logs) {
    try {
      if (query.type === "index") {
        const e = await log.entryByIndex(query.index);
        if (e) rows.push(log.summarize(e));
      } else if (log.label === "Rekor v1") {
        if (query.uuid) {
          const e = await log.entryByUuid(query.uuid).catch(() => null);
          if (e) rows.push(log.summarize(e));
        }
        if (query.type === "hash" || query.type === "identity") {
          const key = query.type === "hash" ? { hash: `sha256:${query.hex}` } : { email: query.identity };
          const found = await log.search(key);
          for (const e of found.entries) if (!rows.some((r) => r.log === log.id && r.index === e.entry.logIndex)) rows.push(log.summarize(e));
          if (found.total > found.entries.length) notes.push(`${logLabel(log)}: showing ${found.entries.length} of ${found.total} matches.`);
        }
      } else if (query.type === "hash" || query.type === "identity") {
        const match = query.type === "hash" ? (b) => bodyHasDigest(b, query.hex) : (b) => bodyHasIdentity(b, query.identity);
        const found = await log.scan(match);
        for (const e of found.entries) rows.push(log.summarize(e));
        notes.push(`${logLabel(log)}: searched the newest ${found.scanned} entries in your browser (at most ${V2_SCAN_LIMIT}).`);
      }
    } catch (e) {
      notes.push(`${logLabel(log)}: ${reason(e)}`);
    }
  }
  out.replaceChildren();
  out.dataset.state = "done";
  out.dataset.count = String(rows.length);
  if (rows.length === 0) out.append(h("p", { class: "result", id: "no-entries" }, "No entries match ", h("code", {}, q), "."));
  else out.append(h("p", {}, `${rows.length} ${rows.length === 1 ? "entry" : "entries"}`), resultsTable(rows, ctx));
  for (const n of notes) out.append(h("p", { class: "muted" }, n));
}

// ---------------------------------------------------------------- entry

function certificateView(c) {
  if (c.error) return h("p", { class: "error" }, c.error);
  return kv([
    ["Identity (SAN)", c.sans.length ? c.sans.map((s) => `${s.value} (${s.type})`).join(", ") : "none"],
    ["OIDC issuer", c.oidcIssuer || "none"],
    ["Valid", `${c.notBefore} to ${c.notAfter}`],
    ["Issued by", c.issuer],
    ["Key", c.key],
    ["Serial", h("span", { class: "mono" }, c.serial)],
    ...c.extensions.map((e) => [e.name, h("span", { class: "mono" }, e.value)]),
  ]);
}

export async function entry(ctx, logId, indexText) {
  const { main } = ctx;
  const log = ctx.logs.find((l) => l.id === logId);
  const article = h("article", { id: "entry", data: { proof: "pending" } });
  main.append(article);
  const fail = (why) => {
    article.dataset.proof = "failed";
    article.dataset.reason = why;
  };
  if (!log) {
    article.append(h("h1", {}, "No such log"), h("p", { class: "error" }, `This instance has no log “${logId}”.`));
    return fail("unknown log");
  }
  if (!/^[0-9]{1,16}$/.test(indexText) || !Number.isSafeInteger(Number(indexText))) {
    article.append(h("h1", {}, "Bad index"), h("p", { class: "error" }, `“${indexText}” is not a log index.`));
    return fail("bad index");
  }
  const index = Number(indexText);
  article.append(h("h1", {}, `${logLabel(log)} entry ${index}`));
  const proofBox = h("div", { class: "result", id: "proof" }, status(null, "verifying the inclusion proof…"));
  article.append(proofBox);
  let raw;
  try {
    raw = await log.entryByIndex(index);
  } catch (e) {
    proofBox.replaceChildren(h("p", { class: "error" }, `Cannot read the entry: ${reason(e)}`));
    proofBox.className = "result bad";
    return fail(reason(e));
  }
  if (!raw) {
    proofBox.replaceChildren(h("p", {}, `The log has no entry ${index}.`));
    proofBox.className = "result bad";
    return fail("no such entry");
  }
  let row;
  try {
    row = log.summarize(raw);
  } catch (e) {
    row = { described: { kind: "unknown", version: "", error: reason(e) }, time: null, uuid: null };
  }
  const d = row.described;
  article.append(
    h("h2", {}, "Entry"),
    kv([
      ["Kind", `${d.kind} ${d.version}`],
      row.uuid && ["UUID", h("span", { class: "mono" }, row.uuid)],
      row.time && ["Integrated time", utc(row.time)],
      d.digest && ["Artifact digest", h("span", { class: "mono" }, `${d.digest.algorithm}: ${d.digest.hex}`)],
      d.signature && ["Signature", h("span", { class: "mono" }, d.signature)],
      d.keyDetails && ["Key details", d.keyDetails],
      ["Signer", signerOf(d)],
    ]),
  );
  if (d.error) article.append(h("p", { class: "error" }, d.error));
  if (d.certificate) article.append(h("h2", {}, "Certificate"), certificateView(d.certificate));
  if (d.publicKey) article.append(h("h2", {}, "Public key"), d.publicKey.error ? h("p", { class: "error" }, d.publicKey.error) : kv([["Key", d.publicKey.key]]));
  if (d.raw) article.append(h("details", {}, h("summary", {}, "Body as logged (JSON)"), h("pre", {}, JSON.stringify(d.raw, null, 2))));
  try {
    const cp = await log.verifyEntry(raw);
    proofBox.className = "result ok";
    proofBox.replaceChildren(
      status(true, "Inclusion verified"),
      h(
        "p",
        {},
        `Entry ${index} is in the tree of size ${cp.checkpoint.size} with root ${hex(cp.checkpoint.root)}, whose checkpoint is signed by ${cp.verified.join(", ")} (a log key of the trusted root). `,
        log.label === "Rekor v2" ? "The proof was computed in this browser from the log's tiles." : "The proof came with the entry.",
      ),
      h("details", {}, h("summary", {}, "Checkpoint"), h("pre", {}, cp.text)),
    );
    article.dataset.proof = "verified";
    article.dataset.reason = "";
  } catch (e) {
    proofBox.className = "result bad";
    proofBox.replaceChildren(status(false, "Inclusion NOT verified"), h("p", {}, reason(e)));
    fail(reason(e));
  }
}

// ---------------------------------------------------------------- checkpoints

function signaturesTable(cp) {
  const rows = [
    ...cp.verified.map((name) => h("tr", {}, h("td", {}, name), h("td", {}, "log signature"), h("td", {}, status(true, "verified")))),
    ...cp.others.map((sig) => {
      const d = describeOther(sig);
      return h(
        "tr",
        { data: { witness: sig.name } },
        h("td", {}, sig.name),
        h("td", {}, d.time !== null ? `${d.kind}, ${utc(d.time)}` : d.kind),
        h("td", {}, status(null, "key not in the trusted root: not checked")),
      );
    }),
  ];
  return h("table", {}, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Signer"), h("th", { scope: "col" }, "Kind"), h("th", { scope: "col" }, "Status"))), h("tbody", {}, rows));
}

function parseRoot(text) {
  const t = text.trim();
  if (t === "") return null;
  if (/^[0-9a-fA-F]{64}$/.test(t)) return fromHex(t);
  const b = b64decode(t);
  if (b.length !== 32) throw new Error("a root hash has 32 bytes");
  return b;
}

export async function checkpoints(ctx) {
  const { main } = ctx;
  main.append(h("h1", {}, "Checkpoints"));
  for (const log of ctx.logs) {
    const section = h("section", { class: "card", data: { log: log.id } }, h("h2", {}, logLabel(log)));
    main.append(section);
    let latest;
    try {
      latest = await log.checkpoint();
      section.dataset.checkpoint = "verified";
      section.append(
        kv([
          ["Origin", latest.checkpoint.origin],
          ["Tree size", String(latest.checkpoint.size)],
          ["Root hash", h("span", { class: "mono" }, hex(latest.checkpoint.root))],
        ]),
        signaturesTable(latest),
        h("details", {}, h("summary", {}, "Checkpoint text"), h("pre", {}, latest.text)),
      );
    } catch (e) {
      section.dataset.checkpoint = "failed";
      section.append(status(false, "checkpoint NOT verified"), h("p", { class: "error" }, reason(e)));
      continue;
    }
    const first = h("input", { id: `first-${log.id}`, type: "number", min: "1", max: String(latest.checkpoint.size), required: true, value: String(Math.max(1, Math.floor(latest.checkpoint.size / 2))) });
    const seen = rememberedSizes(latest.checkpoint.origin).filter((n) => n < latest.checkpoint.size);
    if (log.label !== "Rekor v2" && seen.length) first.value = String(seen[0]);
    const root = h("input", { id: `root-${log.id}`, type: "text", size: "44", placeholder: log.label === "Rekor v2" ? "optional: computed from the tiles" : "hex or base64; optional for sizes seen here" });
    const second = h("input", { id: `second-${log.id}`, type: "number", min: "1", max: String(latest.checkpoint.size), required: true, value: String(latest.checkpoint.size) });
    const result = h("div", { class: "result", "aria-live": "polite", data: { consistency: "" } });
    const form = h(
      "form",
      { class: "inline" },
      h("label", { for: first.id }, "From size", first),
      h("label", { for: root.id }, "Root at that size", root),
      h("label", { for: second.id }, `To size (latest: ${latest.checkpoint.size})`, second),
      h("button", { type: "submit" }, "Check consistency"),
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      result.className = "result";
      result.replaceChildren(status(null, "checking…"));
      (async () => {
        const size = Number(first.value);
        const to = Number(second.value);
        const missing = (message) => Object.assign(new Error(message), { input: true });
        if (!Number.isSafeInteger(size) || !Number.isSafeInteger(to)) throw missing("the sizes must be whole numbers");
        let given;
        try {
          given = parseRoot(root.value);
        } catch (e) {
          throw missing(`the root: ${reason(e)}`);
        }
        const r = given || rememberedRoot(latest.checkpoint.origin, size);
        if (!r && log.label !== "Rekor v2") {
          throw missing(`Rekor v1 does not serve old roots: give the root you saw at size ${size}. This browser remembers the verified checkpoints of sizes ${rememberedSizes(latest.checkpoint.origin).join(", ") || "(none)"}.`);
        }
        const got = await log.consistency(size, r, to);
        result.className = "result ok";
        result.dataset.consistency = "verified";
        const via = got.second === got.latest.checkpoint.size ? "" : `, via the tree of size ${got.second} with root ${hex(got.secondRoot)},`;
        result.replaceChildren(status(true, "consistent"), h("p", {}, `The tree of size ${size} with root ${hex(got.firstRoot)} is a prefix${via} of the signed tree of size ${got.latest.checkpoint.size}.`));
      })().catch((e) => {
        result.className = "result bad";
        result.dataset.consistency = "failed";
        result.replaceChildren(status(false, e.input ? "cannot check" : "NOT consistent"), h("p", {}, reason(e)));
      });
    });
    const hint =
      log.label === "Rekor v2"
        ? "The proofs and, unless you give it, the old root are computed in this browser from the log's tiles; the newer tree is then proven consistent with the signed checkpoint."
        : `The proofs come from the log (/api/v1/log/proof); the newer tree is proven consistent with the signed checkpoint. The old root is yours, or one this browser verified before${seen.length ? ` (sizes ${seen.slice(0, 8).join(", ")})` : ""}.`;
    section.append(h("h3", {}, "Consistency"), h("p", { class: "muted" }, hint), form, result);
  }
}

export { describeBody };
