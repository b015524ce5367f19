//! A client that survives the real API, over octocrab's HTTP layer (auth, base URI, TLS,
//! timeouts): GETs that page by `Link` header, and the POSTs and DELETEs of git references;
//! waits out secondary rate limits (`retry-after`) and a primary limit that resets soon, stops
//! with what it has when the reset is far, retries 5xx, dropped connections and timeouts with
//! backoff, and says when a retried request may have been acted on before. No error it makes
//! holds the token.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, StatusCode, Uri};
use octocrab::Octocrab;
use serde::de::DeserializeOwned;

/// How the client talks to the API.
#[derive(Clone, Debug)]
pub struct ClientSettings {
    /// `https://api.github.com`, or a GitHub Enterprise Server's `https://HOST/api/v3`.
    pub api_url: String,
    pub token: Option<String>,
    /// Per request, from sending to the last byte of the body.
    pub timeout: Duration,
    /// Retries after a 5xx, a dropped connection or a timeout.
    pub retries: u32,
    /// The first retry's wait; each next one doubles it.
    pub backoff: Duration,
    /// The longest wait for a rate limit; a longer one stops the fetch with what it has.
    pub max_wait: Duration,
}

/// Why a request did not give what was asked. Each names the request (its method and URL, as
/// `url`); none holds the token.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("--api-url `{url}`: {detail}")]
    BadUrl { url: String, detail: String },

    #[error("{url}: no usable answer after {attempts} attempt(s): {detail}")]
    Unreachable {
        url: String,
        attempts: u32,
        detail: String,
    },

    #[error("{url}: {status}: {message}{hint}")]
    Refused {
        url: String,
        status: u16,
        message: String,
        hint: &'static str,
    },

    #[error("{url}: the response is not {what}: {detail}")]
    Malformed {
        url: String,
        what: &'static str,
        detail: String,
    },

    #[error(
        "{url}: {kind} rate limit reached; it would take {wait_secs} s to wait it out, more than --max-wait allows"
    )]
    RateLimited {
        url: String,
        kind: &'static str,
        wait_secs: u64,
    },

    #[error("{url}: the next page's link points away from the API, to `{link}`")]
    ForeignLink { url: String, link: String },

    #[error("{url}: redirected away from the API, to `{location}`; not followed")]
    ForeignRedirect { url: String, location: String },

    #[error("{url}: the answer is larger than {limit} bytes; not read")]
    TooLarge { url: String, limit: usize },

    #[error("{url}: {what} goes on past {pages} pages, or repeats a page; stopped there")]
    EndlessPages {
        url: String,
        what: &'static str,
        pages: usize,
    },
}

/// A request's method, and its body for a POST.
#[derive(Clone, Copy, Debug)]
pub enum Request<'a> {
    Get,
    Post(&'a serde_json::Value),
    Delete,
}

impl Request<'_> {
    fn verb(self) -> &'static str {
        match self {
            Request::Get => "GET",
            Request::Post(_) => "POST",
            Request::Delete => "DELETE",
        }
    }
}

/// A final answer: a success, or a status the caller asked to see.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub headers: HeaderMap,
    /// A try before it failed in a way that leaves unknown whether the server acted on it (a
    /// 5xx, a dropped connection, a timeout): for a POST, what it created may be its own.
    pub retried: bool,
    /// The request as errors name it: its method and URL.
    pub label: String,
}

/// The largest answer read: a page of 100 jobs with their steps is well under 1 MiB.
pub const MAX_BODY: usize = 32 * 1024 * 1024;
/// Redirects followed for one request, within the API.
const MAX_REDIRECTS: usize = 5;

impl ApiError {
    /// A rate limit stops a fetch without failing it: what was gathered is kept.
    pub fn is_rate_limit(&self) -> bool {
        matches!(self, ApiError::RateLimited { .. })
    }
}

/// What the client did, for the summary.
#[derive(Clone, Debug, Default)]
pub struct ClientStats {
    pub requests: u64,
    pub retries: u64,
    pub waited: Duration,
    /// One line per wait or retry, for `--verbose`-like summaries.
    pub events: Vec<String>,
}

#[derive(Debug)]
pub struct Client {
    octo: Octocrab,
    base: Uri,
    settings: ClientSettings,
    /// (remaining, reset as Unix seconds) from the last response that said.
    rate: Option<(u64, u64)>,
    pub stats: ClientStats,
}

