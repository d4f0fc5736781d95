//! The identity-token flows against real servers on loopback: the browser login (authorization
//! code + PKCE) against npm `oauth2-mock-server`, GitHub Actions ambient credentials and
//! `SIGSTORE_ID_TOKEN` (in a child process, since the environment is process-global), the
//! RFC 8628 device flow against a small device-authorization server, and the total deadline
//! of every token-endpoint request against endpoints that never finish answering.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::{Value, json};
use signet_sign::token::{
    SIGSTORE_AUDIENCE, ambient_token, browser_flow, dev_token, device_flow, discover,
    github_actions_token, unverified_claims,
};
use signet_sign::{SignError, SigningClient, TokenError};
use signet_testdata::slow::{Answer, SlowServer, Stall};
use signet_testkit::oidc::MockProvider;

// ---------------------------------------------------------------------------------------------
// Browser flow against npm oauth2-mock-server.

/// One query parameter of a URL.
fn param(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("{name} missing from {url}"))
        .1
}

/// Sends a GET for `path_and_query` to the loopback listener named by `redirect_uri` and
/// returns the status of its answer.
async fn hit_listener(redirect_uri: &str, path_and_query: &str) -> u16 {
    let port = url::Url::parse(redirect_uri).unwrap().port().unwrap();
    reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}{path_and_query}"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_flow_gets_an_id_token_from_a_real_provider() {
    let Some(provider) = MockProvider::start(&[]) else {
        return;
    };
    let shown: Arc<Mutex<Option<String>>> = Arc::default();
    let seen = shown.clone();
    let browser = move |url: &str| {
        *seen.lock().unwrap() = Some(url.to_owned());
        let url = url.to_owned();
        // The browser: follows /authorize's redirect back to the loopback listener.
        tokio::spawn(async move {
            let response = reqwest::Client::new().get(&url).send().await.unwrap();
            assert_eq!(response.status(), 200, "the listener accepts the redirect");
            assert!(response.text().await.unwrap().contains("Login complete"));
        });
    };
    let start = Instant::now();
    let token = browser_flow(
        &plain_client(),
        &provider.issuer,
        "sigstore",
        Duration::from_secs(20),
        &browser,
    )
    .await
    .unwrap();
    eprintln!("browser flow took {:?}", start.elapsed());

    let url = shown.lock().unwrap().clone().unwrap();
    assert!(url.starts_with(&format!("{}/authorize?", provider.issuer)));
    assert_eq!(param(&url, "response_type"), "code");
    assert_eq!(param(&url, "client_id"), "sigstore");
    assert_eq!(param(&url, "code_challenge_method"), "S256");
    assert_eq!(
        param(&url, "code_challenge").len(),
        43,
        "a base64url SHA-256 digest"
    );
    assert!(param(&url, "state").len() >= 16);
    assert!(param(&url, "scope").split(' ').any(|s| s == "openid"));
    assert!(param(&url, "redirect_uri").starts_with("http://127.0.0.1:"));

    assert_eq!(token.split('.').count(), 3, "a JWT");
    let claims = unverified_claims(&token).unwrap();
    assert_eq!(claims["iss"], json!(provider.issuer));
    assert_eq!(claims["aud"], json!(SIGSTORE_AUDIENCE));
    // The provider copies the nonce of the authorization request into the ID token.
    assert_eq!(claims["nonce"], json!(param(&url, "nonce")));
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_flow_ignores_redirects_with_the_wrong_state() {
    let Some(provider) = MockProvider::start(&[]) else {
        return;
    };
    let browser = move |url: &str| {
        let url = url.to_owned();
        tokio::spawn(async move {
            let redirect_uri = param(&url, "redirect_uri");
            // A forged redirect (another code, wrong or no state) and a forged refusal are all
            // answered 400 and ignored; the real redirect still completes the login.
            for forged in [
                "/auth/callback?code=forged&state=not-the-state",
                "/auth/callback?code=forged",
                "/auth/callback?error=access_denied&state=not-the-state",
                "/auth/callback?error=access_denied",
                "/favicon.ico",
            ] {
                assert_eq!(hit_listener(&redirect_uri, forged).await, 400, "{forged}");
            }
            let response = reqwest::Client::new().get(&url).send().await.unwrap();
            assert_eq!(response.status(), 200);
        });
    };
    let token = browser_flow(
        &plain_client(),
        &provider.issuer,
        "sigstore",
        Duration::from_secs(20),
        &browser,
    )
    .await
    .unwrap();
    // Had the forged code been traded, the provider would have refused it (it holds no PKCE
    // challenge for it); a token means the real code was used.
    assert_eq!(
        unverified_claims(&token).unwrap()["iss"],
        json!(provider.issuer)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_flow_survives_an_idle_connection() {
    // Browsers open speculative connections they may never use; one that sends nothing must
    // not hold up the real redirect.
    let Some(provider) = MockProvider::start(&[]) else {
        return;
    };
    let idle: Arc<Mutex<Vec<std::net::TcpStream>>> = Arc::default();
    let keep = idle.clone();
    let browser = move |url: &str| {
        let port = url::Url::parse(&param(url, "redirect_uri"))
            .unwrap()
            .port()
            .unwrap();
        keep.lock()
            .unwrap()
            .push(std::net::TcpStream::connect(("127.0.0.1", port)).unwrap());
        let url = url.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let response = reqwest::Client::new().get(&url).send().await.unwrap();
            assert_eq!(response.status(), 200);
        });
    };
    let start = Instant::now();
    let token = browser_flow(
        &plain_client(),
        &provider.issuer,
        "sigstore",
        Duration::from_secs(30),
        &browser,
    )
    .await
    .unwrap();
    let took = start.elapsed();
    eprintln!("browser flow with an idle connection open took {took:?}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(
        unverified_claims(&token).unwrap()["iss"],
        json!(provider.issuer)
    );
    drop(idle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_flow_reports_a_refused_login() {
    let Some(provider) = MockProvider::start(&[]) else {
        return;
    };
    let browser = move |url: &str| {
        let url = url.to_owned();
        tokio::spawn(async move {
            let redirect_uri = param(&url, "redirect_uri");
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("error", "access_denied")
                .append_pair("error_description", "the user said no")
                .append_pair("state", &param(&url, "state"))
                .finish();
            let status = hit_listener(&redirect_uri, &format!("/auth/callback?{query}")).await;
            assert_eq!(status, 400);
        });
    };
    let error = browser_flow(
        &plain_client(),
        &provider.issuer,
        "sigstore",
        Duration::from_secs(20),
        &browser,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            &error,
            SignError::Token(TokenError::LoginRefused { error, description })
                if error == "access_denied" && description.as_deref() == Some("the user said no")
        ),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_flow_times_out_cleanly() {
    let Some(provider) = MockProvider::start(&[]) else {
        return;
    };
    let start = Instant::now();
    let error = browser_flow(
        &plain_client(),
        &provider.issuer,
        "sigstore",
        Duration::from_millis(300),
        &|_: &str| {},
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            error,
            SignError::Token(TokenError::LoginTimeout { flow: "browser" })
        ),
        "{error}"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn browser_flow_names_an_unreachable_issuer() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let issuer = format!("http://127.0.0.1:{port}");
    let error = browser_flow(
        &plain_client(),
        &issuer,
        "sigstore",
        Duration::from_secs(1),
        &|_: &str| panic!("no URL is shown when discovery fails"),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            &error,
            SignError::Token(TokenError::Transport { what, .. })
                if what.starts_with("discovery") && what.contains(&issuer)
        ),
        "{error}"
    );
}

// ---------------------------------------------------------------------------------------------
// Local HTTP servers.

/// Serves `app` on a free loopback port and returns its base URL; it stops with the test's
/// runtime.
async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

// ---------------------------------------------------------------------------------------------
// Ambient credentials. The environment is process-global and setting it needs `unsafe`, which
// the workspace forbids, so each case runs this test binary again as a child with its own
// environment; the child runs `ambient_child` only.

const CHILD_MARK: &str = "SIGNET_TOKENTEST_AMBIENT_CHILD";
const BEARER: &str = "actions-request-token";

/// The child side: prints what `ambient_token` returned. Does nothing in a normal test run.
#[tokio::test]
async fn ambient_child() {
    if std::env::var_os(CHILD_MARK).is_none() {
        return;
    }
    let outcome = match ambient_token(&reqwest::Client::new()).await {
        Ok(Some(token)) => format!("token:{token}"),
        Ok(None) => "none".to_owned(),
        // The variant, for the parent to match.
        Err(SignError::Token(TokenError::Refused {
            status, message, ..
        })) => format!("error:refused:{}:{message}", status.as_u16()),
        Err(SignError::Token(TokenError::MissingField { field, .. })) => {
            format!("error:missing:{field}")
        }
        Err(SignError::Token(TokenError::NotAUrl { what, .. })) => {
            format!("error:not-a-url:{what}")
        }
        Err(e) => format!("error:other:{e}"),
    };
    println!("AMBIENT-OUTCOME {outcome}");
}

/// Runs `ambient_child` with exactly `vars` set (of the ones `ambient_token` reads) and returns
/// its outcome line.
fn run_ambient_child(vars: &[(String, String)]) -> String {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "ambient_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_MARK, "1")
        .env_remove("SIGSTORE_ID_TOKEN")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .envs(vars.iter().map(|(k, v)| (k, v)));
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "child failed: {stdout}");
    stdout
        .lines()
        .find_map(|l| l.split_once("AMBIENT-OUTCOME ").map(|(_, rest)| rest))
        .unwrap_or_else(|| panic!("no outcome from the child: {stdout}"))
        .to_owned()
}

async fn ambient(vars: &[(&str, &str)]) -> String {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    tokio::task::spawn_blocking(move || run_ambient_child(&vars))
        .await
        .unwrap()
}

/// What the Actions endpoint was sent: the Authorization header and the query.
type ActionsLog = Arc<Mutex<Vec<(Option<String>, Vec<(String, String)>)>>>;

async fn actions_endpoint(
    State(log): State<ActionsLog>,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> (StatusCode, Json<Value>) {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    log.lock().unwrap().push((auth.clone(), params.clone()));
    if auth.as_deref() != Some(format!("Bearer {BEARER}").as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "bad bearer"})),
        );
    }
    let audiences: Vec<_> = params.iter().filter(|(k, _)| k == "audience").collect();
    if audiences.len() != 1 || audiences[0].1 != "sigstore" {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": "audience must be sigstore"})),
        );
    }
    (
        StatusCode::OK,
        Json(json!({"count": 1, "value": "header.actions-token.sig"})),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambient_token_from_the_environment() {
    let log: ActionsLog = Arc::default();
    let base = serve(
        axum::Router::new()
            .route("/token", get(actions_endpoint))
            .route("/broken", get(|| async { Json(json!({"count": 1})) }))
            .with_state(log.clone()),
    )
    .await;
    // GitHub hands out the request URL with a query already on it.
    let actions_url = format!("{base}/token?api-version=2.0");
    let url = ("ACTIONS_ID_TOKEN_REQUEST_URL", actions_url.as_str());
    let bearer = ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", BEARER);

    // Nothing set: no ambient token.
    assert_eq!(ambient(&[]).await, "none");
    // SIGSTORE_ID_TOKEN wins (trimmed), and the Actions endpoint is not asked.
    assert_eq!(
        ambient(&[("SIGSTORE_ID_TOKEN", "  a.b.c\n"), url, bearer]).await,
        "token:a.b.c"
    );
    assert!(log.lock().unwrap().is_empty());
    // A blank SIGSTORE_ID_TOKEN falls through to GitHub Actions.
    assert_eq!(
        ambient(&[("SIGSTORE_ID_TOKEN", " "), url, bearer]).await,
        "token:header.actions-token.sig"
    );
    {
        let log = log.lock().unwrap();
        assert_eq!(log.len(), 1);
        let (auth, params) = &log[0];
        assert_eq!(auth.as_deref(), Some("Bearer actions-request-token"));
        assert!(params.contains(&("api-version".to_owned(), "2.0".to_owned())));
        assert!(params.contains(&("audience".to_owned(), "sigstore".to_owned())));
    }
    // Only one of the two Actions variables: no ambient token, nothing asked.
    assert_eq!(ambient(&[url]).await, "none");
    assert_eq!(ambient(&[bearer]).await, "none");
    assert_eq!(log.lock().unwrap().len(), 1);
    // A wrong bearer: the endpoint's refusal is reported.
    let wrong = ambient(&[url, ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "wrong")]).await;
    assert_eq!(wrong, "error:refused:401:bad bearer");
    // An answer without `value`.
    let broken_url = format!("{base}/broken");
    let broken = ambient(&[("ACTIONS_ID_TOKEN_REQUEST_URL", &broken_url), bearer]).await;
    assert_eq!(broken, "error:missing:value");
    // Not a URL.
    let bad = ambient(&[("ACTIONS_ID_TOKEN_REQUEST_URL", "not a url"), bearer]).await;
    assert_eq!(bad, "error:not-a-url:ACTIONS_ID_TOKEN_REQUEST_URL");
}

