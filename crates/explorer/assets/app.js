// The explorer's entry point: loads the instance description and the trusted root's log keys,
// then renders the page named by location.pathname. Any failure is shown on the page.

import { h, reason } from "./util.js";
import * as util from "./util.js";
import * as merkle from "./merkle.js";
import * as note from "./note.js";
import * as tiles from "./tiles.js";
import * as logs from "./logs.js";
import * as pages from "./pages.js";

// The modules, for the browser tests (which run the vectors through them) and the curious.
window.signetExplorer = { util, merkle, note, tiles, logs };

function showError(main, e) {
  main.append(h("p", { class: "error", role: "alert" }, `Something went wrong: ${reason(e)}`));
}

async function start() {
  const main = document.getElementById("main");
  const banner = document.getElementById("banner");
  main.replaceChildren();
  let instance;
  try {
    instance = await logs.loadInstance();
  } catch (e) {
    main.append(h("h1", {}, "signet log explorer"));
    showError(main, e);
    document.body.dataset.ready = "error";
    return;
  }
  if (instance.devOidcIssuer) {
    banner.append(
      h("div", { class: "banner warn", role: "note" }, "Development instance: its OIDC issuer hands a token for any identity to anyone who asks. Signatures here prove nothing about who signed."),
    );
  }
  let keys = [];
  try {
    keys = await logs.loadLogKeys(instance.trustedRoot || "/trusted_root.json");
  } catch (e) {
    banner.append(h("div", { class: "banner warn", role: "note" }, `No trusted root (${reason(e)}): nothing can be verified.`));
  }
  const ctx = { instance, keys, logs: logs.openLogs(instance, keys), main };
  const path = location.pathname;
  const entry = /^\/entry\/([^/]+)\/([^/]+)$/.exec(path);
  try {
    if (path === "/") {
      document.title = "signet — instance";
      await pages.home(ctx);
    } else if (path === "/search") {
      document.title = "signet — search";
      await pages.search(ctx);
    } else if (entry) {
      document.title = `signet — entry ${decodeURIComponent(entry[2])}`;
      await pages.entry(ctx, decodeURIComponent(entry[1]), decodeURIComponent(entry[2]));
    } else if (path === "/checkpoints") {
      document.title = "signet — checkpoints";
      await pages.checkpoints(ctx);
    } else {
      main.append(h("h1", {}, "Not found"), h("p", {}, "The explorer has no such page."));
    }
  } catch (e) {
    showError(main, e);
  }
  document.body.dataset.ready = "yes";
}

// Last resort: anything thrown past the pages is shown, and marked for the tests.
window.addEventListener("unhandledrejection", (ev) => {
  ev.preventDefault();
  document.body.dataset.unhandled = "yes";
  const main = document.getElementById("main");
  if (main) showError(main, ev.reason);
});
window.addEventListener("error", (ev) => {
  document.body.dataset.unhandled = "yes";
  const main = document.getElementById("main");
  if (main) showError(main, ev.error || ev.message);
});

start();