/// Secondary rate limit without `retry-after`: the API's documentation says to wait a minute.
const SECONDARY_DEFAULT_WAIT: u64 = 60;
/// Rate-limit waits in a row before giving up on one request.
const MAX_RATE_WAITS: u32 = 5;

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn header_u64(h: &HeaderMap, name: &str) -> Option<u64> {
    h.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// The `rel="next"` target of a `Link` header.
pub fn next_link(h: &HeaderMap) -> Option<String> {
    let link = h.get(http::header::LINK)?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
        let target = target.trim();
        (is_next && target.starts_with('<') && target.ends_with('>'))
            .then(|| target[1..target.len() - 1].to_owned())
    })
}

/// The message of an API error body (`{"message": "..."}`), else the body's start.
pub(super) fn message_of(body: &str) -> String {
    let msg = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| body.chars().take(200).collect());
    if msg.trim().is_empty() {
        "(no message)".to_owned()
    } else {
        msg
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = inner.source();
    }
    s
}

enum Attempt {
    Done(u16, String, HeaderMap),
    /// A redirect within the API: the path to ask instead.
    Moved(String),
    Transient(String, Option<u64>),
    Limited {
        kind: &'static str,
        wait: u64,
    },
    Fatal(ApiError),
}

impl Client {
    pub fn new(settings: ClientSettings) -> Result<Self, ApiError> {
        let bad = |detail: String| ApiError::BadUrl {
            url: settings.api_url.clone(),
            detail,
        };
        let base: Uri = settings
            .api_url
            .trim_end_matches('/')
            .parse()
            .map_err(|e| bad(format!("not a URL: {e}")))?;
        if base.scheme().is_none() || base.authority().is_none() {
            return Err(bad(
                "expected an absolute URL such as https://api.github.com".into(),
            ));
        }
        let mut builder = Octocrab::builder()
            .base_uri(base.clone())
            .map_err(|e| bad(error_chain(&e)))?
            .add_header(
                http::header::ACCEPT,
                "application/vnd.github+json".to_owned(),
            )
            .add_header(
                http::HeaderName::from_static("x-github-api-version"),
                "2022-11-28".to_owned(),
            )
            .set_connect_timeout(Some(settings.timeout))
            .set_read_timeout(Some(settings.timeout));
        if let Some(token) = &settings.token {
            builder = builder.personal_token(token.clone());
        }
        let octo = builder.build().map_err(|e| bad(error_chain(&e)))?;
        Ok(Client {
            octo,
            base,
            settings,
            rate: None,
            stats: ClientStats::default(),
        })
    }

    /// The full URL of a path, as errors show it.
    pub(super) fn url(&self, path_and_query: &str) -> String {
        let base = self.base.to_string();
        let base = base.trim_end_matches('/');
        let base_path = self.base.path().trim_end_matches('/');
        if !base_path.is_empty() && path_and_query.starts_with(base_path) {
            let origin = &base[..base.len() - base_path.len()];
            format!("{origin}{path_and_query}")
        } else {
            format!("{base}{path_and_query}")
        }
    }

