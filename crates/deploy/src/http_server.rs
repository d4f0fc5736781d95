//! Serving a router over HTTP/1.1 on a TCP listener with every connection bounded: what
//! `signet up` and `signet serve …` use instead of a bare `axum::serve`.
//!
//! Each connection goes through four phases, each with a bound ([`HttpLimits`]):
//!
//! | phase | ends when | bound | on expiry |
//! |---|---|---|---|
//! | idle (waiting for a request) | a byte arrives | `idle_timeout` | the connection is closed |
//! | head (request line and headers) | the head is parsed | `header_timeout`, from its first byte | closed |
//! | request (body, then the handler) | the handler answers | `body_timeout` for the body, `request_timeout` in all, from the head | `408` or `503` JSON answer, then closed |
//! | response (written to the client) | the body is handed to the socket | `idle_timeout` without the client taking any byte | closed |
//!
//! At most `max_connections` connections are served at once. One more is accepted, answered
//! `503 {"message":"too many connections"}` with `Connection: close`, and closed; when that many
//! refusals are already being written, it is closed at once. Request bodies held in memory at
//! once, over all connections, are bounded by `body_buffer_bytes`: a request whose next piece
//! does not fit waits, within its body timeout, and its client is not read meanwhile.
//!
//! What it leaves to others: TLS (terminate it in front), per-route body limits (each service
//! sets its own), and HTTP/2.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore, TryAcquireError};
use tokio::time::{Instant, Sleep};

/// How long connections may take and how many are served. See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// How long a connection may wait for a request (keep-alive), or leave a response unread.
    pub idle_timeout: Duration,
    /// How long a request head may take, from its first byte.
    pub header_timeout: Duration,
    /// How long a request body may take, from the end of the head (then `408`).
    pub body_timeout: Duration,
    /// How long a request may take until its answer, body included, from the end of the head
    /// (then `503`).
    pub request_timeout: Duration,
    /// Connections served at once.
    pub max_connections: u32,
    /// Bytes of request bodies held in memory at once, over all connections.
    pub body_buffer_bytes: u32,
}

impl Default for HttpLimits {
    /// Idle 60 s (as Fulcio), head 30 s, body 60 s, request 90 s, 1024 connections, 64 MiB of
    /// request bodies.
    fn default() -> Self {
        HttpLimits {
            idle_timeout: Duration::from_secs(60),
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(90),
            max_connections: 1024,
            body_buffer_bytes: 64 << 20,
        }
    }
}

impl HttpLimits {
    /// These limits with at most half of `open_files` (the process's open-file limit) as
    /// connections, so that the stores, the database and outgoing requests keep descriptors
    /// of their own. At least one connection.
    #[must_use]
    pub fn within_open_files(self, open_files: u64) -> HttpLimits {
        let half = u32::try_from(open_files / 2).unwrap_or(u32::MAX).max(1);
        HttpLimits {
            max_connections: self.max_connections.min(half),
            ..self
        }
    }
}

/// Raises the soft limit on open files to the hard limit and returns the soft limit in effect
/// afterwards (`None` when unlimited or unknown). A hard limit of "unlimited" raises the soft
/// limit to 1,048,576. A refusal leaves the limit as it was.
pub fn raise_open_files_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        let target = limit.maximum.unwrap_or(1 << 20);
        if limit.current.is_some_and(|current| current < target) {
            let _ = setrlimit(
                Resource::Nofile,
                Rlimit {
                    current: Some(target),
                    maximum: limit.maximum,
                },
            );
        }
        getrlimit(Resource::Nofile).current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Refusals being written at once; more connections over the cap are closed at once.