// ---------------------------------------------------------------------------------------------
// Device flow (RFC 8628) against a small device-authorization server.

/// How the token endpoint answers successive polls.
#[derive(Clone, Copy)]
enum Script {
    /// `authorization_pending`, then `slow_down`, then the token.
    PendingSlowDownApprove,
    /// `authorization_pending`, then `access_denied`.
    PendingDeny,
}

struct Device {
    issuer: String,
    script: Script,
    polls: Vec<Instant>,
}

type DeviceState = Arc<Mutex<Device>>;

async fn device_discovery(State(s): State<DeviceState>) -> Json<Value> {
    let issuer = s.lock().unwrap().issuer.clone();
    Json(json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/token"),
        "device_authorization_endpoint": format!("{issuer}/device"),
        "grant_types_supported": ["urn:ietf:params:oauth:grant-type:device_code"],
    }))
}

async fn device_authorize(
    State(s): State<DeviceState>,
    Form(form): Form<Vec<(String, String)>>,
) -> (StatusCode, Json<Value>) {
    let issuer = s.lock().unwrap().issuer.clone();
    let has = |k: &str, v: &str| form.contains(&(k.to_owned(), v.to_owned()));
    if !has("client_id", "sigstore") || !has("scope", "openid email") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_request"})),
        );
    }
    (
        StatusCode::OK,
        Json(json!({
            "device_code": "device-code-1",
            "user_code": "WDJB-MJHT",
            "verification_uri": format!("{issuer}/activate"),
            "verification_uri_complete": format!("{issuer}/activate?user_code=WDJB-MJHT"),
            "expires_in": 60,
            "interval": 1,
        })),
    )
}