    /// A next-page link as a path under the API, refused if it points elsewhere (the token is
    /// only ever sent to the API).
    fn relative(&self, url: &str, link: &str) -> Result<String, ApiError> {
        let foreign = || ApiError::ForeignLink {
            url: url.to_owned(),
            link: link.to_owned(),
        };
        let uri: Uri = link.parse().map_err(|_| foreign())?;
        if uri.scheme() != self.base.scheme() || uri.authority() != self.base.authority() {
            return Err(foreign());
        }
        Ok(uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()))
    }

    async fn sleep_for(&mut self, d: Duration, why: String) {
        self.stats.waited += d;
        self.stats.events.push(why);
        tokio::time::sleep(d).await;
    }

    /// Before a request: if the last answer said the limit is spent, wait for its reset or stop.
    async fn respect_primary(&mut self, url: &str) -> Result<(), ApiError> {
        let Some((0, reset)) = self.rate else {
            return Ok(());
        };
        let now = now_unix();
        if reset <= now {
            self.rate = None;
            return Ok(());
        }
        let wait = reset - now + 1;
        if Duration::from_secs(wait) > self.settings.max_wait {
            return Err(ApiError::RateLimited {
                url: url.to_owned(),
                kind: "primary",
                wait_secs: wait,
            });
        }
        self.sleep_for(
            Duration::from_secs(wait),
            format!("waited {wait} s for the rate limit to reset"),
        )
        .await;
        self.rate = None;
        Ok(())
    }

    /// One request: its status, headers and body, the body `None` past `MAX_BODY` (read no
    /// further).
    async fn send_capped(
        &self,
        request: Request<'_>,
        path: &str,
    ) -> Result<(StatusCode, HeaderMap, Option<String>), octocrab::Error> {
        use http_body_util::BodyExt as _;
        let response = match request {
            Request::Get => self.octo._get(path).await?,
            Request::Post(body) => self.octo._post(path, Some(body)).await?,
            Request::Delete => self.octo._delete(path, None::<&()>).await?,
        };
        let status = response.status();
        let headers = response.headers().clone();
        if header_u64(&headers, "content-length").is_some_and(|n| n > MAX_BODY as u64) {
            return Ok((status, headers, None));
        }
        let mut body = Vec::new();
        let mut frames = response.into_body();
        while let Some(frame) = frames.frame().await {
            if let Ok(data) = frame?.into_data() {
                if body.len() + data.len() > MAX_BODY {
                    return Ok((status, headers, None));
                }
                body.extend_from_slice(&data);
            }
        }
        Ok((
            status,
            headers,
            Some(String::from_utf8_lossy(&body).into_owned()),
        ))
    }

    async fn attempt(
        &mut self,
        request: Request<'_>,
        path: &str,
        url: &str,
        accept: &[u16],
    ) -> Attempt {
        let sent =
            tokio::time::timeout(self.settings.timeout, self.send_capped(request, path)).await;
        let (status, headers, body) = match sent {
            Err(_) => {
                return Attempt::Transient(
                    format!("no answer within {} s", self.settings.timeout.as_secs()),
                    None,
                );
            }
            Ok(Err(e)) => return Attempt::Transient(error_chain(&e), None),
            Ok(Ok((_, _, None))) => {
                return Attempt::Fatal(ApiError::TooLarge {
                    url: url.to_owned(),
                    limit: MAX_BODY,
                });
            }
            Ok(Ok((status, headers, Some(body)))) => (status, headers, body),
        };
        if status.is_redirection() {
            let location = headers
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            // A renamed repository is answered with a redirect to the API itself; anywhere else
            // would take the token, or data that is not the API's, with it.
            return match self.relative(url, &location) {
                Ok(p) if !location.is_empty() => Attempt::Moved(p),
                _ => Attempt::Fatal(ApiError::ForeignRedirect {
                    url: url.to_owned(),
                    location,
                }),
            };
        }
        if let (Some(remaining), Some(reset)) = (
            header_u64(&headers, "x-ratelimit-remaining"),
            header_u64(&headers, "x-ratelimit-reset"),
        ) {
            self.rate = Some((remaining, reset));
        }
        let retry_after = header_u64(&headers, "retry-after");
        if status.is_success() || accept.contains(&status.as_u16()) {
            return Attempt::Done(status.as_u16(), body, headers);
        }
        let message = message_of(&body);
        if status == StatusCode::FORBIDDEN || status == StatusCode::TOO_MANY_REQUESTS {
            if let Some(wait) = retry_after {
                return Attempt::Limited {
                    kind: "secondary",
                    wait,
                };
            }
            if let Some((0, reset)) = self.rate {
                return Attempt::Limited {
                    kind: "primary",
                    wait: reset.saturating_sub(now_unix()) + 1,
                };
            }
            if message.to_lowercase().contains("secondary rate limit") {
                return Attempt::Limited {
                    kind: "secondary",
                    wait: SECONDARY_DEFAULT_WAIT,
                };
            }
        }
        if status.is_server_error() {
            return Attempt::Transient(format!("{status}: {message}"), retry_after);
        }
        let hint = match (status.as_u16(), request) {
            (401, _) => {
                " (the token is missing, expired or wrong: set GITHUB_TOKEN or --token-env)"
            }
            (403, Request::Get) => {
                " (the token lacks the `actions: read` permission for this repository)"
            }
            (403, _) => {
                " (the token lacks the `contents: write` permission for this repository: claiming creates git references)"
            }
            (404, _) => {
                " (no such repository or workflow, or the token cannot see it: check --repo, --workflow and the token's access)"
            }
            _ => "",
        };
        Attempt::Fatal(ApiError::Refused {
            url: url.to_owned(),
            status: status.as_u16(),
            message,
            hint,
        })
    }

    /// The request as errors name it.
    fn label(&self, request: Request<'_>, path: &str) -> String {
        format!("{} {}", request.verb(), self.url(path))
    }

    /// GETs `path_and_query` (under the API base) and parses it as `what`, with the next page's
    /// path if there is one.
    pub async fn get_json<T: DeserializeOwned>(
        &mut self,
        path_and_query: &str,
        what: &'static str,
    ) -> Result<(T, Option<String>), ApiError> {
        let answer = self.send(Request::Get, path_and_query, &[]).await?;
        let value: T = serde_json::from_str(&answer.body).map_err(|e| ApiError::Malformed {
            url: answer.label.clone(),
            what,
            detail: e.to_string(),
        })?;
        let next = match next_link(&answer.headers) {
            Some(link) => Some(self.relative(&answer.label, &link)?),
            None => None,
        };
        Ok((value, next))
    }

    /// Sends `request` to `path_and_query` (under the API base) until it is answered: through
    /// redirects within the API, rate-limit waits and retries. A status in `accept` is an
    /// answer, as a success is; any other refusal is an error.
    pub async fn send(
        &mut self,
        request: Request<'_>,
        path_and_query: &str,
        accept: &[u16],
    ) -> Result<Answer, ApiError> {
        let mut path_and_query = path_and_query.to_owned();
        let mut url = self.label(request, &path_and_query);
        let mut failures = 0u32;
        let mut rate_waits = 0u32;
        let mut redirects = 0usize;
        loop {
            self.respect_primary(&url).await?;
            self.stats.requests += 1;
            match self.attempt(request, &path_and_query, &url, accept).await {
                Attempt::Moved(to) => {
                    redirects += 1;
                    if redirects > MAX_REDIRECTS {
                        return Err(ApiError::Unreachable {
                            url,
                            attempts: failures + 1,
                            detail: format!("more than {MAX_REDIRECTS} redirects"),
                        });
                    }
                    url = self.label(request, &to);
                    path_and_query = to;
                }
                Attempt::Done(status, body, headers) => {
                    return Ok(Answer {
                        status,
                        body,
                        headers,
                        retried: failures > 0,
                        label: url,
                    });
                }
                Attempt::Limited { kind, wait } => {
                    rate_waits += 1;
                    if Duration::from_secs(wait) > self.settings.max_wait
                        || rate_waits > MAX_RATE_WAITS
                    {
                        return Err(ApiError::RateLimited {
                            url,
                            kind,
                            wait_secs: wait,
                        });
                    }
                    self.sleep_for(
                        Duration::from_secs(wait),
                        format!("waited {wait} s for a {kind} rate limit"),
                    )
                    .await;
                    self.rate = None;
                }
                Attempt::Transient(detail, retry_after) => {
                    failures += 1;
                    if failures > self.settings.retries {
                        return Err(ApiError::Unreachable {
                            url,
                            attempts: failures,
                            detail,
                        });
                    }
                    self.stats.retries += 1;
                    let backoff = self
                        .settings
                        .backoff
                        .saturating_mul(1 << (failures - 1).min(10))
                        .min(Duration::from_secs(60));
                    let wait = retry_after
                        .map(Duration::from_secs)
                        .filter(|d| *d <= self.settings.max_wait)
                        .map_or(backoff, |d| d.max(backoff));
                    self.sleep_for(
                        wait,
                        format!("retried after {} ms: {detail}", wait.as_millis()),
                    )
                    .await;
                }
                Attempt::Fatal(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_link_is_found_among_the_others() {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::LINK,
            "<https://api.github.com/repositories/1/actions/runs?page=1>; rel=\"prev\", <https://api.github.com/repositories/1/actions/runs?page=3>; rel=\"next\", <https://api.github.com/repositories/1/actions/runs?page=9>; rel=\"last\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://api.github.com/repositories/1/actions/runs?page=3")
        );
        h.insert(
            http::header::LINK,
            "<https://x/a?page=1>; rel=\"first\"".parse().unwrap(),
        );
        assert_eq!(next_link(&h), None);
    }

    #[test]
    fn error_bodies_give_their_message() {
        assert_eq!(
            message_of(r#"{"message":"Bad credentials","documentation_url":"x"}"#),
            "Bad credentials"
        );
        assert_eq!(message_of("<html>oops</html>"), "<html>oops</html>");
        assert_eq!(message_of(""), "(no message)");
    }
}