const REFUSALS_AT_ONCE: usize = 64;
/// How long writing one refusal may take.
const REFUSAL_TIME: Duration = Duration::from_secs(2);
/// How much of a refused client's request is read (and dropped) so that closing does not reset
/// the connection before the client reads the refusal.
const REFUSAL_DRAIN_BYTES: usize = 64 << 10;
/// hyper's read and write buffer per connection: a request head must fit in it.
const CONNECTION_BUFFER_BYTES: usize = 64 << 10;
/// How long shutdown waits for answers in progress beyond the request timeout.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The answer to a connection over the cap.
const TOO_MANY_CONNECTIONS: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/json\r\n\
content-length: 34\r\n\
retry-after: 1\r\n\
connection: close\r\n\
\r\n\
{\"message\":\"too many connections\"}";

/// Serves `router` on `listener` within `limits` until `shutdown` resolves, then stops
/// accepting, lets each connection finish its request in progress (at most the request
/// timeout and a few seconds more) and returns. A failed accept (such as running out of
/// descriptors) is reported on stderr at most once a second and retried after a pause.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()>,
) {
    let max_connections = usize::try_from(limits.max_connections).unwrap_or(usize::MAX);
    let connections = Arc::new(Semaphore::new(max_connections));
    let refusals = Arc::new(Semaphore::new(REFUSALS_AT_ONCE));
    let shared = Arc::new(Shared {
        router,
        limits,
        body_budget: Arc::new(Semaphore::new(
            usize::try_from(limits.body_buffer_bytes).unwrap_or(usize::MAX),
        )),
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut last_complaint: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Out of descriptors (EMFILE/ENFILE) or memory: wait for some to be freed.
                if last_complaint.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                    eprintln!("signet: accepting a connection: {e} (retrying)");
                    last_complaint = Some(Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        match connections.clone().try_acquire_owned() {
            Ok(permit) => {
                let shared = shared.clone();
                let stopped = stopped.clone();
                tokio::spawn(async move {
                    serve_connection(stream, shared, stopped).await;
                    drop(permit);
                });
            }
            Err(_) => refuse(stream, &refusals),
        }
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection holds a permit until it ends: having them all means all ended.
    let _ = tokio::time::timeout(
        limits.request_timeout.saturating_add(SHUTDOWN_GRACE),
        connections.acquire_many(limits.max_connections),
    )
    .await;
}

/// Errors of one connection that failed while being accepted, not of the listener.
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// Answers a connection over the cap (see [`TOO_MANY_CONNECTIONS`]), or closes it at once when
/// [`REFUSALS_AT_ONCE`] answers are already being written.
fn refuse(stream: TcpStream, refusals: &Arc<Semaphore>) {
    let Ok(permit) = refusals.clone().try_acquire_owned() else {
        drop(stream);
        return;
    };
    tokio::spawn(async move {
        let _ = tokio::time::timeout(REFUSAL_TIME, write_refusal(stream)).await;
        drop(permit);
    });
}

async fn write_refusal(mut stream: TcpStream) -> std::io::Result<()> {
    stream.write_all(TOO_MANY_CONNECTIONS).await?;
    stream.shutdown().await?;
    let mut buf = [0u8; 4096];
    let mut drained = 0usize;
    while drained < REFUSAL_DRAIN_BYTES {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        drained = drained.saturating_add(n);
    }
    Ok(())
}

/// What every connection of one server shares.
struct Shared {
    router: Router,
    limits: HttpLimits,
    /// One permit per byte of request body held in memory.
    body_budget: Arc<Semaphore>,
}

/// Serves one connection until it ends, a phase outlasts its bound, or the server stops.
async fn serve_connection(
    stream: TcpStream,
    shared: Arc<Shared>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let limits = shared.limits;
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(WatchedStream {
        inner: stream,
        activity: activity.clone(),
    });
    let service = LimitedService {
        shared,
        activity: activity.clone(),
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.max_buf_size(CONNECTION_BUFFER_BYTES);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut stopping = false;
    // The task looks at the connection's phase at its deadline, and at least every `shortest`:
    // a phase change sets a deadline at least `shortest` after it, so a change never needs to
    // wake the task (as a wake for every change would, four per request).
    let shortest = limits
        .idle_timeout
        .min(limits.header_timeout)
        .clamp(Duration::from_millis(1), Duration::from_secs(86_400));
    loop {
        let now = Instant::now();
        let look = match activity.deadline(&limits) {
            Some(deadline) => deadline.min(now + shortest),
            None => now + shortest,
        };
        tokio::select! {
            _ = connection.as_mut() => return,
            () = tokio::time::sleep_until(look) => {
                if activity.expired(&limits) {
                    // Dropping the connection closes it.
                    return;
                }
            }
            _ = stopped.changed(), if !stopping => {
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Where a connection is (see the module docs); guarded by [`Activity::phase`].
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for a request since `since`.
    Idle { since: Instant },
    /// A request's first byte came at `since`; its head is not complete.
    Head { since: Instant },
    /// A request is being handled; the service bounds it.
    Handling,
    /// Writing an answer; the client last took bytes at `progress`.
    Responding { progress: Instant },
}

/// A connection's phase, updated by its stream and its service, looked at by its task.
struct Activity {
    phase: Mutex<Phase>,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            phase: Mutex::new(Phase::Idle {
                since: Instant::now(),
            }),
        }
    }

    fn update(&self, f: impl FnOnce(Phase) -> Option<Phase>) {
        let mut phase = self.phase.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(next) = f(*phase) {
            *phase = next;
        }
    }

    /// Bytes came from the client.
    fn read(&self) {
        self.update(|phase| match phase {
            Phase::Idle { .. } => Some(Phase::Head {
                since: Instant::now(),
            }),
            _ => None,
        });
    }

    /// The client took bytes of an answer.
    fn wrote(&self) {
        self.update(|phase| match phase {
            Phase::Responding { .. } => Some(Phase::Responding {
                progress: Instant::now(),
            }),
            _ => None,
        });
    }

    fn request_started(&self) {
        self.update(|_| Some(Phase::Handling));
    }

    fn response_ready(&self) {
        self.update(|_| {
            Some(Phase::Responding {
                progress: Instant::now(),
            })
        });
    }

    fn response_sent(&self) {
        self.update(|_| {
            Some(Phase::Idle {
                since: Instant::now(),
            })
        });
    }

    fn deadline(&self, limits: &HttpLimits) -> Option<Instant> {
        let phase = *self.phase.lock().unwrap_or_else(PoisonError::into_inner);
        match phase {
            Phase::Idle { since } => since.checked_add(limits.idle_timeout),
            Phase::Head { since } => since.checked_add(limits.header_timeout),
            Phase::Handling => None,
            Phase::Responding { progress } => progress.checked_add(limits.idle_timeout),
        }
    }

    fn expired(&self, limits: &HttpLimits) -> bool {
        self.deadline(limits)
            .is_some_and(|deadline| Instant::now() >= deadline)
    }
}

/// A client connection that tells its [`Activity`] when bytes move.
struct WatchedStream {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for WatchedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        result
    }
}

impl AsyncWrite for WatchedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The router behind the request deadline, the body timeout and the body budget.
#[derive(Clone)]
struct LimitedService {
    shared: Arc<Shared>,
    activity: Arc<Activity>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
/// Waiting for room in the body budget.
type PermitWait = BoxFuture<Result<OwnedSemaphorePermit, AcquireError>>;

impl hyper::service::Service<Request<Incoming>> for LimitedService {
    type Response = Response<WatchedBody>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        self.activity.request_started();
        let limits = self.shared.limits;
        let held = Arc::new(Mutex::new(None));
        let timed_out = Arc::new(AtomicBool::new(false));
        let request = request.map(|incoming| {
            Body::new(BudgetedBody {
                inner: incoming,
                deadline: Box::pin(tokio::time::sleep(limits.body_timeout)),
                budget: self.shared.body_budget.clone(),
                budget_total: limits.body_buffer_bytes,
                held: held.clone(),
                timed_out: timed_out.clone(),
                waiting: None,
            })
        });
        let router = TowerToHyperService::new(self.shared.router.clone());
        let activity = self.activity.clone();
        Box::pin(async move {
            let answer = tokio::time::timeout(
                limits.request_timeout,
                hyper::service::Service::call(&router, request),
            )
            .await;
            let response = if timed_out.load(Ordering::Acquire) {
                closing_answer(StatusCode::REQUEST_TIMEOUT, "request body timed out")
            } else {
                match answer {
                    Ok(Ok(response)) => response,
                    Ok(Err(never)) => match never {},
                    Err(_) => closing_answer(StatusCode::SERVICE_UNAVAILABLE, "request timed out"),
                }
            };
            // The handler is done with the body: its bytes no longer count.
            drop(held.lock().unwrap_or_else(PoisonError::into_inner).take());
            activity.response_ready();
            Ok(response.map(|body| WatchedBody {
                inner: body,
                activity,
            }))
        })
    }
}

/// A JSON error answer after which the connection is closed. `message` needs no JSON escaping.
fn closing_answer(status: StatusCode, message: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::from(format!("{{\"message\":\"{message}\"}}")));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Why a request body could not be read.
#[derive(Debug, thiserror::Error)]
enum BodyError {
    /// The body did not arrive within the body timeout.
    #[error("request body timed out")]
    TimedOut,
    /// One piece of the body is larger than the whole body budget.
    #[error("request body piece larger than the server's body buffer")]
    TooLarge,
    /// The connection failed.
    #[error(transparent)]
    Read(#[from] hyper::Error),
}

/// A request body that must arrive before its deadline, and whose bytes take permits from the
/// server's body budget until the request is answered.
struct BudgetedBody {
    inner: Incoming,
    deadline: Pin<Box<Sleep>>,
    budget: Arc<Semaphore>,
    budget_total: u32,
    /// The permits of the bytes read so far; released by the service once it has answered.
    held: Arc<Mutex<Option<OwnedSemaphorePermit>>>,
    timed_out: Arc<AtomicBool>,
    /// A piece read while the budget was spent, and the wait for its permits.
    waiting: Option<(Frame<Bytes>, PermitWait)>,
}

impl BudgetedBody {
    fn hold(&self, permit: OwnedSemaphorePermit) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        match held.as_mut() {
            Some(permits) => permits.merge(permit),
            None => *held = Some(permit),
        }
    }
}

impl http_body::Body for BudgetedBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        if this.deadline.as_mut().poll(cx).is_ready() {
            this.timed_out.store(true, Ordering::Release);
            return Poll::Ready(Some(Err(BodyError::TimedOut)));
        }
        if this.waiting.is_none() {
            let frame = match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => frame,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e.into()))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            };
            let len = frame.data_ref().map_or(0, Bytes::len);
            if len == 0 {
                return Poll::Ready(Some(Ok(frame)));
            }
            let Some(n) = u32::try_from(len).ok().filter(|n| *n <= this.budget_total) else {
                return Poll::Ready(Some(Err(BodyError::TooLarge)));
            };
            match this.budget.clone().try_acquire_many_owned(n) {
                Ok(permit) => {
                    this.hold(permit);
                    return Poll::Ready(Some(Ok(frame)));
                }
                Err(TryAcquireError::NoPermits) => {
                    let wait = this.budget.clone().acquire_many_owned(n);
                    this.waiting = Some((frame, Box::pin(wait)));
                }
                Err(TryAcquireError::Closed) => {
                    return Poll::Ready(Some(Err(BodyError::TooLarge)));
                }
            }
        }
        let Some((_, wait)) = this.waiting.as_mut() else {
            return Poll::Pending;
        };
        match wait.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(_)) => Poll::Ready(Some(Err(BodyError::TooLarge))),
            Poll::Ready(Ok(permit)) => {
                this.hold(permit);
                match this.waiting.take() {
                    Some((frame, _)) => Poll::Ready(Some(Ok(frame))),
                    None => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.waiting.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        if self.waiting.is_none() {
            self.inner.size_hint()
        } else {
            SizeHint::default()
        }
    }
}