fn b64(v: &Value) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

async fn device_token(
    State(s): State<DeviceState>,
    Form(form): Form<Vec<(String, String)>>,
) -> (StatusCode, Json<Value>) {
    let mut device = s.lock().unwrap();
    device.polls.push(Instant::now());
    let has = |k: &str, v: &str| form.contains(&(k.to_owned(), v.to_owned()));
    if !has("grant_type", "urn:ietf:params:oauth:grant-type:device_code")
        || !has("device_code", "device-code-1")
        || !has("client_id", "sigstore")
    {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        );
    }
    let error = |e: &str| (StatusCode::BAD_REQUEST, Json(json!({"error": e})));
    match (device.script, device.polls.len()) {
        (_, 1) => error("authorization_pending"),
        (Script::PendingSlowDownApprove, 2) => error("slow_down"),
        (Script::PendingSlowDownApprove, _) => {
            let claims = json!({"iss": device.issuer, "sub": "device-user", "aud": "sigstore"});
            let id_token = format!("{}.{}.c2ln", b64(&json!({"alg": "none"})), b64(&claims));
            (
                StatusCode::OK,
                Json(json!({"access_token": "at", "token_type": "Bearer", "id_token": id_token})),
            )
        }
        (Script::PendingDeny, _) => error("access_denied"),
    }
}

