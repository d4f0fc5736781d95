//! The explorer's headers, asset names and routes.

use super::*;

async fn serve(instance: &Instance) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(instance);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn instance() -> Instance {
    Instance {
        public_url: "http://127.0.0.1:3000".into(),
        logs: vec![LogInfo::rekor_v1(""), LogInfo::rekor_v2("")],
        trusted_root: "/trusted_root.json".into(),
        ..Default::default()
    }
}

/// Every `src="/assets/…"` and `href="/assets/…"` of the shell, and every `"./x.js"` import.
fn referenced(text: &str, prefix: &str) -> Vec<String> {
    text.split(prefix)
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn pages_carry_strict_headers_and_no_cache() {
    let base = serve(&instance()).await;
    for path in [
        "/",
        "/search?q=x",
        "/entry/v1/0",
        "/entry/v2/12",
        "/checkpoints",
    ] {
        let r = reqwest::get(format!("{base}{path}")).await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers();
        assert_eq!(
            h["content-security-policy"], CONTENT_SECURITY_POLICY,
            "{path}"
        );
        assert!(CONTENT_SECURITY_POLICY.contains("script-src 'self';"));
        assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["cache-control"], "no-cache");
        assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
        let body = r.text().await.unwrap();
        assert_eq!(body, shell_html());
    }
}

#[tokio::test(flavor = "current_thread")]
async fn every_referenced_asset_is_served_immutable() {
    let base = serve(&instance()).await;
    let shell = shell_html();
    assert!(!shell.contains("<style"), "no inline style");
    assert!(!shell.contains(" style="), "no inline style");
    assert!(
        !shell.contains("<script>") && !shell.contains("<script type=\"module\">"),
        "no inline script"
    );
    let mut pending = referenced(shell, "\"/assets/");
    assert_eq!(pending.len(), 2, "{pending:?}");
    let mut seen = Vec::new();
    while let Some(name) = pending.pop() {
        if seen.contains(&name) {
            continue;
        }
        let (stem, rest) = name.split_once('.').unwrap();
        let (hash, ext) = rest.split_once('.').unwrap();
        assert!(!stem.is_empty() && ["js", "css"].contains(&ext), "{name}");
        assert_eq!(hash.len(), 16, "{name}");
        let r = reqwest::get(format!("{base}/assets/{name}")).await.unwrap();
        assert_eq!(r.status(), 200, "{name}");
        assert_eq!(r.headers()["cache-control"], IMMUTABLE);
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        let want = if ext == "js" {
            "text/javascript"
        } else {
            "text/css"
        };
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(want)
        );
        let body = r.text().await.unwrap();
        // The name is the content's hash.
        assert_eq!(hashed_name(&format!("{stem}.{ext}"), &body), name);
        // Every import names a hashed module that is served too.
        for import in referenced(&body, "\"./") {
            assert!(
                import.split('.').nth(1).unwrap().len() == 16,
                "{name} imports {import}"
            );
            pending.push(import);
        }
        seen.push(name);
    }
    assert_eq!(seen.len(), SOURCES.len(), "{seen:?}");
    let missing = reqwest::get(format!("{base}/assets/app.0000000000000000.js"))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test(flavor = "current_thread")]
async fn instance_json_describes_the_instance() {
    let base = serve(&instance()).await;
    let r = reqwest::get(format!("{base}{INSTANCE_JSON}"))
        .await
        .unwrap();
    assert_eq!(r.headers()["cache-control"], "no-cache");
    assert_eq!(
        r.headers()["content-security-policy"],
        CONTENT_SECURITY_POLICY
    );
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["publicUrl"], "http://127.0.0.1:3000");
    assert_eq!(v["logs"][1]["api"], "rekor-v2");
    assert_eq!(v["logs"][0]["apiBase"], "");
    assert_eq!(v["trustedRoot"], "/trusted_root.json");
    assert!(v["devOidcIssuer"].is_null());
}

#[test]
fn asset_paths_are_hashed() {
    let app = asset_path("app.js").unwrap();
    assert!(app.starts_with("/assets/app.") && app.ends_with(".js"));
    assert!(shell_html().contains(&app));
    assert!(asset_path("nope.js").is_none());
}