/// An answer's body that marks the connection idle again once hyper is done with it.
struct WatchedBody {
    inner: Body,
    activity: Arc<Activity>,
}

impl Drop for WatchedBody {
    fn drop(&mut self) {
        self.activity.response_sent();
    }
}

impl http_body::Body for WatchedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn connections_are_at_most_half_the_open_files() {
        let limits = HttpLimits::default();
        assert_eq!(limits.within_open_files(1 << 20).max_connections, 1024);
        assert_eq!(limits.within_open_files(1024).max_connections, 512);
        assert_eq!(limits.within_open_files(256).max_connections, 128);
        assert_eq!(limits.within_open_files(1).max_connections, 1);
        assert_eq!(limits.within_open_files(0).max_connections, 1);
    }

    #[test]
    fn the_refusal_is_a_complete_http_answer() {
        let text = std::str::from_utf8(TOO_MANY_CONNECTIONS).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["message"], "too many connections");
    }

    #[tokio::test(start_paused = true)]
    async fn each_phase_has_its_deadline() {
        let limits = HttpLimits {
            idle_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(3),
            ..HttpLimits::default()
        };
        let activity = Activity::new();
        let start = Instant::now();
        assert_eq!(
            activity.deadline(&limits),
            Some(start + limits.idle_timeout)
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        activity.read();
        let head = Instant::now();
        assert_eq!(
            activity.deadline(&limits),
            Some(head + limits.header_timeout)
        );
        // More bytes of the same head do not extend it.
        tokio::time::advance(Duration::from_secs(1)).await;
        activity.read();
        assert_eq!(
            activity.deadline(&limits),
            Some(head + limits.header_timeout)
        );
        activity.request_started();
        assert_eq!(activity.deadline(&limits), None);
        activity.read();
        assert_eq!(activity.deadline(&limits), None);
        activity.response_ready();
        tokio::time::advance(Duration::from_secs(2)).await;
        activity.wrote();
        let wrote = Instant::now();
        assert_eq!(
            activity.deadline(&limits),
            Some(wrote + limits.idle_timeout)
        );
        activity.response_sent();
        assert_eq!(
            activity.deadline(&limits),
            Some(wrote + limits.idle_timeout)
        );
        assert!(!activity.expired(&limits));
        tokio::time::advance(limits.idle_timeout).await;
        assert!(activity.expired(&limits));
    }
}