async fn device_server(script: Script) -> (String, DeviceState) {
    let state: DeviceState = Arc::new(Mutex::new(Device {
        issuer: String::new(),
        script,
        polls: Vec::new(),
    }));
    let base = serve(
        axum::Router::new()
            .route(
                "/issuer/.well-known/openid-configuration",
                get(device_discovery),
            )
            .route("/issuer/device", post(device_authorize))
            .route("/issuer/token", post(device_token))
            .with_state(state.clone()),
    )
    .await;
    let issuer = format!("{base}/issuer");
    state.lock().unwrap().issuer = issuer.clone();
    (issuer, state)
}

#[tokio::test]
async fn device_flow_polls_through_pending_and_slow_down() {
    let (issuer, state) = device_server(Script::PendingSlowDownApprove).await;
    let shown: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let seen = shown.clone();
    let show = move |uri: &str, code: &str| {
        seen.lock().unwrap().push((uri.to_owned(), code.to_owned()));
    };
    let start = Instant::now();
    let token = device_flow(
        &plain_client(),
        &issuer,
        "sigstore",
        Duration::from_secs(30),
        &show,
    )
    .await
    .unwrap();
    eprintln!("device flow took {:?}", start.elapsed());
    let claims = unverified_claims(&token).unwrap();
    assert_eq!(claims["iss"], json!(issuer));
    assert_eq!(claims["sub"], json!("device-user"));
    assert_eq!(
        *shown.lock().unwrap(),
        vec![(
            format!("{issuer}/activate?user_code=WDJB-MJHT"),
            "WDJB-MJHT".to_owned()
        )]
    );
    let device = state.lock().unwrap();
    assert_eq!(device.polls.len(), 3);
    // The server asked for a 1 s interval; RFC 8628 §3.5: after slow_down the client adds
    // 5 s to it. (Allow for the time a poll itself takes.)
    let before = device.polls[1] - device.polls[0];
    let after = device.polls[2] - device.polls[1];
    assert!(before >= Duration::from_millis(950), "{before:?}");
    assert!(before < Duration::from_secs(3), "{before:?}");
    assert!(after >= Duration::from_millis(5950), "{after:?}");
}

#[tokio::test]
async fn device_flow_reports_a_refusal() {
    let (issuer, state) = device_server(Script::PendingDeny).await;
    let error = device_flow(
        &plain_client(),
        &issuer,
        "sigstore",
        Duration::from_secs(30),
        &|_: &str, _: &str| {},
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&error, SignError::Token(TokenError::DeviceLoginRefused(e)) if e == "access_denied"),
        "{error}"
    );
    assert_eq!(state.lock().unwrap().polls.len(), 2);
}

#[tokio::test]
async fn device_flow_times_out() {
    let (issuer, _state) = device_server(Script::PendingDeny).await;
    let start = Instant::now();
    let error = device_flow(
        &plain_client(),
        &issuer,
        "sigstore",
        Duration::from_millis(500),
        &|_: &str, _: &str| {},
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            error,
            SignError::Token(TokenError::LoginTimeout { flow: "device" })
        ),
        "{error}"
    );
    assert!(start.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn device_flow_needs_a_device_endpoint() {
    let Some(provider) = MockProvider::start(&[]) else {
        return;
    };
    // oauth2-mock-server offers no device authorization endpoint.
    let error = device_flow(
        &plain_client(),
        &provider.issuer,
        "sigstore",
        Duration::from_secs(5),
        &|_: &str, _: &str| panic!("nothing to show"),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            error,
            SignError::Token(TokenError::NoEndpoint {
                endpoint: "device_authorization_endpoint"
            })
        ),
        "{error}"
    );
}

// ---------------------------------------------------------------------------------------------
// Deadlines. Each request to a token endpoint ends within the client's total deadline (connect,
// headers and body), against endpoints that answer a byte at a time forever: a read timeout
// would never fire, since each byte resets it. The client is the one `signet` signs with,
// built with a 1 s deadline instead of `REQUEST_TIMEOUT`.

const DEADLINE: Duration = Duration::from_secs(1);
const SLACK: Duration = Duration::from_secs(2);

fn deadline_client() -> reqwest::Client {
    SigningClient::http_with_deadline(DEADLINE).unwrap()
}

/// Asserts `result` is a clean "timed out" error that came within `allowed` (plus slack).
#[track_caller]
fn assert_cut_off<T: std::fmt::Debug>(
    result: Result<T, SignError>,
    start: Instant,
    allowed: Duration,
) {
    let took = start.elapsed();
    let error = result.unwrap_err();
    assert!(
        matches!(&error, SignError::Token(e) if e.is_timeout()),
        "{error}"
    );
    assert!(took >= DEADLINE - Duration::from_millis(100), "{took:?}");
    assert!(took < allowed + SLACK, "{took:?}: {error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_dev_issuer_and_actions_endpoints_end_at_the_deadline() {
    for stall in [Stall::Headers, Stall::Body] {
        let server = SlowServer::start(stall);
        let http = deadline_client();
        let start = Instant::now();
        assert_cut_off(discover(&http, &server.url()).await, start, DEADLINE);
        let start = Instant::now();
        let minted = dev_token(&http, &server.url(), "alice@example.test", 60).await;
        assert_cut_off(minted, start, DEADLINE);
        let start = Instant::now();
        let actions = github_actions_token(&http, &format!("{}/token", server.url()), BEARER).await;
        assert_cut_off(actions, start, DEADLINE);
        assert_eq!(server.connections(), 3, "{stall:?}");
    }
}

/// An issuer whose discovery and device-authorization endpoints answer at once and whose
/// token endpoint stalls as `stall` says.
fn issuer_with_a_stalling_token_endpoint(stall: Stall) -> SlowServer {
    let base: Arc<std::sync::OnceLock<String>> = Arc::default();
    let known = base.clone();
    let server = SlowServer::start_with(stall, move |_, path| {
        let base = known.get()?;
        let answer = match path {
            "/.well-known/openid-configuration" => json!({
                "issuer": base,
                "authorization_endpoint": format!("{base}/authorize"),
                "token_endpoint": format!("{base}/token"),
                "device_authorization_endpoint": format!("{base}/device"),
            }),
            "/device" => json!({
                "device_code": "device-code-1",
                "user_code": "WDJB-MJHT",
                "verification_uri": format!("{base}/activate"),
                "interval": 1,
            }),
            _ => return None,
        };
        Some(Answer::json(200, answer.to_string()))
    });
    base.set(server.url()).unwrap();
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_flow_token_endpoint_ends_at_the_deadline() {
    for stall in [Stall::Headers, Stall::Body] {
        let issuer = issuer_with_a_stalling_token_endpoint(stall);
        let start = Instant::now();
        let result = device_flow(
            &deadline_client(),
            &issuer.url(),
            "sigstore",
            Duration::from_secs(60),
            &|_: &str, _: &str| {},
        )
        .await;
        // The first poll comes after the 1 s interval.
        assert_cut_off(result, start, Duration::from_secs(1) + DEADLINE);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_flow_code_exchange_ends_at_the_deadline() {
    for stall in [Stall::Headers, Stall::Body] {
        let issuer = issuer_with_a_stalling_token_endpoint(stall);
        // The browser: the issuer "redirects" straight back with a code and the right state.
        let browser = move |url: &str| {
            let url = url.to_owned();
            tokio::spawn(async move {
                let callback = format!("/auth/callback?code=c0de&state={}", param(&url, "state"));
                assert_eq!(
                    hit_listener(&param(&url, "redirect_uri"), &callback).await,
                    200
                );
            });
        };
        let start = Instant::now();
        let result = browser_flow(
            &deadline_client(),
            &issuer.url(),
            "sigstore",
            Duration::from_secs(60),
            &browser,
        )
        .await;
        assert_cut_off(result, start, DEADLINE);
    }
}
